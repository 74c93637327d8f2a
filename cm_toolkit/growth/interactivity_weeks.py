"""The weeks of the interactivity report: ISO weeks cut in the workspace zone (so DST is
right), as the instants ``ledger/interactivity_reads.py`` queries by."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cm_toolkit.growth.metrics import Period, bucket_of
from cm_toolkit.ledger.interactivity_reads import Frame


def week_starts(first: datetime, last: datetime, zone: ZoneInfo) -> list[date]:
    """Local Mondays of the ISO weeks from ``first`` to ``last``."""
    start, end = bucket_of(first, Period.WEEK, zone), bucket_of(last, Period.WEEK, zone)
    return [start + timedelta(days=7 * i) for i in range((end - start).days // 7 + 1)]


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def frame_of(zone: ZoneInfo, first: datetime, last: datetime, since: datetime | None,
           until: datetime | None, now: datetime) -> Frame:
    latest = max(last, now)
    weeks = week_starts(since or first, min(until or latest, latest), zone)
    starts = [_local_midnight(day, zone) for day in weeks]
    end = _local_midnight(weeks[-1] + timedelta(days=7), zone)
    lower = max(since, starts[0]) if since else starts[0]
    upper = min(until + timedelta(microseconds=1), end) if until else end
    # "now" for the current week; a ledger whose messages are later than now (a replayed
    # season, a clock set back) is read as of its last message.
    end_of_period = min(until or latest, latest)
    cutoffs = [min(stop, end_of_period) for stop in [*starts[1:], end]]
    return Frame(weeks, [lower, *starts[1:], upper], cutoffs)
