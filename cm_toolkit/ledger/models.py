"""The ledger's tables (SQLAlchemy 2 typed ORM). Described for users in docs/ledger.md.

Two halves: what we say (campaigns, posts, deliveries, live sessions, growth) and what the
community says back (the inbox: conversations, messages, replies, cursors, reads).

Every time column is ``UtcDateTime`` (aware UTC in and out). Enums are stored as their
lowercase names in plain VARCHAR columns (no native enum type: adding a state is then a code
change, not a schema migration). The migrations in ``migrations/versions`` must produce exactly
this metadata; ``tests/ledger/test_migrations.py`` compares them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cm_toolkit.ledger.states import DeliveryState, EventKind, InboxEventKind, MessageState
from cm_toolkit.ledger.utc import UtcDateTime
from cm_toolkit.planning.models import DeliveryKind
from cm_toolkit.workspace.models import Network

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def enum_column(enum_class: type[enum.Enum], length: int = 32) -> Enum:
    """A VARCHAR holding the enum's value (its lowercase name); no CHECK, no native type."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    start: Mapped[datetime | None]
    in_workspace: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LiveSession(Base):
    __tablename__ = "live_sessions"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    start: Mapped[datetime]
    duration_seconds: Mapped[int] = mapped_column(Integer)
    in_workspace: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LiveSessionHost(Base):
    """One host channel of a live session; remote id and links once the event is created."""

    __tablename__ = "live_session_hosts"
    __table_args__ = (UniqueConstraint("session_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("live_sessions.id"))
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    remote_id: Mapped[str | None] = mapped_column(String(300))
    remote_url: Mapped[str | None] = mapped_column(String(2000))  # watch page / Meet link
    details: Mapped[dict[str, Any] | None]  # e.g. stream ids, calendar event link
    remote_created_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Post(Base):
    """A content item: a post, one announcement step, or a session's live setup."""

    __tablename__ = "posts"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    kind: Mapped[DeliveryKind] = mapped_column(enum_column(DeliveryKind))
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    post_id: Mapped[str | None] = mapped_column(String(200))
    session_id: Mapped[str | None] = mapped_column(String(200))
    template: Mapped[str | None] = mapped_column(String(300))
    in_workspace: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Delivery(Base):
    """One (item, channel, occurrence) and its state. ``version`` grows at every change."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("post_key", "channel_id", "occurrence"),
        Index("ix_deliveries_state_due_at", "state", "due_at"),
        # a channel's published posts (growth reports, dashboard, engagement refresh): 0002
        Index("ix_deliveries_channel_id_state_updated_at", "channel_id", "state", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_key: Mapped[str] = mapped_column(ForeignKey("posts.key"))
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    occurrence: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    remote_id: Mapped[str | None] = mapped_column(String(300))
    remote_url: Mapped[str | None] = mapped_column(String(2000))
    last_error: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rendered_text: Mapped[str | None] = mapped_column(Text)
    grace_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    # A person cancelled it (``cm cancel``): apply must not bring it back while it is held.
    held: Mapped[bool] = mapped_column(Boolean, default=False)


class FollowerSnapshot(Base):
    __tablename__ = "follower_snapshots"
    __table_args__ = (UniqueConstraint("channel_id", "taken_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    taken_at: Mapped[datetime]
    followers: Mapped[int] = mapped_column(Integer)


class Engagement(Base):
    """Counters of one published delivery at one instant (``None``: the network has no such)."""

    __tablename__ = "engagement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    reactions: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    shares: Mapped[int | None] = mapped_column(Integer)
    views: Mapped[int | None] = mapped_column(Integer)
    measured_at: Mapped[datetime]


class Event(Base):
    """The journal: one row per state change or plan change, never updated."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind))
    from_state: Mapped[DeliveryState | None] = mapped_column(enum_column(DeliveryState))
    to_state: Mapped[DeliveryState | None] = mapped_column(enum_column(DeliveryState))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ---------------------------------------------------------------------------------------------
# The inbox (docs/inbox.md): what the community says, and our answers.


class Conversation(Base):
    """A thread on one channel: the post commented on, an X conversation, a live chat."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("channel_id", "thread_remote_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    thread_remote_id: Mapped[str] = mapped_column(String(300))
    # our published post the thread belongs to, when the ledger knows it
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    session_id: Mapped[str | None] = mapped_column(String(200))  # a live session's chat
    last_message_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InboxMessage(Base):
    """One message from the community (or from us, seen again on sync: ``from_us``).

    ``(channel_id, remote_id)`` is unique: a sync run twice stores nothing twice. ``version``
    grows at every change (compare-and-set for state changes and auto answers).
    """

    __tablename__ = "inbox_messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "remote_id"),
        Index("ix_inbox_messages_state_received_at", "state", "received_at"),
        # the dashboard's Inbox page filtered by channel or network (one range per state)
        Index("ix_inbox_messages_channel_id_state_received_at", "channel_id", "state",
              "received_at"),
        Index("ix_inbox_messages_network_state_received_at", "network", "state", "received_at"),
        Index("ix_inbox_messages_conversation_id", "conversation_id"),
        Index("ix_inbox_messages_author_id", "author_id"),
        # the interactivity metrics read index ranges only (migration 0004)
        Index("ix_inbox_messages_metrics", "from_us", "network", "received_at", "state",
              "is_question", "auto_answered", "first_answered_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    remote_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # channels.base.MessageKind value
    source: Mapped[str] = mapped_column(String(32))  # the adapter source it was read from
    parent_remote_id: Mapped[str | None] = mapped_column(String(300))
    author_id: Mapped[str | None] = mapped_column(String(300))  # None once purged
    author_name: Mapped[str | None] = mapped_column(String(300))
    # the @username where the network has one (X): replies address their author with it
    author_handle: Mapped[str | None] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)  # None once purged
    language: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2000))
    is_question: Mapped[bool] = mapped_column(Boolean, default=False)
    from_us: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime]  # when the network says it was written
    synced_at: Mapped[datetime]
    state: Mapped[MessageState] = mapped_column(enum_column(MessageState))
    assignee: Mapped[str | None] = mapped_column(String(200))
    first_answered_at: Mapped[datetime | None]
    auto_answered: Mapped[bool] = mapped_column(Boolean, default=False)
    suggestions: Mapped[dict[str, Any] | None]  # {"faq": [[id, score], ...]} at sync time
    purged_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class InboxReply(Base):
    """Our answer to one message: sent exactly like a post (``DeliveryState``, one claim).

    ``planned -> sending -> published | retry_wait | failed | unknown``; ``unknown`` is never
    sent again automatically (``cm review`` shows it). ``rendered_text`` is the text as sent.
    """

    __tablename__ = "inbox_replies"
    __table_args__ = (Index("ix_inbox_replies_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_messages.id"), index=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState))
    rendered_text: Mapped[str] = mapped_column(Text)
    faq_id: Mapped[str | None] = mapped_column(String(200))
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str | None] = mapped_column(String(200))  # cli, dashboard, auto
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    remote_id: Mapped[str | None] = mapped_column(String(300))
    remote_url: Mapped[str | None] = mapped_column(String(2000))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class InboxCursor(Base):
    """Where the last sync of one (channel, source) stopped; stored after its messages."""

    __tablename__ = "inbox_cursors"
    __table_args__ = (UniqueConstraint("channel_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    cursor: Mapped[str | None] = mapped_column(String(2000))
    last_sync_at: Mapped[datetime | None]
    next_sync_at: Mapped[datetime | None]  # a network's polling interval (live chat)
    updated_at: Mapped[datetime]


class InboxRead(Base):
    """One read call's cost: items the network bills (X), quota units (YouTube)."""

    __tablename__ = "inbox_reads"
    __table_args__ = (Index("ix_inbox_reads_channel_id_at", "channel_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    network: Mapped[Network] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    items: Mapped[int] = mapped_column(Integer, default=0)
    units: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)


class InboxEvent(Base):
    """The inbox's journal: one row per change of a message or a reply, never updated."""

    __tablename__ = "inbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    message_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_messages.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_replies.id"))
    kind: Mapped[InboxEventKind] = mapped_column(enum_column(InboxEventKind))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# ---------------------------------------------------------------------------------------------
# Scale-out on PostgreSQL (docs/scaleout.md): the workers of the cluster, and global pacing.


class WorkerRecord(Base):
    """One ``cm run`` worker process of a PostgreSQL cluster; its heartbeat (``cm status``).

    Written by the worker itself every few seconds; a row whose ``last_seen_at`` is old is a
    worker that died (kept for a day so that ``cm status`` can name who sent what)."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the worker id (claimed_by)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    in_flight: Mapped[int] = mapped_column(Integer, default=0)  # deliveries it is sending now
    leader: Mapped[bool] = mapped_column(Boolean, default=False)  # it plans (one at a time)
    stopped_at: Mapped[datetime | None]


class PacingSlot(Base):
    """One send granted (``granted``) or one place in the queue held for a delivery, on one
    account: spacing and budgets counted across every worker (``scheduler/global_pacing.py``)."""

    __tablename__ = "pacing_slots"
    __table_args__ = (Index("ix_pacing_slots_channel_id_at", "channel_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(200))
    delivery_id: Mapped[int | None] = mapped_column(Integer)
    # the delivery's attempts when the slot was given: a grant whose delivery has made no
    # attempt since (its worker died before claiming, or the claim was given back) sent nothing
    attempt: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime]
    granted: Mapped[bool] = mapped_column(Boolean, default=False)
    # a granted send's request left at ``left_at`` and was answered (or failed) at ``done_at``:
    # the next request on the account waits for that answer plus the spacing (0006)
    left_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
