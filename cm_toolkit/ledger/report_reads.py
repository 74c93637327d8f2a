"""What the activity report, the dashboard and the demo read of deliveries, live sessions and
engagement (``growth/activity.py``, ``growth/engagement.py``, ``growth/context.py``,
``web/views.py``, ``demo.py``, ``cm demo``): named queries, so that SQL on the ledger's
tables lives in ``ledger/`` only. Follower snapshots are read in ``snapshot_reads.py``, the
inbox's metrics in ``interactivity_reads.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, and_, func, select
from sqlalchemy.orm import aliased

from cm_toolkit.ledger.models import (
    Campaign,
    Delivery,
    Engagement,
    Event,
    FollowerSnapshot,
    InboxReply,
    LiveSession,
    LiveSessionHost,
    Post,
)
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.planning.models import DeliveryKind


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery (detached) with its post's kind and campaign."""

    delivery: Delivery
    kind: DeliveryKind
    campaign_id: str


def deliveries_due(
    ledger: Ledger, *, since: datetime | None = None, until: datetime | None = None,
    states: tuple[DeliveryState, ...] | None = None, limit: int | None = None,
) -> list[DeliveryRow]:
    """Deliveries due in ``[since, until]`` (by due time), oldest first."""
    statement = (select(Delivery, Post.kind, Post.campaign_id)
                 .join(Post, Post.key == Delivery.post_key)
                 .order_by(Delivery.due_at, Delivery.id))
    if since is not None:
        statement = statement.where(Delivery.due_at >= since)
    if until is not None:
        statement = statement.where(Delivery.due_at <= until)
    if states is not None:
        statement = statement.where(Delivery.state.in_(states))
    if limit is not None:
        statement = statement.limit(limit)
    with ledger.reading() as session:
        rows = session.execute(statement).all()
    return [DeliveryRow(d, kind, campaign) for d, kind, campaign in rows]


def live_sessions(
    ledger: Ledger, *, since: datetime | None = None, until: datetime | None = None,
    limit: int | None = None,
) -> list[tuple[LiveSession, list[LiveSessionHost]]]:
    """Live sessions starting in ``[since, until]`` (oldest first), each with its hosts (by
    channel id). Two statements, whatever the number of sessions."""
    statement = select(LiveSession).order_by(LiveSession.start, LiveSession.id)
    if since is not None:
        statement = statement.where(LiveSession.start >= since)
    if until is not None:
        statement = statement.where(LiveSession.start <= until)
    if limit is not None:
        statement = statement.limit(limit)
    with ledger.reading() as session:
        sessions = list(session.scalars(statement))
        ids = [s.id for s in sessions]
        hosts = list(session.scalars(select(LiveSessionHost)
                                     .where(LiveSessionHost.session_id.in_(ids))
                                     .order_by(LiveSessionHost.channel_id))) if ids else []
    by_session: dict[str, list[LiveSessionHost]] = {}
    for host in hosts:
        by_session.setdefault(host.session_id, []).append(host)
    return [(s, by_session.get(s.id, [])) for s in sessions]


def _followers_at(channel: Any, moment: Any, after: bool) -> ScalarSelect[int]:
    snap = aliased(FollowerSnapshot)
    when = snap.taken_at >= moment if after else snap.taken_at <= moment
    order = snap.taken_at.asc() if after else snap.taken_at.desc()
    return (select(snap.followers).where(and_(snap.channel_id == channel, when))
            .order_by(order).limit(1).scalar_subquery())


@dataclass(frozen=True)
class PublishedRow:
    """A published delivery (detached), its latest engagement measure (None: never measured)
    and the channel's followers at publication (the last snapshot before, else the first
    after; None: no snapshot)."""

    delivery: Delivery
    engagement: Engagement | None
    followers: int | None


def published_with_engagement(
    ledger: Ledger, *, since: datetime | None = None, until: datetime | None = None,
    channel_id: str | None = None,
) -> list[PublishedRow]:
    """Published deliveries (publication time in ``[since, until]``), newest first."""
    measure = aliased(Engagement)
    newer = aliased(Engagement)
    latest = (select(func.max(newer.id)).where(newer.delivery_id == Delivery.id)
              .correlate(Delivery).scalar_subquery())
    published_at = Delivery.updated_at  # ``published`` is final: its last change is publication
    before = _followers_at(Delivery.channel_id, published_at, after=False)
    after = _followers_at(Delivery.channel_id, published_at, after=True)
    statement = (
        select(Delivery, measure, func.coalesce(before, after))
        .outerjoin(measure, and_(measure.delivery_id == Delivery.id, measure.id == latest))
        .where(Delivery.state == DeliveryState.PUBLISHED)
        .order_by(published_at.desc(), Delivery.id)
    )
    if since is not None:
        statement = statement.where(published_at >= since)
    if until is not None:
        statement = statement.where(published_at <= until)
    if channel_id is not None:
        statement = statement.where(Delivery.channel_id == channel_id)
    with ledger.reading() as session:
        return [PublishedRow(delivery, engagement, followers)
                for delivery, engagement, followers in session.execute(statement)]


def earliest_campaign_start(ledger: Ledger) -> datetime | None:
    with ledger.reading() as session:
        return session.scalar(select(func.min(Campaign.start)))


def earliest_due(ledger: Ledger) -> datetime | None:
    with ledger.reading() as session:
        return session.scalar(select(func.min(Delivery.due_at)))


def change_stamp(ledger: Ledger) -> tuple[int | None, ...]:
    """The newest snapshot, event and engagement ids: it changes whenever the ledger does in a
    way the growth pages show (each is an index seek: cheap enough for every request)."""
    with ledger.reading() as session:
        return tuple(session.scalar(select(func.max(model.id)))
                     for model in (FollowerSnapshot, Event, Engagement))


def state_counts(ledger: Ledger) -> dict[tuple[str, str], int]:
    """(network, state) -> number of deliveries."""
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.network, Delivery.state, func.count()).group_by(
                Delivery.network, Delivery.state
            )
        ).all()
    return {(network, state.value): count for network, state, count in rows}


def auto_reply_counts(ledger: Ledger) -> dict[DeliveryState, int]:
    """State -> number of the inbox's FAQ auto answers."""
    with ledger.engine.connect() as connection:
        return {state: int(count) for state, count in connection.execute(
            select(InboxReply.state, func.count()).where(InboxReply.auto.is_(True))
            .group_by(InboxReply.state))}


def published_keys(
    ledger: Ledger, post_keys: Sequence[str], batch: int,
) -> set[tuple[str, str, int]]:
    """(post key, channel id, occurrence) of the published deliveries of ``post_keys``, asked
    ``batch`` keys a statement (SQLite's bound-parameter limit)."""
    keys = sorted(post_keys)
    found: set[tuple[str, str, int]] = set()
    with ledger.reading() as session:
        for start in range(0, len(keys), batch):
            rows = session.execute(
                select(Delivery.post_key, Delivery.channel_id, Delivery.occurrence)
                .where(Delivery.post_key.in_(keys[start:start + batch]),
                       Delivery.state == DeliveryState.PUBLISHED))
            found.update((key, channel, occurrence) for key, channel, occurrence in rows)
    return found
