"""Live sessions in the ledger: the broadcast / calendar event of each host, and its link.

A session's announcements carry its links: each comes from the host created by the session's
live-setup delivery on that channel (``session.link`` prefers a public host's link, YouTube's watch
page, to a Meet room when a session has both: ``templates.delivery.primary_link``).
"""

from __future__ import annotations

from datetime import datetime

from cm_toolkit.channels.base import LiveSessionResult
from cm_toolkit.ledger import live_hosts
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
        by_network: dict[str, str] = {}
        # first created first, for two hosts on one network
        for _session, network, link in live_hosts.host_links(self.ledger, session_id):
            by_network.setdefault(network, link)
        return {session_id: by_network} if by_network else {}

    def all_links(self) -> dict[str, dict[str, str]]:
        """{session_id: {network: link}} of every session with a created host."""
        links: dict[str, dict[str, str]] = {}
        for session_id, network, link in live_hosts.host_links(self.ledger):
            links.setdefault(session_id, {}).setdefault(network, link)
        return links

    def setup_states(self, session_id: str) -> dict[str, DeliveryState]:
        """{host channel id: state of the session's live-setup delivery on it}."""
        return live_hosts.setup_states(self.ledger, session_id)

    def announcement_states(self, session_id: str) -> dict[DeliveryState, int]:
        """How many of the session's reminders are in each state."""
        return live_hosts.announcement_states(self.ledger, session_id)

    def record_host(
        self, planned: PlannedDelivery, result: LiveSessionResult, now: datetime
    ) -> None:
        assert planned.session_id is not None
        live_hosts.record_host(self.ledger, session_id=planned.session_id,
                               channel_id=planned.channel_id, network=planned.network,
                               remote_id=result.remote_id, url=result.url,
                               details=result.extra, now=now)
