"""Writing follower snapshots and engagement measures (``growth/snapshots.py`` at the growth
cadence, ``cm growth import`` from a file), and what the snapshotter reads to measure.

A snapshot is keyed by (channel, instant): one taken again (after a restart) is stored once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, tuple_

from cm_toolkit.ledger.models import Delivery, Engagement, FollowerSnapshot
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.workspace.models import Network

LOOKUP_BATCH = 500  # keys a statement: SQLite's bound-parameter limit
INSERT_BATCH = 5_000


@dataclass(frozen=True)
class NewSnapshot:
    channel_id: str
    network: Network
    taken_at: datetime
    followers: int


@dataclass(frozen=True)
class NewEngagement:
    delivery_id: int
    reactions: int
    comments: int
    shares: int
    views: int | None


def record_followers(ledger: Ledger, at: datetime, followers: Mapping[str, tuple[Network, int]],
                     ) -> None:
    """Store the snapshots taken at ``at`` (channel id -> network, followers), but those of the
    channels the ledger already has one for at that instant."""
    with ledger.writing() as session:
        existing = set(session.scalars(
            select(FollowerSnapshot.channel_id).where(FollowerSnapshot.taken_at == at)))
        for channel_id, (network, count) in followers.items():
            if channel_id not in existing:
                session.add(FollowerSnapshot(channel_id=channel_id, network=network,
                                             taken_at=at, followers=count))


def published_since(ledger: Ledger, channel_id: str, since: datetime) -> dict[str, int]:
    """Remote id -> delivery id of the channel's posts published after ``since``."""
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.remote_id).where(
                Delivery.channel_id == channel_id,
                Delivery.state == DeliveryState.PUBLISHED,
                Delivery.remote_id.is_not(None),
                Delivery.updated_at > since,
            )
        ).all()
    return {remote_id: delivery_id for delivery_id, remote_id in rows if remote_id}


def record_engagement(ledger: Ledger, measures: Sequence[NewEngagement], at: datetime) -> None:
    with ledger.writing() as session:
        for measure in measures:
            session.add(Engagement(
                delivery_id=measure.delivery_id, reactions=measure.reactions,
                comments=measure.comments, shares=measure.shares, views=measure.views,
                measured_at=at))


def import_snapshots(
    ledger: Ledger, keys: Sequence[tuple[str, datetime]],
    choose: Callable[[Mapping[tuple[str, datetime], int]], Sequence[NewSnapshot]],
) -> None:
    """In one write transaction: read the followers the ledger has for ``keys`` (channel id,
    instant), give them to ``choose``, insert the snapshots it returns. An exception from
    ``choose`` rolls everything back: nothing is imported."""
    with ledger.writing() as session:
        existing: dict[tuple[str, datetime], int] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            found = session.execute(
                select(FollowerSnapshot.channel_id, FollowerSnapshot.taken_at,
                       FollowerSnapshot.followers)
                .where(tuple_(FollowerSnapshot.channel_id, FollowerSnapshot.taken_at)
                       .in_(keys[start:start + LOOKUP_BATCH])))
            existing.update({(cid, at): followers for cid, at, followers in found})
        fresh = choose(existing)
        for start in range(0, len(fresh), INSERT_BATCH):
            session.execute(insert(FollowerSnapshot), [
                {"channel_id": r.channel_id, "network": r.network, "taken_at": r.taken_at,
                 "followers": r.followers} for r in fresh[start:start + INSERT_BATCH]])
