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


def live_chat_on_air(ledger: Ledger, channel_id: str, now: datetime) -> tuple[str, str] | None:
    """(chat id, session id) of a live session hosted on the channel and on air now: its
    chat is read (``inbox/sync.py``) and answered automatically (``inbox/autorun.py``) only
    then, because YouTube refuses a message in a chat that has ended (403 liveChatEnded)."""
    for hosted in sessions_started(ledger, channel_id, now, timedelta(days=2)):
        details = hosted.details or {}
        chat = details.get("live_chat_id") or details.get("liveChatId")
        if chat and now < hosted.start + timedelta(seconds=hosted.duration_seconds):
            return str(chat), hosted.session_id
    return None
