"""Live sessions' hosts in the ledger: the broadcast / calendar event created on each channel
for a session (``live_session_hosts``), and the states of the session's deliveries.
``scheduler/live.py`` builds announcements' links from these."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from cm_toolkit.ledger.models import Delivery, LiveSessionHost
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.workspace.models import Network


def host_links(ledger: Ledger, session_id: str | None = None) -> list[tuple[str, Network, str]]:
    """(session id, network, link) of every created host (of ``session_id`` only, when given),
    first created first."""
    query = select(LiveSessionHost).where(LiveSessionHost.remote_url.is_not(None))
    if session_id is not None:
        query = query.where(LiveSessionHost.session_id == session_id)
    with ledger.reading() as session:
        hosts = session.scalars(query.order_by(LiveSessionHost.id)).all()
    return [(host.session_id, host.network, host.remote_url) for host in hosts
            if host.remote_url]


def setup_states(ledger: Ledger, session_id: str) -> dict[str, DeliveryState]:
    """{host channel id: state of the session's live-setup delivery on it}."""
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.channel_id, Delivery.state).where(
                Delivery.post_key == f"{session_id}/live")
        ).all()
    return {channel_id: state for channel_id, state in rows}


def announcement_states(ledger: Ledger, session_id: str) -> dict[DeliveryState, int]:
    """How many of the session's reminders are in each state."""
    with ledger.reading() as session:
        rows = session.execute(
            select(Delivery.state, func.count()).where(
                Delivery.post_key.startswith(f"{session_id}/announce/"))
            .group_by(Delivery.state)
        ).all()
    return {state: count for state, count in rows}


def record_host(ledger: Ledger, *, session_id: str, channel_id: str, network: Network,
                remote_id: str, url: str | None, details: Mapping[str, Any],
                now: datetime) -> None:
    """The host a live-setup delivery created (or created again) for its session."""
    with ledger.writing() as session:
        host = session.scalars(
            select(LiveSessionHost).where(
                LiveSessionHost.session_id == session_id,
                LiveSessionHost.channel_id == channel_id,
            )
        ).one_or_none()
        if host is None:
            host = LiveSessionHost(session_id=session_id, channel_id=channel_id, network=network,
                                   created_at=now)
            session.add(host)
        host.remote_id = remote_id
        host.remote_url = url
        host.details = dict(details)
        host.remote_created_at = now
        host.updated_at = now
