"""What the inbox's sync reads of the publisher's side (``inbox/sync.py``): our recent posts,
whose comments it reads, and the live sessions on air, whose chat it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from cm_toolkit.ledger.models import Delivery, LiveSession, LiveSessionHost
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState


@dataclass(frozen=True)
class HostedSession:
    session_id: str
    start: datetime
    duration_seconds: int
    details: dict[str, Any] | None  # the host's details (its live chat id, its event link...)


def recent_published(ledger: Ledger, channel_id: str, limit: int) -> tuple[str, ...]:
    """Remote ids of our latest ``limit`` published posts on the channel, newest first."""
    with ledger.reading() as session:
        rows = session.scalars(
            select(Delivery.remote_id).where(
                Delivery.channel_id == channel_id,
                Delivery.state == DeliveryState.PUBLISHED,
                Delivery.remote_id.is_not(None))
            .order_by(Delivery.updated_at.desc()).limit(limit)).all()
    return tuple(str(r) for r in rows)


def sessions_started(ledger: Ledger, channel_id: str, now: datetime,
                     within: timedelta) -> list[HostedSession]:
    """Live sessions hosted on the channel that started in ``(now - within, now]``."""
    with ledger.reading() as session:
        rows = session.execute(
            select(LiveSession.id, LiveSession.start, LiveSession.duration_seconds,
                   LiveSessionHost.details)
            .join(LiveSessionHost, LiveSessionHost.session_id == LiveSession.id)
            .where(LiveSessionHost.channel_id == channel_id, LiveSession.start <= now,
                   LiveSession.start > now - within)).all()
    return [HostedSession(str(ident), start, seconds, details)
            for ident, start, seconds, details in rows]
