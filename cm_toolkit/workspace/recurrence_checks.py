"""Checks of a recurring post (``every``) against its campaign's start, at their lines.

The planner counts repetitions from the campaign's ``start`` and stops at ``count`` or ``until``,
and at most ``MAX_OCCURRENCES`` (a plan of one post cannot grow without bound). A mistake there
used to surface only in the planner, without a line, or as "the last repetition has passed"
for an ``until`` that is before the campaign even starts.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from cm_toolkit.errors import Problem
from cm_toolkit.workspace import schedule_view as view
from cm_toolkit.workspace.schedule_checks import problem
from cm_toolkit.workspace.times import CronSyntaxError, cron_times
from cm_toolkit.workspace.yaml_source import YamlDocument

MAX_OCCURRENCES = 5000
"""The most occurrences one recurring post may have (the planner refuses more too)."""


def check_recurrence(document: YamlDocument, post: view.Part, campaign: view.Part,
                     start: datetime | None, until: datetime | None,
                     zone: tzinfo | None) -> list[Problem]:
    """Problems of ``post`` (which has ``every``); ``start`` is its campaign's, ``until`` its
    own (aware, or None when missing or unreadable: reported elsewhere)."""
    label = post.label
    if start is not None and until is not None and until < start:
        return [problem(
            document, (*post.path, "until"),
            f"{label}: `until` ({until:%Y-%m-%d %H:%M}) is before the start of {campaign.label} "
            f"({start:%Y-%m-%d %H:%M}): it would never be published",
            "set `until:` after the campaign's `start:` (repetitions count from it), or move "
            "the campaign's `start:` earlier",
        )]
    count = post.data.get("count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    if count is not None and count <= MAX_OCCURRENCES:
        return []
    if until is None:
        if count is None:
            return []
        return [problem(
            document, (*post.path, "count"),
            f"{label} repeats {count:,} times, more than the {MAX_OCCURRENCES:,} one post may "
            "have",
            f"write `count: {MAX_OCCURRENCES}` or less, or split it into several posts",
        )]
    every = post.data.get("every")
    if start is None or not isinstance(zone, ZoneInfo) or not isinstance(every, str):
        return []
    if _at_most(every, until - start) <= MAX_OCCURRENCES:
        return []  # the common case: no need to walk the repetitions (the planner does)
    try:
        for number, fire in enumerate(cron_times(every, zone, start), start=1):
            if fire > until:
                return []
            if number > MAX_OCCURRENCES:
                break
    except CronSyntaxError:
        return []  # the time rules say why
    return [problem(
        document, (*post.path, "until"),
        f"{label} repeats more than {MAX_OCCURRENCES:,} times before its `until`",
        "set a nearer `until:`, repeat less often (`every:`), or split it into several posts",
    )]


def _at_most(every: str, span: timedelta) -> float:
    """An upper bound of the repetitions of ``every`` over ``span``: at most its minutes times
    its hours per day (infinite when a field is not a plain number, list, range or step)."""
    fields = every.split()
    if len(fields) != 5:
        return math.inf
    per_day = _values(fields[0], 0, 59) * _values(fields[1], 0, 23)
    return per_day * (span.days + 2)


def _values(field: str, low: int, high: int) -> float:
    total = 0.0
    for part in field.split(","):
        found = _PART.fullmatch(part)
        if found is None:
            return math.inf
        first, last, step = found.group("first"), found.group("last"), found.group("step")
        if first is None:  # "*"
            start, end = low, high
        else:
            start = int(first)
            end = int(last) if last is not None else (high if step else start)
        total += max(0, (end - start) // int(step or 1) + 1)
    return total


_PART = re.compile(r"(?:\*|(?P<first>\d{1,2})(?:-(?P<last>\d{1,2}))?)(?:/(?P<step>[1-9]\d?))?")
