"""Time rules: workspace-local times to UTC, and cron recurrences that stay right across DST.

Cron expressions are the classic 5 fields (minute hour day-of-month month day-of-week) read in
the workspace time zone. Day-of-week numbers follow classic cron (0 or 7 = Sunday, 1 = Monday),
not APScheduler's own numbering (0 = Monday): ``to_apscheduler_crontab`` rewrites the field with
day names before APScheduler sees it. One difference with classic cron remains, documented in
docs/ledger.md: when both day-of-month and day-of-week are restricted, both must match.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class CronSyntaxError(ValueError):
    """A cron expression the planner cannot read; the message says which part."""


def to_utc(moment: datetime, tz: ZoneInfo) -> datetime:
    """A naive time is wall-clock time in ``tz``; an aware one keeps its offset. Returns UTC.

    A naive time that does not exist (skipped by a DST change) or exists twice is read with
    ``fold=0``, zoneinfo's rule: the offset in force before the change.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def shift(moment: datetime, offset: timedelta, tz: ZoneInfo) -> datetime:
    """``moment`` (aware) moved by ``offset``, as a person reads "7 days before 18:00".

    Whole days move the local calendar date and keep the wall-clock time, across a DST change
    too (a reminder 7 days before a Thursday 18:00 session is at 18:00 the Thursday before,
    not 17:00); the rest (hours, minutes) is elapsed time. Returns UTC.
    """
    sign = -1 if offset < timedelta() else 1
    days = abs(offset).days
    rest = abs(offset) - timedelta(days=days)
    local = moment.astimezone(tz)
    wall = (local.replace(tzinfo=None) + sign * timedelta(days=days)).replace(tzinfo=tz)
    return wall.astimezone(UTC) + sign * rest


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token.isdigit():
        number = int(token)
        if 0 <= number <= 7:
            return number
        raise CronSyntaxError(f"day of week {token!r} is not between 0 and 7")
    if token[:3] in _DAY_NAMES and len(token) == 3:
        return _DAY_NAMES.index(token[:3])
    raise CronSyntaxError(f"day of week {token!r} is not a number 0-7 or a name like mon")


def _standard_day_of_week(field: str) -> str:
    """Rewrite a classic cron day-of-week field as APScheduler day names."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronSyntaxError(f"day-of-week step {step_text!r} is not a positive number")
            step = int(step_text)
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            first, last = part.split("-", 1)
            low, high = _day_number(first), _day_number(last)
            if high < low:
                raise CronSyntaxError(f"day-of-week range {part!r} goes backwards")
        else:
            low = _day_number(part)
            high = 6 if step > 1 else low
        days.update(day % 7 for day in range(low, high + 1, step))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def to_apscheduler_crontab(expression: str) -> str:
    """Classic 5-field cron -> the same schedule in APScheduler's crontab dialect."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronSyntaxError(
            f"{expression!r} has {len(fields)} fields; a cron expression has 5: "
            "minute hour day-of-month month day-of-week"
        )
    fields[4] = _standard_day_of_week(fields[4])
    return " ".join(fields)


def cron_trigger(expression: str, tz: ZoneInfo) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(to_apscheduler_crontab(expression), timezone=tz)
    except CronSyntaxError:
        raise
    except ValueError as exc:
        raise CronSyntaxError(f"{expression!r}: {exc}") from exc


def cron_times(expression: str, tz: ZoneInfo, start: datetime) -> Iterator[datetime]:
    """Fire times (aware UTC) at or after ``start``, forever; the caller bounds the loop.

    Each fire time is computed in ``tz`` by APScheduler, so a 09:00 rule stays at 09:00 local
    time on both sides of a DST change (its UTC time moves by one hour).
    """
    trigger = cron_trigger(expression, tz)
    fire = trigger.get_next_fire_time(None, start.astimezone(tz))
    while fire is not None:
        yield fire.astimezone(UTC)
        fire = trigger.get_next_fire_time(fire, fire)
