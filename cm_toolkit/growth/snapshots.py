"""Follower snapshots: each channel's follower count at the growth cadence, kept in the ledger.

A snapshot is keyed by (channel, instant): taking the same scheduled snapshot twice (after a
restart) stores it once. Engagement of recently published posts is refreshed at the same time.
A channel that fails is logged and skipped: a gap in the curve, never an invented number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from cm_toolkit.channels.base import Capability, Channel
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.errors import CmError
from cm_toolkit.ledger.models import Delivery, Engagement, FollowerSnapshot
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.workspace.models import Workspace

log = logging.getLogger("cm.growth")

ENGAGEMENT_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class SnapshotResult:
    taken: dict[str, int]  # channel id -> followers
    failed: dict[str, str]  # channel id -> reason
    engagement_rows: int


class Snapshotter:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def take(self, workspace: Workspace, source: ChannelSource, at: datetime) -> SnapshotResult:
        """Snapshot every channel of ``workspace``; ``source`` is the caller's channel pool (the
        runner's own, so that a token refresh never races a send on the same account)."""
        taken: dict[str, int] = {}
        failed: dict[str, str] = {}
        engagement_rows = 0
        for channel_id in sorted(workspace.channels):
            try:
                with source.using(channel_id) as channel:
                    if Capability.FOLLOWERS in channel.capabilities:
                        taken[channel_id] = channel.followers()
                    if Capability.ENGAGEMENT in channel.capabilities:
                        engagement_rows += self._engagement(channel, at)
            except CmError as exc:
                failed[channel_id] = str(exc)
                log.warning("snapshot of %s failed: %s", channel_id, exc)
        with self.ledger.writing() as session:
            existing = set(
                session.scalars(
                    select(FollowerSnapshot.channel_id).where(FollowerSnapshot.taken_at == at)
                )
            )
            for channel_id, followers in taken.items():
                if channel_id not in existing:
                    session.add(
                        FollowerSnapshot(
                            channel_id=channel_id,
                            network=workspace.channels[channel_id].network,
                            taken_at=at,
                            followers=followers,
                        )
                    )
        return SnapshotResult(taken, failed, engagement_rows)

    def _engagement(self, channel: Channel, at: datetime) -> int:
        with self.ledger.reading() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.remote_id).where(
                    Delivery.channel_id == channel.channel_id,
                    Delivery.state == DeliveryState.PUBLISHED,
                    Delivery.remote_id.is_not(None),
                    Delivery.updated_at > at - ENGAGEMENT_WINDOW,
                )
            ).all()
        ids = {remote_id: delivery_id for delivery_id, remote_id in rows if remote_id}
        if not ids:
            return 0
        measures = channel.engagement(list(ids))
        with self.ledger.writing() as session:
            for measure in measures:
                delivery_id = ids.get(measure.remote_id)
                if delivery_id is None:
                    continue
                session.add(
                    Engagement(
                        delivery_id=delivery_id,
                        reactions=measure.reactions,
                        comments=measure.comments,
                        shares=measure.shares,
                        views=measure.views,
                        measured_at=at,
                    )
                )
        return len(measures)
