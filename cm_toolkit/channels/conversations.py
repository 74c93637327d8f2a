"""What the inbox reads and answers through an adapter (``Capability.CONVERSATIONS``).

The data types of ``Channel.conversations`` and ``Channel.reply``, and the class data
(``ConversationFacts``) a network declares about reading and answering. Import them from
``cm_toolkit.channels.base`` (which re-exports them) or from here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class MessageKind(enum.Enum):
    """What an incoming message is on its network (stored by name in the inbox tables)."""

    COMMENT = "comment"  # a comment on one of our posts (Facebook, LinkedIn, YouTube)
    REPLY = "reply"  # an answer to a comment, or a reply in one of our posts' conversations (X)
    MENTION = "mention"  # a post that names our account (X @mention)
    LIVE_CHAT = "live_chat"  # a chat message during a live session (YouTube)
    MANUAL = "manual"  # logged by hand (`cm inbox add`): a channel without an API


@dataclass(frozen=True)
class ConversationFacts:
    """What the inbox needs to know about reading and answering on one network (class data).

    ``sources`` are the feeds the adapter can read (``"comments"``, ``"mentions"``,
    ``"replies"``, ``"live_chat"``), each with its own cursor in the ledger. Costs are per call
    or per item as the network bills them: ``read_cost_usd`` per message returned (X bills
    each post read), ``read_units``/``reply_units`` in the network's daily quota (YouTube).
    ``reply_text_max`` is in the adapter's ``text_length`` unit. ``min_poll_interval`` is the
    shortest cadence the network tolerates for one source (live chat: the network's
    ``pollingIntervalMillis`` overrides it per call).
    """

    sources: tuple[str, ...]
    reply_text_max: int
    read_cost_usd: float = 0.0  # per message returned
    owned_read_cost_usd: float | None = None  # X: reads of the app owner's own account
    reply_cost_usd: float = 0.0
    read_units: int = 0  # quota units per read call (YouTube: commentThreads.list = 1)
    reply_units: int = 0  # quota units per reply (YouTube: comments.insert = 50)
    live_chat_units: int = 0  # per liveChatMessages.list call (YouTube: 5)
    min_poll_interval: timedelta = timedelta(minutes=5)
    reply_rule: str | None = None  # a network restriction on replies, said to the user
    # a reply opens with its author's handle, e.g. "@{handle} " (X: a reply names whom it
    # answers); ``handle_max`` is the longest handle, so checks can leave room for it
    reply_address: str | None = None
    handle_max: int = 0
    # the network refuses a text the account already posted (X's duplicate-content 403): the
    # inbox refuses such a reply before sending it
    refuses_repeated_text: bool = False

    def addressed(self, text: str, handle: str | None) -> str:
        """``text`` as sent to the author whose handle is ``handle`` (unchanged when the network
        does not address authors, the handle is unknown, or the text already names it)."""
        if not self.reply_address or not handle:
            return text
        prefix = self.reply_address.format(handle=handle)
        if text.casefold().startswith(prefix.strip().casefold()):
            return text
        return prefix + text

    def address_room(self) -> int:
        """Characters the longest handle's address adds to a reply."""
        if not self.reply_address:
            return 0
        return len(self.reply_address.format(handle="_" * self.handle_max))


@dataclass(frozen=True)
class IncomingMessage:
    """One message from the community, as the adapter read it.

    ``remote_id`` is unique per channel (the ledger's dedup key). ``thread_remote_id`` groups a
    conversation (the post commented on, the X conversation id, the live chat id);
    ``parent_remote_id`` is what it answers directly; ``post_remote_id`` is our published post
    it belongs to, when known (the ledger links it to the delivery). ``created_at`` is aware UTC.
    ``from_us``: written by our own account (our earlier replies, seen again on sync).
    ``author_name`` is what people read (a display name); ``author_handle`` what the network
    addresses them by, when it has one (X's ``username``: a reply starts ``@username``).
    """

    remote_id: str
    kind: MessageKind
    author_id: str
    author_name: str
    text: str
    created_at: datetime
    thread_remote_id: str
    parent_remote_id: str | None = None
    post_remote_id: str | None = None
    url: str | None = None
    language: str | None = None  # as the network says it (X `lang`), else None
    from_us: bool = False
    source: str = "comments"  # which of ConversationFacts.sources it came from
    author_handle: str | None = None  # the @username, where the network has one (X)


@dataclass(frozen=True)
class ConversationQuery:
    """One read of one source since a cursor.

    ``cursor`` is what the previous page returned for this (channel, source) (``None``: from
    the start, bounded by ``since``). ``post_remote_ids`` are our published posts whose comments
    to read (Facebook, LinkedIn, YouTube video comments, X conversations); ``live_chat_id`` the
    chat of a session on air.
    """

    source: str
    cursor: str | None = None
    since: datetime | None = None
    post_remote_ids: tuple[str, ...] = ()
    live_chat_id: str | None = None
    max_items: int = 100


@dataclass(frozen=True)
class ConversationPage:
    """What one read returned: messages (oldest first), the cursor to store, what it cost.

    ``cursor`` is stored only once the messages are in the ledger, so a crash re-reads the same
    page (the ledger's unique key makes that harmless). ``more``: call again now for the next
    page. ``items_read`` counts what the network bills (X: every post returned); ``units`` the
    quota units spent; ``poll_after``: the network asked to wait this long (live chat).
    """

    messages: tuple[IncomingMessage, ...]
    cursor: str | None
    more: bool = False
    items_read: int = 0
    units: int = 0
    poll_after: timedelta | None = None


@dataclass(frozen=True)
class ReplyRequest:
    """An answer to one message. ``idempotency_key`` is ``"reply-<id>"`` from the ledger."""

    text: str
    message_remote_id: str
    message_kind: MessageKind
    thread_remote_id: str
    idempotency_key: str = ""
    live_chat_id: str | None = None


@dataclass(frozen=True)
class ReplyResult:
    remote_id: str
    url: str | None = None
    units: int = 0
