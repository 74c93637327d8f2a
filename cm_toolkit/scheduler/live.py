"""Live sessions in the ledger: the broadcast / calendar event of each host, and its link.

A session's announcements carry its links: each comes from the host created by the session's
live-setup delivery on that channel (``session.link`` prefers a public host's link, YouTube's watch
page, to a Meet room when a session has both: ``templates.delivery.primary_link``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from cm_toolkit.channels.base import LiveSessionResult
from cm_toolkit.ledger.models import Delivery, LiveSessionHost
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.planning.models import PlannedDelivery


class LiveSessions:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def links_for(self, session_id: str | None) -> dict[str, dict[str, str]]:
        """{session_id: {network: link}} when the session has a created host, else {}."""
        if session_id is None:
            return {}
        with self.ledger.reading() as session:
            hosts = session.scalars(
                select(LiveSessionHost).where(
                    LiveSessionHost.session_id == session_id,
                    LiveSessionHost.remote_url.is_not(None),
                )
            ).all()
        by_network: dict[str, str] = {}
        for host in sorted(hosts, key=lambda h: h.id):  # first created first, for two of a kind
            if host.remote_url:
                by_network.setdefault(host.network, host.remote_url)
        return {session_id: by_network} if by_network else {}

    def all_links(self) -> dict[str, dict[str, str]]:
        """{session_id: {network: link}} of every session with a created host."""
        with self.ledger.reading() as session:
            hosts = session.scalars(
                select(LiveSessionHost).where(LiveSessionHost.remote_url.is_not(None))
                .order_by(LiveSessionHost.id)
            ).all()
        links: dict[str, dict[str, str]] = {}
        for host in hosts:
            if host.remote_url:
                links.setdefault(host.session_id, {}).setdefault(host.network,
                                                                 host.remote_url)
        return links

    def setup_states(self, session_id: str) -> dict[str, DeliveryState]:
        """{host channel id: state of the session's live-setup delivery on it}."""
        with self.ledger.reading() as session:
            rows = session.execute(
                select(Delivery.channel_id, Delivery.state).where(
                    Delivery.post_key == f"{session_id}/live")
            ).all()
        return {channel_id: state for channel_id, state in rows}

    def announcement_states(self, session_id: str) -> dict[DeliveryState, int]:
        """How many of the session's reminders are in each state."""
        with self.ledger.reading() as session:
            rows = session.execute(
                select(Delivery.state, func.count()).where(
                    Delivery.post_key.startswith(f"{session_id}/announce/"))
                .group_by(Delivery.state)
            ).all()
        return {state: count for state, count in rows}

    def record_host(
        self, planned: PlannedDelivery, result: LiveSessionResult, now: datetime
    ) -> None:
        assert planned.session_id is not None
        with self.ledger.writing() as session:
            host = session.scalars(
                select(LiveSessionHost).where(
                    LiveSessionHost.session_id == planned.session_id,
                    LiveSessionHost.channel_id == planned.channel_id,
                )
            ).one_or_none()
            if host is None:
                host = LiveSessionHost(
                    session_id=planned.session_id,
                    channel_id=planned.channel_id,
                    network=planned.network,
                    created_at=now,
                )
                session.add(host)
            host.remote_id = result.remote_id
            host.remote_url = result.url
            host.details = dict(result.extra)
            host.remote_created_at = now
            host.updated_at = now
