"""The dashboard's Inbox page reads: one page of open items, newest first, with a keyset.

Why one query per state: the index is ``(state, received_at)``. ``state IN ('new', 'open')
ORDER BY received_at`` cannot walk that index in order, so SQLite would sort every actionable
row on each request; one query per state walks its index range newest first and stops after
``limit + 1`` rows, and the few rows are merged here. The page never counts the table.
(``InboxLedger.listing``, for ``cm inbox``, lists every match at once: no keyset.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, tuple_

from cm_toolkit.ledger.models import Conversation, InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import ACTIONABLE, MessageState
from cm_toolkit.workspace.models import Network

PAGE_SIZE = 50


@dataclass(frozen=True)
class Keyset:
    """Where a page stopped: the last shown message's (received_at, id)."""

    received_at: datetime
    message_id: int

    def text(self) -> str:
        return f"{self.received_at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%f')}_{self.message_id}"

    @classmethod
    def parse(cls, text: str) -> Keyset | None:
        """The ``before`` query parameter; anything malformed means the first page."""
        stamp, _, number = text.partition("_")
        try:
            at = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
            return cls(at, int(number))
        except ValueError:
            return None


@dataclass(frozen=True)
class InboxQuery:
    states: frozenset[MessageState] = ACTIONABLE
    network: Network | None = None
    channel_id: str | None = None
    before: Keyset | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class InboxPage:
    messages: list[InboxMessage]
    threads: dict[int, str]  # conversation id -> the network's thread id
    next: Keyset | None  # None: this is the last page


def open_items(ledger: Ledger, query: InboxQuery) -> InboxPage:
    """One page of messages newest first (``limit`` of them) and where the next page starts."""
    rows: list[InboxMessage] = []
    with ledger.reading() as session:
        for state in sorted(query.states, key=lambda s: s.value):
            statement = (select(InboxMessage)
                         # as InboxLedger.listing (cm inbox): ours and purged ones are not listed
                         .where(InboxMessage.state == state, InboxMessage.from_us.is_(False),
                                InboxMessage.purged_at.is_(None))
                         .order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
                         .limit(query.limit + 1))
            if query.before is not None:
                statement = statement.where(
                    tuple_(InboxMessage.received_at, InboxMessage.id)
                    < tuple_(query.before.received_at, query.before.message_id))
            if query.network is not None:
                statement = statement.where(InboxMessage.network == query.network)
            if query.channel_id is not None:
                statement = statement.where(InboxMessage.channel_id == query.channel_id)
            rows.extend(session.scalars(statement))
        rows.sort(key=lambda m: (m.received_at, m.id), reverse=True)
        shown = rows[:query.limit]
        ids = sorted({m.conversation_id for m in shown})
        threads = {int(cid): str(thread) for cid, thread in session.execute(
            select(Conversation.id, Conversation.thread_remote_id)
            .where(Conversation.id.in_(ids)))} if ids else {}
    following = None
    if len(rows) > query.limit and shown:
        following = Keyset(shown[-1].received_at, shown[-1].id)
    return InboxPage(shown, threads, following)
