"""A person's decisions on deliveries: publish now, cancel, retry, resolve, done, review.

The scheduler never re-sends an ``unknown`` delivery nor retries a ``failed`` one by itself;
these are the ways a community manager decides. Each is a checked state transition with an
event in the ledger (``EventKind.RESOLVED``, detail ``by: person``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update

from cm_toolkit.errors import UsageError
from cm_toolkit.ledger.models import Delivery, Event
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import CLAIMABLE, DeliveryState, EventKind

S = DeliveryState
NEEDS_DECISION = (S.UNKNOWN, S.FAILED, S.MISSED, S.AWAITING_DONE)


@dataclass(frozen=True)
class ReviewItem:
    id: int
    post_key: str
    channel_id: str
    network: str
    state: DeliveryState
    due_at: datetime
    attempts: int
    last_error: str | None
    rendered_text: str | None
    remote_id: str | None
    remote_url: str | None

    @property
    def what_to_do(self) -> str:
        if self.state is S.UNKNOWN:
            return (f"check {self.network} for the post; then cm resolve {self.id} "
                    "--published URL | --resend | --drop")
        if self.state is S.AWAITING_DONE:
            return (f"post the task by hand, then cm done {self.id} (or cm resolve {self.id} "
                    "--published URL to record its address)")
        return f"fix the cause, then cm retry {self.id} (or cm resolve {self.id} --drop)"


def deliveries_of(ledger: Ledger, post: str, channel: str | None = None) -> list[Delivery]:
    """The deliveries of a post id (or of a session's items: ``live-1`` finds ``live-1/...``)."""
    with ledger.reading() as session:
        query = select(Delivery).where(
            or_(Delivery.post_key == post, Delivery.post_key.startswith(f"{post}/"))
        )
        if channel is not None:
            query = query.where(Delivery.channel_id == channel)
        rows = list(session.scalars(query.order_by(Delivery.due_at, Delivery.id)))
    if not rows:
        with ledger.reading() as session:
            known = {key.split("/")[0] for key in session.scalars(select(Delivery.post_key)
                                                                  .distinct())}
        close = difflib.get_close_matches(post, sorted(known), n=1)
        hint = f"did you mean `{close[0]}`? " if close else ""
        raise UsageError(
            f"no delivery of {post!r}{f' on {channel!r}' if channel else ''} in the ledger",
            fix=f"{hint}check the post id (cm status lists them), and run cm apply first",
        )
    return rows


def review(ledger: Ledger) -> list[ReviewItem]:
    with ledger.reading() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.state.in_(NEEDS_DECISION))
            .order_by(Delivery.due_at, Delivery.id)
        ).all()
    return [
        ReviewItem(r.id, r.post_key, r.channel_id, r.network, r.state, r.due_at,
                   r.attempts, r.last_error, r.rendered_text, r.remote_id, r.remote_url)
        for r in rows
    ]


def _get(ledger: Ledger, delivery_id: int) -> Delivery:
    row = ledger.get(delivery_id)
    if row is None:
        raise UsageError(f"there is no delivery {delivery_id}", fix="cm review lists them")
    return row


def _refuse(row: Delivery, action: str, allowed: tuple[DeliveryState, ...]) -> UsageError:
    return UsageError(
        f"delivery {row.id} is {row.state.value}: it cannot be {action}",
        fix=f"only a delivery that is {' or '.join(s.value for s in allowed)} can be {action}",
    )


def _decide(
    ledger: Ledger, row: Delivery, target: DeliveryState, now: datetime, action: str,
    allowed: tuple[DeliveryState, ...], **values: Any,
) -> None:
    if row.state not in allowed or not ledger.transition(
        row.id, target, now, EventKind.RESOLVED, {"by": "person", "action": action}, **values
    ):
        raise _refuse(row, action, allowed)


def publish_now(ledger: Ledger, row: Delivery, now: datetime) -> None:
    """Move a waiting delivery's instant to ``now`` (``cm publish --now``)."""
    if row.state not in CLAIMABLE:
        raise _refuse(row, "published now", (S.PLANNED, S.RETRY_WAIT))
    with ledger.writing() as session:
        result = cast(CursorResult[Any], session.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.version == row.version)
            .values(state=S.PLANNED, due_at=now, next_attempt_at=None,
                    version=Delivery.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        ))
        if result.rowcount != 1:
            raise UsageError(f"delivery {row.id} changed meanwhile", fix="try again")
        session.add(Event(at=now, delivery_id=row.id, kind=EventKind.RESOLVED,
                          from_state=row.state, to_state=S.PLANNED,
                          detail={"by": "person", "action": "publish now",
                                  "was_due_at": row.due_at.isoformat()}))


def cancel(ledger: Ledger, row: Delivery, now: datetime) -> None:
    """Cancel a delivery not sent yet; ``held`` so that apply does not bring it back."""
    _decide(ledger, row, S.CANCELLED, now, "cancelled",
            (S.PLANNED, S.RETRY_WAIT, S.AWAITING_DONE, S.MISSED, S.FAILED), held=True)


def retry_due_at(row: Delivery, now: datetime) -> datetime:
    """Where a retried delivery goes: back at its planned instant while that is still ahead or
    inside its grace window (a cancel undone the day before keeps its hour), else now."""
    if now <= row.due_at + timedelta(seconds=row.grace_seconds):
        return row.due_at
    return now


def retry(ledger: Ledger, row: Delivery, now: datetime) -> datetime:
    """A failed, missed or cancelled delivery goes back to planned (``retry_due_at``); returns
    its instant."""
    due = retry_due_at(row, now)
    _decide(ledger, row, S.PLANNED, now, "retried", (S.FAILED, S.MISSED, S.CANCELLED),
            due_at=due, next_attempt_at=None, held=False, last_error=None)
    return due


def keep_planned_date(ledger: Ledger, delivery_id: int, planned: datetime, now: datetime) -> None:
    """After a failed ``cm publish --now``: the delivery keeps the date it was planned for.

    Still ahead, a delivery waiting for a retry goes back to ``planned`` at that date (it is
    sent then, not at the retry's next attempt); a ``failed`` one keeps the date, so that
    ``cm retry`` puts it back there."""
    row = _get(ledger, delivery_id)
    if row.state is S.RETRY_WAIT and planned > now:
        ledger.transition(row.id, S.PLANNED, now, EventKind.RESOLVED,
                          {"by": "person", "action": "publish now failed: back to its date"},
                          due_at=planned, next_attempt_at=None)
    elif row.state in (S.RETRY_WAIT, S.FAILED):
        with ledger.writing() as session:
            session.execute(
                update(Delivery).where(Delivery.id == row.id, Delivery.version == row.version)
                .values(due_at=planned, version=Delivery.version + 1, updated_at=now)
                .execution_options(synchronize_session=False))


def resolve_published(ledger: Ledger, row: Delivery, now: datetime, url: str) -> None:
    _decide(ledger, row, S.PUBLISHED, now, "marked published", (S.UNKNOWN, S.AWAITING_DONE),
            remote_url=url or row.remote_url)


def resolve_resend(ledger: Ledger, row: Delivery, now: datetime) -> None:
    """The person checked the network: it was not published. Send it again now."""
    _decide(ledger, row, S.PLANNED, now, "resent", (S.UNKNOWN,), due_at=now,
            next_attempt_at=None, last_error=None)


def resolve_drop(ledger: Ledger, row: Delivery, now: datetime) -> None:
    _decide(ledger, row, S.CANCELLED, now, "dropped", (S.UNKNOWN, S.FAILED, S.MISSED,
                                                       S.AWAITING_DONE), held=True)


def get(ledger: Ledger, delivery_id: int) -> Delivery:
    return _get(ledger, delivery_id)
