"""``InboxLedger``: every SQL statement on the inbox tables (the one door to them).

What the community says (``conversations``, ``inbox_messages``), where each sync stopped
(``inbox_cursors``), what reading cost (``inbox_reads``) and every change (``inbox_events``).
Our replies' rows are in ``ledger/inbox_replies.py``, retention and export in
``ledger/inbox_privacy.py`` (``InboxLedger`` inherits both).

Storing is idempotent: a page is inserted with insert-or-ignore on ``(channel_id,
remote_id)`` (SQLite and PostgreSQL ``ON CONFLICT DO NOTHING``), so a sync run twice stores
nothing twice; the page's cursor is written in the same transaction, after its messages (a
crash re-reads the same page, harmlessly). State changes are compare-and-set on ``version``
with an ``inbox_events`` row in the same transaction. Docs: docs/inbox.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cm_toolkit.channels.base import IncomingMessage
from cm_toolkit.errors import InboxError
from cm_toolkit.ledger.inbox_privacy import PrivacyRows
from cm_toolkit.ledger.inbox_replies import ReplyRows
from cm_toolkit.ledger.models import (
    Conversation,
    Delivery,
    InboxCursor,
    InboxEvent,
    InboxMessage,
    InboxRead,
    InboxReply,
)
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import ACTIONABLE, InboxEventKind, MessageState
from cm_toolkit.workspace.models import Network

M = MessageState

STATE_TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    M.NEW: frozenset({M.OPEN, M.ANSWERED, M.CLOSED, M.IGNORED}),
    M.OPEN: frozenset({M.ANSWERED, M.CLOSED, M.IGNORED}),
    M.ANSWERED: frozenset({M.OPEN, M.CLOSED, M.IGNORED}),
    M.CLOSED: frozenset({M.OPEN}),
    M.IGNORED: frozenset({M.OPEN}),
}
"""What a person (or the engine) may do with a message: ``reopen`` is ``-> open``."""


@dataclass(frozen=True)
class Annotation:
    """What the engine adds to a new message before storing it."""

    is_question: bool = False
    suggestions: dict[str, Any] | None = None  # {"faq": [[id, score, title, auto], ...]}
    language: str | None = None  # guessed when the network does not say it


@dataclass(frozen=True)
class ReadCost:
    """One read call's bill (stored in ``inbox_reads``)."""

    items: int = 0
    units: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class StoreResult:
    new_ids: list[int] = field(default_factory=list)
    already_known: int = 0


@dataclass(frozen=True)
class InboxFilter:
    """What ``cm inbox`` lists. Empty sets mean "any"; states default to actionable."""

    networks: frozenset[Network] = frozenset()
    channels: frozenset[str] = frozenset()
    states: frozenset[MessageState] = ACTIONABLE
    limit: int = 200


@dataclass
class ConversationGroup:
    """Listed messages of one conversation, newest first; groups ordered by their newest."""

    conversation_id: int
    channel_id: str
    network: Network
    thread_remote_id: str
    messages: list[InboxMessage]


def upsert(connection_dialect: str, table: Table) -> PgInsert | SqliteInsert:
    """An INSERT that can take ``ON CONFLICT`` clauses on this database."""
    if connection_dialect == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("the inbox ledger needs aware datetimes (UTC)")


class InboxLedger(ReplyRows, PrivacyRows):
    """The inbox half of the ledger, on the same engines as ``Ledger``."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)

    # -- storing what a sync read ----------------------------------------------------------------

    def known_remote_ids(self, channel_id: str, remote_ids: Sequence[str]) -> set[str]:
        if not remote_ids:
            return set()
        with self.ledger.engine.connect() as connection:
            return set(connection.scalars(
                select(InboxMessage.remote_id).where(
                    InboxMessage.channel_id == channel_id,
                    InboxMessage.remote_id.in_(list(remote_ids)))))

    def store_page(
        self,
        channel_id: str,
        network: Network,
        source: str,
        messages: Sequence[IncomingMessage],
        now: datetime,
        *,
        cursor: str | None = None,
        store_cursor: bool = True,
        next_sync_at: datetime | None = None,
        read: ReadCost | None = None,
        annotate: Callable[[IncomingMessage], Annotation] | None = None,
        session_id: str | None = None,
    ) -> StoreResult:
        """Store one page: messages (insert-or-ignore), their conversations, a RECEIVED event
        per new message, the read's cost, then the cursor, all in one transaction.

        ``annotate`` runs only for messages not already in the ledger, before the write
        transaction (FAQ scoring must not hold the write lock)."""
        _require_aware(now)
        known = self.known_remote_ids(channel_id, [m.remote_id for m in messages])
        fresh: list[IncomingMessage] = []
        seen: set[str] = set()
        for message in messages:
            if message.remote_id not in known and message.remote_id not in seen:
                seen.add(message.remote_id)
                fresh.append(message)
        notes = {m.remote_id: annotate(m) if annotate else Annotation() for m in fresh}
        new_ids: list[int] = []
        with self.ledger.write_engine.begin() as connection:
            dialect = connection.dialect.name
            threads = self._upsert_conversations(connection, dialect, channel_id, network,
                                                 fresh, now, session_id)
            rows = []
            for message in fresh:
                note = notes[message.remote_id]
                rows.append({
                    "conversation_id": threads[message.thread_remote_id],
                    "channel_id": channel_id, "network": network,
                    "remote_id": message.remote_id, "kind": message.kind.value,
                    "source": message.source, "parent_remote_id": message.parent_remote_id,
                    "author_id": message.author_id, "author_name": message.author_name,
                    "text": message.text, "language": message.language or note.language,
                    "url": message.url,
                    "is_question": note.is_question and not message.from_us,
                    "from_us": message.from_us, "received_at": message.created_at,
                    "synced_at": now,
                    # our own messages seen again need nobody's attention
                    "state": M.CLOSED if message.from_us else M.NEW,
                    "auto_answered": False, "suggestions": note.suggestions,
                    "created_at": now, "updated_at": now, "version": 1})
            if rows:
                # one multi-row INSERT; a row another sync stored meanwhile is skipped
                statement = upsert(dialect, cast(Table, InboxMessage.__table__)) \
                    .on_conflict_do_nothing(index_elements=["channel_id", "remote_id"]) \
                    .returning(InboxMessage.id, InboxMessage.remote_id)
                stored = {remote: int(i) for i, remote in connection.execute(
                    statement, rows).all()}
                new_ids = [stored[m.remote_id] for m in fresh if m.remote_id in stored]
            if new_ids:
                connection.execute(insert(InboxEvent), [
                    {"at": now, "message_id": message_id, "kind": InboxEventKind.RECEIVED,
                     "to_state": None, "actor": "sync", "detail": {"source": source}}
                    for message_id in new_ids])
            if read is not None:
                connection.execute(insert(InboxRead).values(
                    channel_id=channel_id, network=network, source=source, at=now,
                    items=read.items, units=read.units, cost_usd=read.cost_usd))
            if store_cursor:
                self._store_cursor(connection, dialect, channel_id, source, cursor, now,
                                   next_sync_at)
        return StoreResult(new_ids, len(messages) - len(new_ids))

    def _upsert_conversations(
        self, connection: Any, dialect: str, channel_id: str, network: Network,
        messages: Sequence[IncomingMessage], now: datetime, session_id: str | None,
    ) -> dict[str, int]:
        latest: dict[str, datetime] = {}
        posts: dict[str, str] = {}
        for message in messages:
            thread = message.thread_remote_id
            latest[thread] = max(latest.get(thread, message.created_at), message.created_at)
            if message.post_remote_id:
                posts.setdefault(thread, message.post_remote_id)
        deliveries: dict[str, int] = {}
        if posts:
            deliveries = {str(remote): int(delivery_id) for delivery_id, remote in connection.execute(
                select(Delivery.id, Delivery.remote_id).where(
                    Delivery.channel_id == channel_id,
                    Delivery.remote_id.in_(sorted(set(posts.values())))))}
        ids: dict[str, int] = {}
        table = cast(Table, Conversation.__table__)
        for thread, last in latest.items():
            statement = upsert(dialect, table).values(
                channel_id=channel_id, network=network, thread_remote_id=thread,
                delivery_id=deliveries.get(posts.get(thread, "")), session_id=session_id,
                last_message_at=last, created_at=now, updated_at=now)
            excluded = statement.excluded
            statement = statement.on_conflict_do_update(
                index_elements=["channel_id", "thread_remote_id"],
                set_={
                    "last_message_at": case(
                        (excluded.last_message_at > table.c.last_message_at,
                         excluded.last_message_at), else_=table.c.last_message_at),
                    "delivery_id": func.coalesce(table.c.delivery_id, excluded.delivery_id),
                    "updated_at": excluded.updated_at,
                })
            ids[thread] = int(connection.execute(statement.returning(table.c.id)).scalar_one())
        return ids

    def _store_cursor(self, connection: Any, dialect: str, channel_id: str, source: str,
                      cursor: str | None, now: datetime, next_sync_at: datetime | None) -> None:
        table = cast(Table, InboxCursor.__table__)
        statement = upsert(dialect, table).values(
            channel_id=channel_id, source=source, cursor=cursor, last_sync_at=now,
            next_sync_at=next_sync_at, updated_at=now)
        excluded = statement.excluded
        connection.execute(statement.on_conflict_do_update(
            index_elements=["channel_id", "source"],
            set_={"cursor": func.coalesce(excluded.cursor, table.c.cursor),
                  "last_sync_at": excluded.last_sync_at,
                  "next_sync_at": excluded.next_sync_at, "updated_at": excluded.updated_at}))

    def cursor(self, channel_id: str, source: str) -> InboxCursor | None:
        with self.ledger.reading() as session:
            return session.scalars(select(InboxCursor).where(
                InboxCursor.channel_id == channel_id, InboxCursor.source == source)).first()

    def read_spend(self, network: Network, since: datetime) -> ReadCost:
        """What reading cost on a network since an instant (X's monthly budget, YouTube units)."""
        with self.ledger.engine.connect() as connection:
            items, units, cost = connection.execute(
                select(func.coalesce(func.sum(InboxRead.items), 0),
                       func.coalesce(func.sum(InboxRead.units), 0),
                       func.coalesce(func.sum(InboxRead.cost_usd), 0.0))
                .where(InboxRead.network == network, InboxRead.at >= since)).one()
        return ReadCost(int(items), int(units), float(cost))

    # -- reading for people ----------------------------------------------------------------------

    def listing(self, wanted: InboxFilter) -> list[ConversationGroup]:
        """Open items (or ``wanted.states``), newest first, grouped by conversation (groups
        ordered by their newest listed message).

        One query per (state[, network][, channel]) with equality on each: each reads an index
        range ((state, received_at), or the (network|channel_id, state, received_at) ones)
        backwards and stops at ``limit`` rows, with no sort: fast on a million messages,
        where one ``state IN (...)`` query sorts every open message. The few rows are merged
        here."""
        states = sorted(wanted.states, key=lambda s: s.value)
        networks: list[Network | None] = [None]
        if wanted.networks:
            networks = [*sorted(wanted.networks)]
        channels: list[str | None] = [*sorted(wanted.channels)] if wanted.channels else [None]
        found: list[InboxMessage] = []
        with self.ledger.reading() as session:
            for state in states:
                for network in networks:
                    for channel in channels:
                        query = (select(InboxMessage)
                                 .where(InboxMessage.state == state,
                                        InboxMessage.from_us.is_(False),
                                        InboxMessage.purged_at.is_(None))
                                 .order_by(InboxMessage.received_at.desc(),
                                           InboxMessage.id.desc())
                                 .limit(wanted.limit))
                        if network is not None:
                            query = query.where(InboxMessage.network == network)
                        if channel is not None:
                            query = query.where(InboxMessage.channel_id == channel)
                        found.extend(session.scalars(query))
            found.sort(key=lambda m: (m.received_at, m.id), reverse=True)
            found = found[:wanted.limit]
            threads: dict[int, str] = {
                conversation_id: thread for conversation_id, thread in session.execute(
                    select(Conversation.id, Conversation.thread_remote_id).where(
                        Conversation.id.in_({m.conversation_id for m in found})))}
        groups: dict[int, ConversationGroup] = {}
        for message in found:
            group = groups.get(message.conversation_id)
            if group is None:
                group = groups[message.conversation_id] = ConversationGroup(
                    message.conversation_id, message.channel_id, message.network,
                    threads.get(message.conversation_id, ""), [])
            group.messages.append(message)
        return list(groups.values())

    def message(self, message_id: int) -> InboxMessage:
        with self.ledger.reading() as session:
            row = session.get(InboxMessage, message_id)
        if row is None:
            raise InboxError(f"there is no inbox message {message_id}",
                             fix="cm inbox lists the open ones with their ids")
        return row

    def conversation(self, conversation_id: int) -> Conversation | None:
        with self.ledger.reading() as session:
            return session.get(Conversation, conversation_id)

    def thread(self, conversation_id: int) -> list[InboxMessage]:
        """Every message of a conversation (ours too), oldest first."""
        with self.ledger.reading() as session:
            return list(session.scalars(
                select(InboxMessage).where(InboxMessage.conversation_id == conversation_id)
                .order_by(InboxMessage.received_at, InboxMessage.id)))

    def delivery(self, delivery_id: int) -> Delivery | None:
        with self.ledger.reading() as session:
            return session.get(Delivery, delivery_id)

    def events(self, message_id: int) -> list[InboxEvent]:
        with self.ledger.reading() as session:
            return list(session.scalars(select(InboxEvent).where(
                InboxEvent.message_id == message_id).order_by(InboxEvent.id)))

    def unanswered_since(self, since: datetime, limit: int = 500) -> list[InboxMessage]:
        """New messages received since an instant, without a reply (auto answers' candidates)."""
        has_reply = select(InboxReply.id).where(InboxReply.message_id == InboxMessage.id).exists()
        with self.ledger.reading() as session:
            return list(session.scalars(
                select(InboxMessage).where(
                    InboxMessage.state == M.NEW, InboxMessage.received_at >= since,
                    InboxMessage.from_us.is_(False), InboxMessage.purged_at.is_(None),
                    ~has_reply)
                .order_by(InboxMessage.received_at, InboxMessage.id).limit(limit)))

    # -- people's decisions ----------------------------------------------------------------------

    def set_state(self, message_id: int, target: MessageState, now: datetime, actor: str,
                  *, expected_version: int | None = None) -> InboxMessage:
        """Move a message (close, ignore, reopen, open...): compare-and-set on its version."""
        _require_aware(now)
        row = self.message(message_id)
        if row.state is target:
            return row
        if target not in STATE_TRANSITIONS[row.state]:
            raise InboxError(f"message {message_id} is {row.state.value}: it cannot become "
                             f"{target.value}", fix=f"cm inbox reopen {message_id} first"
                             if target is not M.OPEN else "it is already open")
        version = expected_version if expected_version is not None else row.version
        values: dict[str, Any] = {"state": target}
        if target is M.ANSWERED and row.first_answered_at is None:
            values["first_answered_at"] = now  # answered on the network itself, by a person
        self._compare_and_set(message_id, version, now, values,
                              InboxEventKind.STATE, actor, row.state.value, target.value)
        return self.message(message_id)

    def assign(self, message_id: int, who: str, now: datetime, actor: str) -> InboxMessage:
        _require_aware(now)
        row = self.message(message_id)
        values: dict[str, Any] = {"assignee": who}
        target = row.state
        if row.state is M.NEW:  # someone handles it now
            target = values["state"] = M.OPEN
        self._compare_and_set(message_id, row.version, now, values, InboxEventKind.ASSIGNED,
                              actor, row.state.value, target.value, {"assignee": who})
        return self.message(message_id)

    def _compare_and_set(self, message_id: int, version: int, now: datetime,
                         values: dict[str, Any], kind: InboxEventKind, actor: str,
                         from_state: str | None, to_state: str | None,
                         detail: dict[str, Any] | None = None) -> None:
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxMessage)
                .where(InboxMessage.id == message_id, InboxMessage.version == version)
                .values(version=InboxMessage.version + 1, updated_at=now, **values)))
            if result.rowcount != 1:
                raise InboxError(f"message {message_id} changed meanwhile",
                                 fix=f"look again with cm inbox show {message_id}")
            connection.execute(insert(InboxEvent).values(
                at=now, message_id=message_id, kind=kind, from_state=from_state,
                to_state=to_state, actor=actor, detail=detail or {}))
