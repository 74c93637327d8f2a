"""Live sessions in the ledger: the broadcast / calendar event of each host, and its link.

A session's announcements carry its link; the link comes from the host created by the
session's live-setup delivery (YouTube's watch page is preferred to the Meet link when a
session has both).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cm_toolkit.channels.base import LiveSessionResult
from cm_toolkit.ledger.models import LiveSessionHost
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.workspace.models import Network

LINK_PREFERENCE = (Network.YOUTUBE, Network.MEET)


class LiveSessions:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def links_for(self, session_id: str | None) -> dict[str, str]:
        """{session_id: link} when the session has a created host, else {}."""
        if session_id is None:
            return {}
        with self.ledger.reading() as session:
            hosts = session.scalars(
                select(LiveSessionHost).where(
                    LiveSessionHost.session_id == session_id,
                    LiveSessionHost.remote_url.is_not(None),
                )
            ).all()
        by_network = {host.network: host.remote_url for host in hosts if host.remote_url}
        for network in LINK_PREFERENCE:
            if network in by_network:
                return {session_id: by_network[network]}
        return {}

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
