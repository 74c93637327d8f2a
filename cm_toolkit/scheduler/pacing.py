"""Pacing: keep posts on one account apart, and each network under its limits.

A backlog (after downtime, or many posts due at once) never bursts out: two posts on one
account are at least ``spacing`` apart, and each network's budget (X: 100 posts per 15 minutes
per account; YouTube: 10,000 quota units a day) is kept by the publisher instead of being
discovered through 429 answers. The pacer answers "not before T" and the alarm is moved to T;
no state changes.

The pacer is per process and in memory; it is seeded from the ledger's recent sends at start, so
a restart keeps the spacing. Several processes on one ledger (Celery workers) share the
compare-and-set claim, which prevents doubles; spacing across them is best effort.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from cm_toolkit.workspace.models import Network


@dataclass(frozen=True)
class Budget:
    """At most ``limit`` sends per ``window`` per account, kept with ``margin`` to spare."""

    limit: int
    window: timedelta
    margin: int = 0

    @property
    def usable(self) -> int:
        return max(1, self.limit - self.margin)


# Publishing calls only (reads are few). Numbers from API_FACTS.md; see docs/scheduler.md.
DEFAULT_BUDGETS: dict[Network, Budget] = {
    Network.X: Budget(100, timedelta(minutes=15), margin=5),
    Network.FACEBOOK: Budget(200, timedelta(hours=1), margin=10),
    Network.LINKEDIN: Budget(150, timedelta(days=1), margin=10),
    # YouTube: 10,000 units a day, 50 per insert/bind/transition; a live setup costs ~150.
    Network.YOUTUBE: Budget(60, timedelta(days=1), margin=4),
}


class Pacer:
    def __init__(
        self,
        spacing: timedelta,
        budgets: dict[Network, Budget] | None = None,
        spacing_per_channel: dict[str, timedelta] | None = None,
    ) -> None:
        self.spacing = spacing
        self.spacing_per_channel = spacing_per_channel or {}
        self.budgets = DEFAULT_BUDGETS if budgets is None else budgets
        self._sends: dict[str, deque[datetime]] = defaultdict(deque)
        self._reserved: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def seed(self, channel_id: str, sent_at: list[datetime]) -> None:
        """Sends already made (from the ledger), oldest first."""
        with self._lock:
            self._sends[channel_id].extend(sorted(sent_at))

    def reserve(self, channel_id: str, network: Network, now: datetime) -> datetime | None:
        """Reserve a send on ``channel_id`` now; or the earliest instant it would be allowed.

        Returns None when the send may go now (and records it), else the instant to wait for.
        """
        with self._lock:
            sends = self._sends[channel_id]
            earliest = now
            spacing = self.spacing_per_channel.get(channel_id, self.spacing)
            if sends:
                earliest = max(earliest, sends[-1] + spacing)
            budget = self.budgets.get(network)
            if budget is not None:
                while sends and sends[0] <= now - budget.window:
                    sends.popleft()
                if len(sends) >= budget.usable:
                    earliest = max(earliest, sends[-budget.usable] + budget.window)
            if earliest > now:
                return earliest
            sends.append(now)
            return None

    def release(self, channel_id: str, at: datetime) -> None:
        """Forget a reservation that did not lead to a send (claim lost, render failed)."""
        with self._lock:
            sends = self._sends[channel_id]
            try:
                sends.remove(at)
            except ValueError:
                pass
