"""The publisher's ledger statements, built once, and the snapshot it reads before a claim.

Building SQLAlchemy expressions costs more than running them on SQLite (about 1 ms a
statement), and these run for every post sent (``Ledger.snapshot``, ``claim``,
``record_outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update

from cm_toolkit.ledger.models import Delivery, Event
from cm_toolkit.ledger.states import CLAIMABLE, DeliveryState


@dataclass(frozen=True)
class DeliverySnapshot:
    """What the publisher reads of a delivery before claiming it (one Core query, no ORM)."""

    id: int
    post_key: str
    channel_id: str
    occurrence: int
    state: DeliveryState
    due_at: datetime
    next_attempt_at: datetime | None
    grace_seconds: int
    attempts: int
    version: int


SNAPSHOT_COLUMNS = (
    Delivery.id, Delivery.post_key, Delivery.channel_id, Delivery.occurrence, Delivery.state,
    Delivery.due_at, Delivery.next_attempt_at, Delivery.grace_seconds, Delivery.attempts,
    Delivery.version,
)


SNAPSHOT = select(*SNAPSHOT_COLUMNS).where(Delivery.id == bindparam("b_id"))
CLAIM = (
    update(Delivery)
    .where(
        Delivery.id == bindparam("b_id"),
        Delivery.version == bindparam("b_version"),
        Delivery.state.in_(CLAIMABLE),
    )
    .values(
        state=DeliveryState.SENDING,
        claimed_by=bindparam("b_worker"),
        claimed_at=bindparam("b_now"),
        lease_until=bindparam("b_lease_until"),
        attempts=Delivery.attempts + 1,
        version=Delivery.version + 1,
        updated_at=bindparam("b_now"),
        # the text about to be sent: a person reviewing an unknown outcome looks for it
        rendered_text=func.coalesce(bindparam("b_text"), Delivery.rendered_text),
    )
)
OUTCOME = (
    update(Delivery)
    .where(
        Delivery.id == bindparam("b_id"),
        Delivery.state == DeliveryState.SENDING,
        Delivery.claimed_by == bindparam("b_worker"),
    )
    .values(
        state=bindparam("b_state"),
        version=Delivery.version + 1,
        updated_at=bindparam("b_now"),
        lease_until=None,
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_retry_at"),
        rendered_text=func.coalesce(bindparam("b_text"), Delivery.rendered_text),
        remote_id=func.coalesce(bindparam("b_remote_id"), Delivery.remote_id),
        remote_url=func.coalesce(bindparam("b_remote_url"), Delivery.remote_url),
    )
)
INSERT_EVENT = insert(Event)
