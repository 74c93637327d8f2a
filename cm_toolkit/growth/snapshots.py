"""Follower snapshots: each channel's follower count at the growth cadence, kept in the ledger.

A snapshot is keyed by (channel, instant): taking the same scheduled snapshot twice (after a
restart) stores it once. Engagement of recently published posts is refreshed at the same time.
A channel that fails is logged and skipped: a gap in the curve, never an invented number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cm_toolkit.channels.base import Capability, Channel
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.errors import CmError
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.snapshot_writes import (
    NewEngagement,
    published_since,
    record_engagement,
    record_followers,
)
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
        record_followers(self.ledger, at, {
            channel_id: (workspace.channels[channel_id].network, followers)
            for channel_id, followers in taken.items()})
        return SnapshotResult(taken, failed, engagement_rows)

    def _engagement(self, channel: Channel, at: datetime) -> int:
        ids = published_since(self.ledger, channel.channel_id, at - ENGAGEMENT_WINDOW)
        if not ids:
            return 0
        measures = channel.engagement(list(ids))
        record_engagement(self.ledger, [
            NewEngagement(ids[m.remote_id], m.reactions, m.comments, m.shares, m.views)
            for m in measures if m.remote_id in ids], at)
        return len(measures)
