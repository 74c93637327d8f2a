"""Our replies' rows (``inbox_replies``): created, claimed, ended, recovered, resolved.

A reply is a delivery in every way that matters (docs/inbox.md): ``planned -> sending ->
published | retry_wait | failed | unknown``. ``claim_reply`` is one compare-and-set UPDATE on
(id, version, claimable state) with a lease, like ``ledger/statements.py`` CLAIM: two workers
never both win. ``unknown`` is never sent again by itself. Every change writes an
``inbox_events`` row in the same transaction. ``InboxLedger`` (``ledger/inbox.py``) inherits
these methods: together they are the one door to the inbox tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, insert, select, update

from cm_toolkit.errors import InboxError
from cm_toolkit.ledger.models import InboxEvent, InboxMessage, InboxReply
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import CLAIMABLE, DeliveryState, InboxEventKind, MessageState

S = DeliveryState
PENDING = frozenset({S.PLANNED, S.SENDING, S.RETRY_WAIT, S.UNKNOWN})
"""A reply in one of these states blocks another one: it may still reach the network."""
REPLY_OUTCOMES = frozenset({S.PUBLISHED, S.RETRY_WAIT, S.FAILED, S.UNKNOWN})
NEEDS_DECISION = (S.UNKNOWN, S.FAILED)


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("the inbox ledger needs aware datetimes (UTC)")


Row = TypeVar("Row", InboxMessage, InboxReply)


def get_row(ledger: Ledger, model: type[Row], row_id: int, missing: str, fix: str) -> Row:
    """One row by id, or ``InboxError(missing, fix)``."""
    with ledger.reading() as session:
        row = session.get(model, row_id)
    if row is None:
        raise InboxError(missing, fix=fix)
    return row


class ReplyRows:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def reply(self, reply_id: int) -> InboxReply:
        return get_row(self.ledger, InboxReply, reply_id, f"there is no reply {reply_id}",
                       "cm review lists the replies that need a decision")

    def replies_of(self, message_id: int) -> list[InboxReply]:
        with self.ledger.reading() as session:
            return list(session.scalars(select(InboxReply).where(
                InboxReply.message_id == message_id).order_by(InboxReply.id)))

    def replies_for_review(self) -> list[InboxReply]:
        with self.ledger.reading() as session:
            return list(session.scalars(select(InboxReply).where(
                InboxReply.state.in_(NEEDS_DECISION)).order_by(InboxReply.id)))

    def replies_waiting(self, now: datetime) -> list[int]:
        """Replies to send now: planned, or retry_wait whose next attempt has come."""
        with self.ledger.engine.connect() as connection:
            rows = connection.execute(select(
                InboxReply.id, InboxReply.next_attempt_at).where(
                    InboxReply.state.in_(CLAIMABLE)).order_by(InboxReply.id)).all()
        return [reply_id for reply_id, at in rows if at is None or at <= now]

    def sending_replies(self) -> list[tuple[int, str]]:
        with self.ledger.engine.connect() as connection:
            rows = connection.execute(select(InboxReply.id, InboxReply.claimed_by).where(
                InboxReply.state == S.SENDING)).all()
        return [(reply_id, str(worker)) for reply_id, worker in rows]

    def reply_with_text(self, channel_id: str, text: str) -> InboxReply | None:
        """A reply of the channel with exactly this text that reached, or may reach, the
        network (for networks that refuse a text the account already posted)."""
        with self.ledger.reading() as session:
            return session.scalars(select(InboxReply).where(
                InboxReply.channel_id == channel_id, InboxReply.rendered_text == text,
                InboxReply.state.in_([*PENDING, S.PUBLISHED])).order_by(InboxReply.id)).first()

    # -- request -------------------------------------------------------------------------------

    def create_reply(self, message_id: int, text: str, now: datetime, actor: str, *,
                     faq_id: str | None = None, auto: bool = False, again: bool = False,
                     hold: timedelta = timedelta(0)) -> int:
        """A ``planned`` reply to one message, refused (``InboxError``) when the message
        already has one that may reach the network, or a published one (unless ``again``).

        The check and the insert are one write transaction holding the message row (BEGIN
        IMMEDIATE on SQLite, ``FOR UPDATE`` on PostgreSQL), and the message's version grows:
        two requests for one message never both create a reply. ``hold``: others (``cm run``)
        leave it alone this long, the requester sending it itself (``claim_reply(early=True)``);
        if the requester dies first, ``cm run`` sends it after the hold."""
        _aware(now)
        with self.ledger.writing() as session:
            message = session.get(InboxMessage, message_id, with_for_update=True)
            if message is None:
                raise InboxError(f"there is no inbox message {message_id}",
                                 fix="cm inbox lists the open ones with their ids")
            if message.purged_at is not None:
                raise InboxError(f"message {message_id} was purged (retention)",
                                 fix="its text and author are gone: answer on the network")
            if message.from_us:
                raise InboxError(f"message {message_id} is ours",
                                 fix="answer the learner's message, not our own reply")
            existing = list(session.scalars(select(InboxReply).where(
                InboxReply.message_id == message_id).order_by(InboxReply.id)))
            for row in existing:
                if row.state in PENDING:
                    raise InboxError(
                        f"message {message_id} already has reply {row.id} ({row.state.value})",
                        fix=f"cm review shows it; decide with cm inbox resolve {row.id}"
                        if row.state is S.UNKNOWN else "wait for it to be sent (cm run)")
            answered = any(r.state is S.PUBLISHED for r in existing) \
                or message.state is MessageState.ANSWERED
            if auto and existing:
                raise InboxError(f"message {message_id} already has a reply",
                                 fix="auto answers only first replies")
            if answered and not again:
                raise InboxError(f"message {message_id} is already answered",
                                 fix="add --again for a deliberate follow-up")
            reply = InboxReply(
                message_id=message_id, channel_id=message.channel_id, network=message.network,
                state=S.PLANNED, rendered_text=text, faq_id=faq_id, auto=auto,
                requested_by=actor, attempts=0, next_attempt_at=now + hold, created_at=now,
                updated_at=now, version=1)
            session.add(reply)
            message.version += 1
            message.updated_at = now
            session.flush()
            session.add(InboxEvent(at=now, message_id=message_id, reply_id=reply.id,
                                   kind=InboxEventKind.REPLY_REQUESTED, to_state=S.PLANNED.value,
                                   actor=actor, detail={"faq": faq_id, "auto": auto}))
            return reply.id

    # -- sending -------------------------------------------------------------------------------

    def claim_reply(self, reply_id: int, worker_id: str, now: datetime, lease: timedelta, *,
                    early: bool = False) -> bool:
        """``planned|retry_wait -> sending``: True for exactly one caller. ``early``: a
        ``planned`` reply held for its requester is claimed before its time."""
        _aware(now)
        row = self.reply(reply_id)
        if row.state not in CLAIMABLE:
            return False
        waiting = row.next_attempt_at is not None and row.next_attempt_at > now
        if waiting and not (early and row.state is S.PLANNED):
            return False
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxReply)
                .where(InboxReply.id == reply_id, InboxReply.version == row.version,
                       InboxReply.state.in_(CLAIMABLE))
                .values(state=S.SENDING, claimed_by=worker_id, claimed_at=now,
                        lease_until=now + lease, attempts=InboxReply.attempts + 1,
                        version=InboxReply.version + 1, updated_at=now)))
            if result.rowcount != 1:
                return False
            connection.execute(insert(InboxEvent).values(
                at=now, message_id=row.message_id, reply_id=reply_id,
                kind=InboxEventKind.REPLY_CLAIMED, from_state=row.state.value,
                to_state=S.SENDING.value, actor=worker_id,
                detail={"lease_until": (now + lease).isoformat()}))
            return True

    def record_reply_outcome(
        self, reply_id: int, worker_id: str, outcome: DeliveryState, now: datetime, *,
        remote_id: str | None = None, remote_url: str | None = None, error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """End a send (compare-and-set on the claim). Published: the message is ``answered``
        (``first_answered_at`` kept from the first answer). Raises ``InboxError`` when the
        claim is no longer this worker's."""
        _aware(now)
        if outcome not in REPLY_OUTCOMES:
            raise ValueError(f"{outcome} is not an outcome of sending a reply")
        if outcome is S.RETRY_WAIT and retry_at is None:
            raise ValueError("retry_wait needs retry_at")
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxReply)
                .where(InboxReply.id == reply_id, InboxReply.state == S.SENDING,
                       InboxReply.claimed_by == worker_id)
                .values(state=outcome, lease_until=None, last_error=error,
                        next_attempt_at=retry_at if outcome is S.RETRY_WAIT else None,
                        remote_id=remote_id, remote_url=remote_url,
                        version=InboxReply.version + 1, updated_at=now)))
            if result.rowcount == 1:
                message_id, auto = connection.execute(select(
                    InboxReply.message_id, InboxReply.auto).where(
                        InboxReply.id == reply_id)).one()
                connection.execute(insert(InboxEvent).values(
                    at=now, message_id=message_id, reply_id=reply_id,
                    kind=InboxEventKind.REPLY_OUTCOME, from_state=S.SENDING.value,
                    to_state=outcome.value, actor=worker_id,
                    detail={"remote_id": remote_id, "error": error}))
                if outcome is S.PUBLISHED:
                    self._answered(connection, message_id, bool(auto), now, worker_id)
                return
        state = self.reply(reply_id).state.value
        raise InboxError(f"reply {reply_id} is not being sent by {worker_id} (it is {state})",
                         fix="its lease probably expired; cm review shows it")

    def _answered(self, connection: Any, message_id: int, auto: bool, now: datetime,
                  actor: str) -> None:
        state, first, version = connection.execute(select(
            InboxMessage.state, InboxMessage.first_answered_at, InboxMessage.version).where(
                InboxMessage.id == message_id)).one()
        values: dict[str, Any] = {"state": MessageState.ANSWERED}
        if first is None:
            values.update(first_answered_at=now, auto_answered=auto)
        connection.execute(update(InboxMessage).where(
            InboxMessage.id == message_id, InboxMessage.version == version).values(
                version=InboxMessage.version + 1, updated_at=now, **values))
        if state is not MessageState.ANSWERED:
            connection.execute(insert(InboxEvent).values(
                at=now, message_id=message_id, kind=InboxEventKind.STATE,
                from_state=state.value, to_state=MessageState.ANSWERED.value, actor=actor,
                detail={}))
        if auto and first is None:
            connection.execute(insert(InboxEvent).values(
                at=now, message_id=message_id, kind=InboxEventKind.AUTO_ANSWERED, actor=actor,
                detail={}))

    # -- crashes -------------------------------------------------------------------------------

    def release_unsent_reply(self, reply_id: int, worker_id: str, now: datetime,
                             reason: str) -> bool:
        """``sending -> planned`` for a claim whose request provably never left (its worker
        died before starting it: ``sending/inflight.py``). Compare-and-set on the claim."""
        _aware(now)
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxReply)
                .where(InboxReply.id == reply_id, InboxReply.state == S.SENDING,
                       InboxReply.claimed_by == worker_id)
                .values(state=S.PLANNED, claimed_by=None, claimed_at=None, lease_until=None,
                        next_attempt_at=now, attempts=InboxReply.attempts - 1,
                        version=InboxReply.version + 1, updated_at=now)))
            if result.rowcount != 1:
                return False
            self._event(connection, reply_id, InboxEventKind.REPLY_OUTCOME, S.SENDING,
                        S.PLANNED, now, worker_id, {"reason": reason})
            return True

    def reply_unknown(self, reply_id: int, now: datetime, reason: str,
                      worker_id: str | None = None) -> bool:
        """``sending -> unknown``: its request may have reached the network (never resent)."""
        _aware(now)
        where = [InboxReply.id == reply_id, InboxReply.state == S.SENDING]
        if worker_id is not None:
            where.append(InboxReply.claimed_by == worker_id)
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxReply).where(*where)
                .values(state=S.UNKNOWN, lease_until=None, last_error=reason,
                        version=InboxReply.version + 1, updated_at=now)))
            if result.rowcount != 1:
                return False
            self._event(connection, reply_id, InboxEventKind.REPLY_OUTCOME, S.SENDING,
                        S.UNKNOWN, now, worker_id, {"reason": reason})
            return True

    def expire_reply_leases(self, now: datetime) -> list[int]:
        with self.ledger.engine.connect() as connection:
            ids = list(connection.scalars(select(InboxReply.id).where(
                InboxReply.state == S.SENDING, InboxReply.lease_until < now)))
        return [reply_id for reply_id in ids if self.reply_unknown(
            reply_id, now, "the worker stopped while sending: check the network, then resolve")]

    # -- people's decisions --------------------------------------------------------------------

    def resolve_reply(self, reply_id: int, decision: str, now: datetime, actor: str, *,
                      url: str | None = None) -> DeliveryState:
        """A person decided on an unknown (or failed) reply: ``published`` (it is online:
        ``url``), ``resend`` (it is not: planned again, due now) or ``drop``."""
        _aware(now)
        row = self.reply(reply_id)
        if row.state not in NEEDS_DECISION:
            raise InboxError(f"reply {reply_id} is {row.state.value}: nothing to decide",
                             fix="only unknown or failed replies are resolved")
        if decision == "published" and row.state is not S.UNKNOWN:
            raise InboxError(f"reply {reply_id} failed: the network refused it",
                             fix="use --resend after fixing the cause, or --drop")
        target = {"published": S.PUBLISHED, "resend": S.PLANNED, "drop": S.CANCELLED}[decision]
        values: dict[str, Any] = {"state": target}
        if target is S.PUBLISHED:
            values["remote_url"] = url
        if target is S.PLANNED:
            values.update(next_attempt_at=now, claimed_by=None, last_error=None)
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxReply).where(InboxReply.id == reply_id,
                                         InboxReply.version == row.version)
                .values(version=InboxReply.version + 1, updated_at=now, **values)))
            if result.rowcount != 1:
                raise InboxError(f"reply {reply_id} changed meanwhile", fix="look again")
            self._event(connection, reply_id, InboxEventKind.REPLY_RESOLVED, row.state, target,
                        now, actor, {"decision": decision, "url": url})
            if target is S.PUBLISHED:
                self._answered(connection, row.message_id, row.auto, now, actor)
        return target

    def _event(self, connection: Any, reply_id: int, kind: InboxEventKind,
               source: DeliveryState, target: DeliveryState, now: datetime,
               actor: str | None, detail: dict[str, Any]) -> None:
        message_id = connection.execute(select(InboxReply.message_id).where(
            InboxReply.id == reply_id)).scalar_one()
        connection.execute(insert(InboxEvent).values(
            at=now, message_id=message_id, reply_id=reply_id, kind=kind,
            from_state=source.value, to_state=target.value, actor=actor, detail=detail))
