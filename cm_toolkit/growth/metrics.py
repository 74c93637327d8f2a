"""Growth metrics from follower snapshots. Every definition is explained in docs/growth.md.

Nothing is interpolated: a value is always a snapshot that was really taken, a period without a
snapshot has no value (``None``), and curves break where snapshots are missing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.snapshot_reads import Point, Probe, latest_instant, probe
from cm_toolkit.workspace.models import Network

WINDOWS = {"net_7d": timedelta(days=7), "net_30d": timedelta(days=30)}


class Period(enum.Enum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class GrowthRow:
    """One channel's line of ``cm growth report`` (and one dashboard card)."""

    channel_id: str
    name: str
    network: Network | None
    start: Point | None  # value at the period's start (see docs/growth.md)
    end: Point | None  # last snapshot at or before the period's end
    reference: Point | None  # value at the reference date
    net_7d: int | None
    net_30d: int | None

    @property
    def net_adds(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return self.end.followers - self.start.followers

    @property
    def percent(self) -> float | None:
        if self.net_adds is None or self.start is None or self.start.followers == 0:
            return None
        return 100.0 * self.net_adds / self.start.followers

    @property
    def multiple(self) -> float | None:
        if self.end is None or self.reference is None or self.reference.followers == 0:
            return None
        return self.end.followers / self.reference.followers

    def as_dict(self, zone: ZoneInfo) -> dict[str, object]:
        def when(point: Point | None) -> str | None:
            return point.at.astimezone(zone).isoformat() if point else None

        return {
            "channel": self.channel_id,
            "name": self.name,
            "network": self.network if self.network else None,
            "start": self.start.followers if self.start else None,
            "start_at": when(self.start),
            "end": self.end.followers if self.end else None,
            "end_at": when(self.end),
            "net_adds": self.net_adds,
            "percent": None if self.percent is None else round(self.percent, 4),
            "reference": self.reference.followers if self.reference else None,
            "reference_at": when(self.reference),
            "multiple": None if self.multiple is None else round(self.multiple, 6),
            "net_7d": self.net_7d,
            "net_30d": self.net_30d,
        }


@dataclass(frozen=True)
class GrowthTable:
    rows: list[GrowthRow]
    since: datetime | None
    until: datetime | None  # the period's end: --until, else the latest snapshot
    reference: datetime | None


def _window_net(end: Point | None, before: Point | None, start: datetime) -> int | None:
    # the end value must lie inside the window, the base value at or before its start
    if end is None or before is None or end.at <= start:
        return None
    return end.followers - before.followers


def growth_table(
    ledger: Ledger,
    context: GrowthContext,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> GrowthTable:
    """The per-channel growth table, in a few index-seek statements whatever the ledger size."""
    with ledger.reading() as session:
        end_at = until or latest_instant(session)
        reference = context.reference
        probes = [Probe("end", end_at), Probe("first", since, after=True),
                  Probe("ref_before", reference), Probe("ref_after", reference, after=True)]
        if since is not None:
            probes.append(Probe("since", since))
        if end_at is not None:
            probes += [Probe(name, end_at - span) for name, span in WINDOWS.items()]
        found = probe(session, probes, channels) if end_at is not None else {}
    ids = list(channels) if channels is not None else list(found)
    rows: list[GrowthRow] = []
    for cid in ids:
        result = found.get(cid)
        if result is None:
            rows.append(GrowthRow(cid, context.name_of(cid), None, None, None, None, None, None))
            continue
        p = result.points
        start = (p.get("since") or p["first"]) if since is not None else p["first"]
        ref = (p["ref_before"] or p["ref_after"]) if reference is not None else p["first"]
        nets = {name: _window_net(p["end"], p.get(name), end_at - span)
                for name, span in WINDOWS.items()} if end_at is not None else {}
        end = p["end"]
        if start is not None and end is not None and start.at > end.at:
            start = None  # no snapshot inside the period
        rows.append(GrowthRow(cid, context.name_of(cid), result.network, start, end, ref,
                              nets.get("net_7d"), nets.get("net_30d")))
    return GrowthTable(rows, since, end_at, reference)


def bucket_of(moment: datetime, period: Period, zone: ZoneInfo) -> date:
    """The first day (local) of the day / ISO week / month that contains ``moment``."""
    local = moment.astimezone(zone).date()
    if period is Period.WEEK:
        return local - timedelta(days=local.weekday())
    if period is Period.MONTH:
        return local.replace(day=1)
    return local


def _next_bucket(day: date, period: Period) -> date:
    if period is Period.DAY:
        return day + timedelta(days=1)
    if period is Period.WEEK:
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def net_adds(points: Sequence[Point], period: Period, zone: ZoneInfo) -> list[tuple[date, int | None]]:
    """Net adds per period: the period's last snapshot minus the previous period's last one.

    Every period between the first and the last snapshot is listed; a period with no snapshot,
    or whose previous period has none, has ``None`` (a gap), never an estimate.
    """
    closing: dict[date, int] = {}
    for point in points:  # oldest first: the last one of a bucket wins
        closing[bucket_of(point.at, period, zone)] = point.followers
    if not closing:
        return []
    result: list[tuple[date, int | None]] = []
    day, last = min(closing), max(closing)
    previous: int | None = None
    while day <= last:
        value = closing.get(day)
        result.append((day, value - previous if value is not None and previous is not None
                       else None))
        previous = value
        day = _next_bucket(day, period)
    return result[1:]  # the first period has no previous one to compare with


def with_gaps(points: Sequence[Point], gap_after: timedelta) -> list[Point | None]:
    """The points, with ``None`` between two snapshots further apart than ``gap_after``."""
    result: list[Point | None] = []
    for index, point in enumerate(points):
        if index and point.at - points[index - 1].at > gap_after:
            result.append(None)
        result.append(point)
    return result


def value_at(points: Sequence[Point], moment: datetime) -> Point | None:
    """The last snapshot at or before ``moment`` (``points`` oldest first)."""
    found: Point | None = None
    for point in points:
        if point.at > moment:
            break
        found = point
    return found
