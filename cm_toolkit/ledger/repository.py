"""``Ledger``: the database behind the plan and the publisher, and its state changes.

Every state change goes through a versioned compare-and-set ``UPDATE ... WHERE id = ? AND
version = ?`` in a write transaction, and writes an ``events`` row in the same transaction.
``claim`` is the correctness core: two workers (threads, processes, cluster hosts) calling it for
one delivery never both win, on SQLite and on PostgreSQL. It is the only way into ``sending``:
the publisher (``cm run``, ``cm publish --now``, every cluster worker) and the tests use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from cm_toolkit.errors import LedgerError
from cm_toolkit.ledger.models import Delivery, Event, Post
from cm_toolkit.ledger.statements import CLAIM, INSERT_EVENT, OUTCOME, SNAPSHOT, DeliverySnapshot
from cm_toolkit.ledger.states import (
    CLAIMABLE,
    OUTCOMES,
    DeliveryState,
    EventKind,
    can_transition,
)
from cm_toolkit.workspace.models import Network


@dataclass(frozen=True)
class StateCount:
    state: DeliveryState
    network: Network
    count: int


@dataclass(frozen=True)
class DueDelivery:
    delivery: Delivery  # detached snapshot
    campaign_id: str


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("the ledger needs aware datetimes (UTC)")


def _claimable_at(seen: DeliverySnapshot, now: datetime, early: timedelta) -> bool:
    """``seen``'s state and times allow a claim at ``now`` (``Ledger.claim``)."""
    if seen.state not in CLAIMABLE or (seen.next_attempt_at or seen.due_at) - early > now:
        return False
    # a retry may run to its own end (the publisher fails it past the grace window)
    return (seen.state is not DeliveryState.PLANNED
            or now <= seen.due_at + timedelta(seconds=seen.grace_seconds))


class Ledger:
    """Sessions on the ledger database plus the delivery state machine.

    ``reading()`` gives a plain transaction; ``writing()`` a write transaction (on SQLite it
    starts with BEGIN IMMEDIATE, so it waits for other writers instead of failing midway).
    """

    def __init__(self, engine: Engine, write_engine: Engine | None = None) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self.write_engine = write_engine or engine
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._write() as session, session.begin():
            yield session

    # -- the publisher's side ------------------------------------------------------------------

    def snapshot(self, delivery_id: int) -> DeliverySnapshot | None:
        with self.engine.connect() as connection:
            row = connection.execute(SNAPSHOT, {"b_id": delivery_id}).one_or_none()
        return DeliverySnapshot(**row._mapping) if row is not None else None

    def claim(
        self, seen: DeliverySnapshot, worker_id: str, now: datetime, lease: timedelta, *,
        text: str | None = None, early: timedelta = timedelta(0),
    ) -> bool:
        """Take a delivery the caller has just read (``snapshot``) for sending (-> ``sending``,
        with a lease). True for exactly one caller, whoever else claims it at the same time.

        ``seen`` must be claimable at ``now``: ``planned`` from ``due_at - early`` to the end of
        its grace window, ``retry_wait`` from ``next_attempt_at - early``. ``early``: how long
        before its instant a caller may claim (the publisher's ``prepare_ahead``; the request
        itself still waits for the instant). A ``planned`` delivery past its grace is not
        claimed: the caller marks it ``missed``. The claim itself is one compare-and-set UPDATE
        on (id, version seen, claimable state) and its event, in one transaction: a crash
        before its commit claimed nothing, one after it leaves ``sending`` for recovery.
        ``text``: the rendered text about to be sent, kept with the claim (a crash mid-send
        leaves it for the review)."""
        _require_aware(now)
        if not _claimable_at(seen, now, early):
            return False
        lease_until = now + lease
        with self.write_engine.begin() as connection:
            result = connection.execute(
                CLAIM,
                {"b_id": seen.id, "b_version": seen.version, "b_worker": worker_id,
                 "b_now": now, "b_lease_until": lease_until, "b_text": text},
            )
            if result.rowcount != 1:
                return False
            connection.execute(
                INSERT_EVENT,
                {"at": now, "delivery_id": seen.id, "kind": EventKind.CLAIMED,
                 "from_state": seen.state, "to_state": DeliveryState.SENDING,
                 "detail": {"worker": worker_id, "lease_until": lease_until.isoformat()}},
            )
            return True

    def record_outcome(
        self,
        delivery_id: int,
        worker_id: str,
        outcome: DeliveryState,
        now: datetime,
        *,
        remote_id: str | None = None,
        remote_url: str | None = None,
        rendered_text: str | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """End a send: ``sending`` -> published | retry_wait | failed | unknown.

        Raises ``LedgerError`` when the delivery is not being sent by ``worker_id`` (its lease
        expired and it was moved to ``unknown``, for instance).
        """
        _require_aware(now)
        if outcome not in OUTCOMES:
            raise ValueError(f"{outcome} is not an outcome of sending")
        if outcome is DeliveryState.RETRY_WAIT and retry_at is None:
            raise ValueError("retry_wait needs retry_at")
        with self.write_engine.begin() as connection:
            # compare-and-set on the claim itself: only the worker holding it may end it
            result = connection.execute(
                OUTCOME,
                {"b_id": delivery_id, "b_worker": worker_id, "b_state": outcome, "b_now": now,
                 "b_error": error,
                 "b_retry_at": retry_at if outcome is DeliveryState.RETRY_WAIT else None,
                 "b_text": rendered_text, "b_remote_id": remote_id, "b_remote_url": remote_url},
            )
            if result.rowcount == 1:
                connection.execute(
                    INSERT_EVENT,
                    {"at": now, "delivery_id": delivery_id, "kind": EventKind.OUTCOME,
                     "from_state": DeliveryState.SENDING, "to_state": outcome,
                     "detail": {"worker": worker_id, "error": error, "remote_id": remote_id}},
                )
                return
        row = self.get(delivery_id)
        state = row.state.value if row is not None else "absent"
        raise LedgerError(
            f"delivery {delivery_id} is not being sent by {worker_id} (it is {state})",
            fix="its lease probably expired; review it with cm status",
        )

    def release_unsent(self, delivery_id: int, worker_id: str, now: datetime,
                       reason: str) -> DeliveryState | None:
        """``sending`` -> back to the state it was claimed from (``planned`` or
        ``retry_wait``), for a claim whose request provably never left: its worker died
        before starting it (``sending/inflight.py``). Compare-and-set on the claim; the
        attempt it counted did not happen. None when the delivery is no longer that claim."""
        _require_aware(now)
        with self.writing() as session:
            source = session.scalars(
                select(Event.from_state)
                .where(Event.delivery_id == delivery_id, Event.kind == EventKind.CLAIMED)
                .order_by(Event.id.desc()).limit(1)
            ).first()
            back = source if source in CLAIMABLE else DeliveryState.PLANNED
            assert back is not None
            result = cast(CursorResult[Any], session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.SENDING,
                       Delivery.claimed_by == worker_id)
                .values(state=back, claimed_by=None, claimed_at=None, lease_until=None,
                        attempts=Delivery.attempts - 1, version=Delivery.version + 1,
                        updated_at=now)
                .execution_options(synchronize_session=False)
            ))
            if result.rowcount != 1:
                return None
            session.add(Event(at=now, delivery_id=delivery_id, kind=EventKind.RECOVERED,
                              from_state=DeliveryState.SENDING, to_state=back,
                              detail={"worker": worker_id, "reason": reason}))
            return back

    def expire_leases(self, now: datetime) -> list[int]:
        """``sending`` deliveries whose lease ended -> ``unknown`` (never re-sent by itself)."""
        _require_aware(now)
        with self.writing() as session:
            rows = session.scalars(
                select(Delivery)
                .where(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now)
                .with_for_update()
            ).all()
            for row in rows:
                self._set_state(session, row, DeliveryState.UNKNOWN, now,
                                EventKind.LEASE_EXPIRED, {"worker": row.claimed_by},
                                {"lease_until": None,
                                 "last_error": "the worker stopped while sending"})
            return [row.id for row in rows]

    def transition(
        self,
        delivery_id: int,
        target: DeliveryState,
        now: datetime,
        kind: EventKind,
        detail: dict[str, Any] | None = None,
        **values: Any,
    ) -> bool:
        """Move one delivery to ``target`` if the transitions table allows it from its state.

        Used for ``missed`` and for people's decisions (resend an ``unknown``, cancel...).
        Returns False when the move is not allowed from the current state.
        """
        _require_aware(now)
        with self.writing() as session:
            row = session.get(Delivery, delivery_id, with_for_update=True)
            if row is None or not can_transition(row.state, target):
                return False
            self._set_state(session, row, target, now, kind, detail or {}, values)
            return True

    def _set_state(
        self,
        session: Session,
        row: Delivery,
        target: DeliveryState,
        now: datetime,
        kind: EventKind,
        detail: dict[str, Any],
        values: dict[str, Any],
    ) -> None:
        if not can_transition(row.state, target):
            raise LedgerError(f"delivery {row.id}: {row.state.value} -> {target.value} "
                              "is not an allowed transition")
        result = cast(
            CursorResult[Any],
            session.execute(
                update(Delivery)
                .where(Delivery.id == row.id, Delivery.version == row.version)
                .values(state=target, version=Delivery.version + 1, updated_at=now, **values)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount != 1:
            raise LedgerError(f"delivery {row.id} changed meanwhile", fix="try again")
        session.add(Event(at=now, delivery_id=row.id, kind=kind, from_state=row.state,
                          to_state=target, detail=detail))

    # -- reading -------------------------------------------------------------------------------

    def get(self, delivery_id: int) -> Delivery | None:
        with self.reading() as session:
            return session.get(Delivery, delivery_id)

    def state_counts(self) -> list[StateCount]:
        with self.reading() as session:
            rows = session.execute(
                select(Delivery.state, Delivery.network, func.count())
                .group_by(Delivery.state, Delivery.network)
                .order_by(Delivery.network, Delivery.state)
            ).all()
        return [StateCount(state, network, count) for state, network, count in rows]

    def next_due(self, limit: int = 10) -> list[DueDelivery]:
        """Deliveries waiting to be sent (planned / retry_wait), soonest first."""
        when = func.coalesce(Delivery.next_attempt_at, Delivery.due_at)
        with self.reading() as session:
            rows = session.execute(
                select(Delivery, Post.campaign_id)
                .join(Post, Post.key == Delivery.post_key)
                .where(Delivery.state.in_(CLAIMABLE))
                .order_by(when, Delivery.id)
                .limit(limit)
            ).all()
        return [DueDelivery(delivery, campaign_id) for delivery, campaign_id in rows]

    def events(self, delivery_id: int) -> list[Event]:
        with self.reading() as session:
            return list(
                session.scalars(
                    select(Event).where(Event.delivery_id == delivery_id).order_by(Event.id)
                )
            )
