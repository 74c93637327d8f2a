"""The ledger's tables (SQLAlchemy 2 typed ORM). Described for users in docs/ledger.md.

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
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cm_toolkit.ledger.states import DeliveryState, EventKind
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
    network: Mapped[Network] = mapped_column(enum_column(Network))
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
    network: Mapped[Network] = mapped_column(enum_column(Network))
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
    network: Mapped[Network] = mapped_column(enum_column(Network))
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
