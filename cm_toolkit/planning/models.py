"""What the planner produces: one ``PlannedDelivery`` per (item, channel, occurrence).

A ``Plan`` is the whole expansion of a workspace: the deliveries plus the catalogue rows the
ledger keeps beside them (campaigns, content items, live sessions). It holds no database state;
``cm_toolkit.ledger.apply.diff`` compares it with the ledger.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cm_toolkit.workspace.models import Network


class DeliveryKind(enum.Enum):
    """What a delivery does when it is due."""

    POST = "post"  # a post of a campaign
    ANNOUNCEMENT = "announcement"  # one step of a live session's announcement sequence
    LIVE_SETUP = "live_setup"  # create the broadcast / calendar event of a live session


DeliveryKey = tuple[str, str, int]
"""(post_key, channel_id, occurrence): unique in the ledger."""


@dataclass(frozen=True)
class PlannedDelivery:
    """One thing to do on one channel at one instant.

    ``post_key`` names the content item: the post id for posts, ``<session>/announce/<index>``
    for announcements, ``<session>/live`` for live setups. ``occurrence`` is 1 for single items
    and the 1-based rank of the fire time for recurring posts. ``fingerprint`` is the sha256 of
    everything that determines the content (never the time): when it changes, the content
    changed. ``content`` is the canonical data the fingerprint was computed from.
    """

    post_key: str
    channel_id: str
    occurrence: int
    due_at: datetime  # aware, UTC
    kind: DeliveryKind
    network: Network
    campaign_id: str
    post_id: str | None  # the user's post id; None for announcements and live setups
    session_id: str | None
    template: str | None  # None for live setups
    fingerprint: str
    grace: timedelta
    content: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def key(self) -> DeliveryKey:
        return (self.post_key, self.channel_id, self.occurrence)


@dataclass(frozen=True)
class PlannedCampaign:
    id: str
    name: str
    start: datetime | None  # aware, UTC


@dataclass(frozen=True)
class PlannedItem:
    """A content item (post, announcement step or live setup) owning deliveries."""

    post_key: str
    kind: DeliveryKind
    campaign_id: str
    post_id: str | None
    session_id: str | None
    template: str | None


@dataclass(frozen=True)
class PlannedHost:
    channel_id: str
    network: Network


@dataclass(frozen=True)
class PlannedSession:
    id: str
    campaign_id: str
    title: str
    description: str
    start: datetime  # aware, UTC
    duration: timedelta
    hosts: tuple[PlannedHost, ...]


@dataclass(frozen=True)
class Plan:
    """The expansion of a workspace, sorted by (due_at, post_key, channel_id, occurrence)."""

    timezone: str
    deliveries: list[PlannedDelivery]
    campaigns: list[PlannedCampaign]
    items: list[PlannedItem]
    sessions: list[PlannedSession]
