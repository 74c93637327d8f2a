"""What the alarm clock and crash recovery read of the deliveries (``scheduler/``): the instant
of every delivery waiting to be sent, the recent claims per channel (pacing after a restart),
and the claims still ``sending``. Reads only: every state change is ``Ledger``'s."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import CLAIMABLE, DeliveryState


def waiting_instants(ledger: Ledger) -> dict[int, datetime]:
    """{delivery id: its due (or next attempt) instant} of every delivery waiting to be sent."""
    when = func.coalesce(Delivery.next_attempt_at, Delivery.due_at)
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.id, when).where(Delivery.state.in_(CLAIMABLE))
        ).all()
    return {delivery_id: at for delivery_id, at in rows}


def claims_since(ledger: Ledger, since: datetime) -> dict[str, list[datetime]]:
    """{channel id: instants of its claims after ``since``}: what a restarted pacer counts."""
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.channel_id, Delivery.claimed_at).where(
                Delivery.claimed_at.is_not(None), Delivery.claimed_at > since)
        ).all()
    by_channel: dict[str, list[datetime]] = {}
    for channel_id, claimed_at in rows:
        if claimed_at is not None:
            by_channel.setdefault(channel_id, []).append(claimed_at)
    return by_channel


def sending_claims(ledger: Ledger) -> list[tuple[int, str | None]]:
    """(delivery id, worker id holding its claim) of every delivery being sent."""
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.id, Delivery.claimed_by).where(Delivery.state == DeliveryState.SENDING)
        ).all()
    return [(delivery_id, claimed_by) for delivery_id, claimed_by in rows]
