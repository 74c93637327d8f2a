"""Reading follower snapshots: the channels, the value at given instants, one channel's series.

The value of a channel at an instant is its **last snapshot taken at or before** that instant:
never interpolated. Every lookup is an index seek on ``(channel_id, taken_at)`` (the unique
constraint's index), so asking for a handful of instants for a thousand channels over millions
of rows stays one short statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CTE, ColumnElement, and_, bindparam, func, select
from sqlalchemy.orm import Session

from cm_toolkit.ledger.models import FollowerSnapshot
from cm_toolkit.workspace.models import Network

S = FollowerSnapshot
T = FollowerSnapshot.__table__  # Core, not ORM: thousands of rows without ORM bookkeeping


@dataclass(frozen=True)
class Point:
    """One snapshot: when it was taken (UTC) and the follower count."""

    at: datetime
    followers: int


@dataclass(frozen=True)
class Probe:
    """A named lookup: the last snapshot at or before ``at`` (``after=True``: first at/after).

    ``at=None`` means: the channel's very last snapshot (``after=True``: its very first).
    """

    name: str
    at: datetime | None
    after: bool = False


@dataclass(frozen=True)
class ProbeResult:
    network: Network | None
    points: dict[str, Point | None]


def _channel_list() -> CTE:
    """Every channel id with snapshots: a loose index scan (one seek per channel, no scan)."""
    first = select(func.min(T.c.channel_id).label("id")).cte("channel_list", recursive=True)
    following = select(
        select(func.min(T.c.channel_id)).where(T.c.channel_id > first.c.id).scalar_subquery()
    ).where(first.c.id.is_not(None))
    return first.union_all(following)


def channel_ids(session: Session) -> list[str]:
    """Every channel that has snapshots, in order."""
    listing = _channel_list()
    return [cid for cid in session.scalars(select(listing.c.id)) if cid is not None]


def _seek(channel: ColumnElement[str], probe: Probe) -> ColumnElement[Any]:
    """The id of the probe's snapshot: one seek in the ``(channel_id, taken_at)`` index (which
    holds the row id, so the table itself is only read for the row found)."""
    inner = T.alias()
    bound: ColumnElement[bool] = inner.c.channel_id == channel
    if probe.at is not None:
        bound = and_(bound, inner.c.taken_at >= probe.at if probe.after
                     else inner.c.taken_at <= probe.at)
    order = inner.c.taken_at.asc() if probe.after else inner.c.taken_at.desc()
    return select(inner.c.id).where(bound).order_by(order).limit(1).scalar_subquery()


def probe(
    session: Session, probes: Sequence[Probe], channels: Sequence[str] | None = None,
) -> dict[str, ProbeResult]:
    """For each channel (default: all), each probe's snapshot (``None`` when there is none).

    One statement: the channel list, then per probe a join on the id found by one index seek.
    Its SQL only depends on the probes' names, so SQLAlchemy's compiled cache serves it again.
    """
    listing = _channel_list()
    channel = listing.c.id
    columns: list[ColumnElement[Any]] = [channel.label("channel_id")]
    joined: Any = listing
    for p in probes:
        found = T.alias(f"s_{p.name}")
        joined = joined.outerjoin(found, found.c.id == _seek(channel, p))
        columns += [found.c.taken_at.label(f"{p.name}_at"),
                    found.c.followers.label(f"{p.name}_followers"),
                    found.c.network.label(f"{p.name}_network")]
    statement = select(*columns).select_from(joined).where(channel.is_not(None))
    if channels is not None:
        statement = statement.where(channel.in_(bindparam("ids", expanding=True)))
    parameters = {"ids": list(channels)} if channels is not None else {}
    result: dict[str, ProbeResult] = {}
    names = [p.name for p in probes]
    for row in session.connection().execute(statement, parameters):
        found_points: dict[str, Point | None] = {}
        network = None
        for index, name in enumerate(names, start=0):
            at, followers, row_network = row[1 + 3 * index:4 + 3 * index]
            found_points[name] = Point(at, followers) if at is not None else None
            network = network or row_network
        result[row[0]] = ProbeResult(network, found_points)
    return result


def latest_instant(session: Session) -> datetime | None:
    """When the most recent snapshot (of any channel) was taken: each channel's last one is an
    index seek, where ``max(taken_at)`` over the table would read every row."""
    listing = _channel_list()
    inner = T.alias()
    last = (select(func.max(inner.c.taken_at)).where(inner.c.channel_id == listing.c.id)
            .scalar_subquery())
    value = session.connection().scalar(
        select(func.max(last)).select_from(listing).where(listing.c.id.is_not(None)))
    if isinstance(value, str):  # SQLite: max() of a subquery loses the column's type
        value = S.__table__.c.taken_at.type.process_result_value(  # type: ignore[attr-defined]
            datetime.fromisoformat(value), session.bind.dialect)  # type: ignore[union-attr]
    return value


def series(
    session: Session, channel_id: str, since: datetime | None = None,
    until: datetime | None = None,
) -> list[Point]:
    """One channel's snapshots in ``[since, until]``, oldest first."""
    statement = select(S.taken_at, S.followers).where(S.channel_id == channel_id)
    if since is not None:
        statement = statement.where(S.taken_at >= since)
    if until is not None:
        statement = statement.where(S.taken_at <= until)
    rows = session.execute(statement.order_by(S.taken_at))
    return [Point(at, followers) for at, followers in rows]
