"""Time checks of ``schedules.yaml``: time zone, time rules, cron expressions, times in the past.

A post has exactly one time rule: ``at`` (an instant), ``every`` (a cron recurrence ending with
``until`` or ``count``) or ``session`` (relative to a live session, ``before`` or ``after`` it).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace import schedule_view as view
from cm_toolkit.workspace.datetimes import is_date_only, localize, parse_datetime
from cm_toolkit.workspace.durations import format_duration, parse_duration
from cm_toolkit.workspace.recurrence_checks import check_recurrence
from cm_toolkit.workspace.schedule_checks import problem
from cm_toolkit.workspace.session_keys import announcement_key
from cm_toolkit.workspace.suggestions import fixed_offset_zone, suggest_timezone
from cm_toolkit.workspace.times import to_apscheduler_crontab
from cm_toolkit.workspace.yaml_source import YamlDocument

CRON_FIX = (
    "write 5 fields: minute hour day-of-month month day-of-week, "
    "e.g. `0 18 * * thu` (Thursdays at 18:00)"
)
_RULES = ("at", "every", "session")


@dataclass(frozen=True)
class PastDue(Problem):
    """The warning for a time already past, with what it is about: a command that reads the
    ledger (``cm check``, ``cm plan``, ``cm apply``) drops it when those deliveries were
    published (``cm_toolkit.planning.past_due``), since "it will not be published" would be
    wrong about them.

    ``post_key`` names the deliveries of one item (a post id, ``<session>/announce/<n>``);
    ``session_id`` those of a whole live session (its setup and announcements)."""

    post_key: str | None = None
    session_id: str | None = None


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_timezone(document: YamlDocument) -> tuple[tzinfo | None, list[Problem]]:
    """The workspace time zone, or None with a problem when it is not an IANA name."""
    data = document.data
    name = data.get("timezone") if isinstance(data, dict) else None
    if not isinstance(name, str):
        return None, []  # missing or not text: pydantic reports it
    if name in _zone_names():
        poor = fixed_offset_zone(name)
        warnings = [problem(document, ("timezone",), f"`timezone` `{name}` {poor}",
                            "a city's zone follows its daylight saving time",
                            severity=Severity.WARNING)] if poor else []
        return zoneinfo.ZoneInfo(name), warnings
    match = suggest_timezone(name, _zone_names())
    fix = (f"did you mean `{match}`?" if match is not None
           else "use an IANA name such as Europe/Paris or America/Montreal")
    return None, [
        problem(document, ("timezone",), f"`timezone` `{name}` is not an IANA time zone", fix)
    ]


def cron_problem(expression: str, zone: tzinfo | None) -> str | None:
    """Why ``expression`` is not a valid 5-field cron expression (None when it is valid).

    The planner reads day-of-week as classic cron does (0 or 7 = Sunday), where APScheduler's own
    crontab numbers Monday 0: its ``to_apscheduler_crontab`` rewrites the field first, so what
    passes here is exactly what the planner accepts.
    """
    try:
        CronTrigger.from_crontab(
            to_apscheduler_crontab(expression), timezone=zone or zoneinfo.ZoneInfo("UTC")
        )
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return str(exc) or type(exc).__name__
    return None


def check_time_rules(
    document: YamlDocument, zone: tzinfo | None, now: datetime | None
) -> list[Problem]:
    """Every time-rule problem, and a warning for each time already past (when ``now`` is given)."""
    data = document.data
    problems: list[Problem] = []
    starts: dict[str, datetime] = {}
    for session in view.sessions(data):
        problems += _check_session_times(document, session, zone, now, starts)
    campaigns = {campaign.path: campaign for campaign in view.campaigns(data)}
    # read once per campaign, not once per post (a campaign may hold 100,000 posts)
    campaign_starts = {path: _instant(campaign.data.get("start"), zone)
                       for path, campaign in campaigns.items()}
    for post in view.posts(data):
        campaign = campaigns[post.path[:2]]
        start = campaign_starts[campaign.path]
        problems += _check_post_rule(document, post, zone, now, starts, start)
        if post.data.get("every") is not None and start is not None:
            until = post.data.get("until")
            problems += check_recurrence(document, post, campaign, start,
                                         _instant(until, zone) if until is not None else None,
                                         zone)
        if post.data.get("every") is not None and campaign.data.get("start") is None:
            # The planner counts repetitions from the campaign start; without one they would
            # depend on the day the plan was made.
            problems.append(
                problem(
                    document,
                    (*post.path, "every"),
                    f"{post.label} repeats (every:) but {campaign.label} has no `start:`",
                    "add `start: <date and time>` to the campaign: repetitions count from it",
                    key=True,
                )
            )
    growth = data.get("growth") if isinstance(data, dict) else None
    snapshot = growth.get("snapshot") if isinstance(growth, dict) else None
    if isinstance(snapshot, str):
        reason = cron_problem(snapshot, zone)
        if reason is not None:
            problems.append(
                problem(
                    document,
                    ("growth", "snapshot"),
                    f"`growth.snapshot` is not a valid cron expression ({reason})",
                    CRON_FIX,
                )
            )
    return problems


def _instant(value: Any, zone: tzinfo | None) -> datetime | None:
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None  # reported by pydantic
    if moment.tzinfo is None and zone is None:
        return None
    return localize(moment, zone) if zone is not None else moment


def _duration(value: Any) -> timedelta | None:
    try:
        return parse_duration(value)
    except ValueError:
        return None


def _check_nonzero(document: YamlDocument, part: view.Part, key: str) -> list[Problem]:
    # Durations cannot be negative (the parser has no sign); zero is the one mistake left.
    if _duration(part.data.get(key)) != timedelta(0):
        return []
    return [
        problem(
            document,
            (*part.path, key),
            f"{part.label}: `{key}` must be more than zero",
            "write a positive duration such as 1h30m",
        )
    ]


def _label_of(part: view.Part) -> Callable[[], str]:
    return lambda: part.label


def _past(
    document: YamlDocument,
    path: view.Path_,
    label: Callable[[], str],  # called only for a problem (see view.Part)
    when: datetime,
    now: datetime | None,
    *,
    post_key: str | None = None,
    session_id: str | None = None,
) -> list[Problem]:
    if now is None or when >= now:
        return []
    line, column = document.position(path)
    return [
        PastDue(
            document.file,
            line,
            column,
            f"{label()} is due {when:%Y-%m-%d %H:%M %Z}, which has passed",
            "it will not be published: change its time if it still should be",
            Severity.WARNING,
            post_key=post_key,
            session_id=session_id,
        )
    ]


def _check_session_times(
    document: YamlDocument,
    session: view.Part,
    zone: tzinfo | None,
    now: datetime | None,
    starts: dict[str, datetime],
) -> list[Problem]:
    problems = _check_nonzero(document, session, "duration")
    if is_date_only(session.data.get("start")):
        problems.append(
            problem(
                document,
                (*session.path, "start"),
                f"{session.label} starts at midnight (no time of day given)",
                "add the time, e.g. `start: 2027-01-14 18:00`",
                severity=Severity.WARNING,
            )
        )
    start = _instant(session.data.get("start"), zone)
    ident = session.text("id")
    if start is not None and ident is not None:
        starts.setdefault(ident, start)
    if start is not None:
        problems += _past(document, (*session.path, "start"), _label_of(session), start, now,
                          session_id=ident)
    for step in view.announcements(session):
        if "before" in step.data and "after" in step.data:
            problems.append(
                problem(
                    document,
                    (*step.path, "after"),
                    f"{step.label} has both `before` and `after`",
                    "keep one of them",
                    key=True,
                )
            )
        offset = _offset(step.data)
        if start is not None and offset is not None and now is not None and start >= now:
            # A past session already has its warning: only steps of future ones get one.
            key = announcement_key(ident, int(step.path[-1])) if ident is not None else None
            problems += _past(document, step.path, _label_of(step), start + offset, now,
                              post_key=key)
    return problems


def _offset(data: dict[str, Any]) -> timedelta | None:
    """Signed offset from the session start (``before`` is negative); 0 when neither is given."""
    before, after = data.get("before"), data.get("after")
    if before is not None and after is not None:
        return None
    if before is not None:
        delta = _duration(before)
        return -delta if delta is not None else None
    if after is not None:
        return _duration(after)
    return timedelta(0)


def _check_post_rule(
    document: YamlDocument,
    post: view.Part,
    zone: tzinfo | None,
    now: datetime | None,
    starts: dict[str, datetime],
    campaign_start: datetime | None,
) -> list[Problem]:
    data = post.data  # post.label is made only for a problem (see view.Part)
    rules = [rule for rule in _RULES if data.get(rule) is not None]
    problems: list[Problem] = []
    if not rules:
        problems.append(
            problem(
                document,
                post.path,
                f"{post.label} has no time rule",
                "add one of at:, every: or session:",
            )
        )
    elif len(rules) > 1:
        problems.append(
            problem(
                document,
                (*post.path, rules[1]),
                f"{post.label} has several time rules ({', '.join(rules)})",
                "keep only one of at:, every: or session:",
                key=True,
            )
        )
    rule = rules[0] if len(rules) == 1 else None
    problems += _companions(document, post, "every", ("until", "count"), rule)
    problems += _companions(document, post, "session", ("before", "after"), rule)
    if data.get("skip") and data.get("every") is None:
        problems.append(problem(document, (*post.path, "skip"),
                                f"{post.label}: `skip` only goes with `every`",
                                "remove `skip:` or make the post recurring (every:)", key=True))
    count = data.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count < 1:
        problems.append(
            problem(
                document,
                (*post.path, "count"),
                f"{post.label}: `count` must be at least 1",
                "write `count: 1` or more",
            )
        )
    if rule == "at":
        if is_date_only(data["at"]):
            problems.append(
                problem(
                    document,
                    (*post.path, "at"),
                    f"{post.label} is due at midnight (no time of day given)",
                    "add the time, e.g. `at: 2027-01-14 18:00`",
                    severity=Severity.WARNING,
                )
            )
        when = _instant(data["at"], zone)
        if when is not None:
            problems += _past(document, (*post.path, "at"), _label_of(post), when, now,
                              post_key=post.text("id"))
    elif rule == "every" and isinstance(data["every"], str):
        reason = cron_problem(data["every"], zone)
        if reason is not None:
            problems.append(
                problem(
                    document,
                    (*post.path, "every"),
                    f"{post.label}: `every` is not a valid cron expression ({reason})",
                    CRON_FIX,
                )
            )
        until = _instant(data.get("until"), zone) if data.get("until") is not None else None
        # an until before the campaign's start is an error of its own (recurrence_checks)
        if until is not None and (campaign_start is None or until >= campaign_start):
            problems += _past(
                document, (*post.path, "until"), lambda: f"the last repetition of {post.label}",
                until, now,
                post_key=post.text("id"),
            )
    elif rule == "session":
        start = starts.get(str(data["session"]))
        offset = _offset(data)
        if start is not None and offset is not None:
            when = start + offset
            problems += _past(
                document,
                post.path,
                lambda: f"{post.label} ({format_duration(abs(offset))} "
                f"{'before' if offset < timedelta(0) else 'after'} the session)",
                when,
                now,
                post_key=post.text("id"),
            )
    return problems


def _companions(
    document: YamlDocument, post: view.Part, owner: str, keys: tuple[str, str], rule: str | None
) -> list[Problem]:
    """``until``/``count`` go with ``every`` (one of the two); ``before``/``after``, ``session``."""
    present = [key for key in keys if post.data.get(key) is not None]
    if post.data.get(owner) is None:
        return [
            problem(
                document,
                (*post.path, key),
                f"{post.label}: `{key}` only goes with `{owner}`",
                f"remove `{key}:` or add `{owner}:`",
                key=True,
            )
            for key in present
        ]
    if rule != owner:
        return []
    if len(present) == 2:
        return [
            problem(
                document,
                (*post.path, keys[1]),
                f"{post.label} has both `{keys[0]}` and `{keys[1]}`",
                "keep one of them",
                key=True,
            )
        ]
    if owner == "every" and not present:
        return [
            problem(
                document,
                (*post.path, "every"),
                f"{post.label}: `every` needs an end",
                "add `until: <date and time>` or `count: <number of times>`",
                key=True,
            )
        ]
    return []
