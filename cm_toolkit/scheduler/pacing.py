"""Pacing: keep posts on one account apart, and each network under its limits.

A backlog (after downtime, or many posts due at once) never bursts out: two posts on one
account are at least ``spacing`` apart, and each network's budget (its adapter's ``budget``,
e.g. X: 100 posts per 15 minutes per account) is kept by the publisher instead of being
discovered through 429 answers. A network whose adapter declares no budget is only spaced. The pacer answers "not before T" and the alarm is moved to T;
no state changes.

The pacer is per process and in memory; it is seeded from the ledger's recent sends at start, so
a restart keeps the spacing. A PostgreSQL cluster (several ``cm run`` workers on one ledger)
uses ``global_pacing.PostgresPacer`` instead: the same interface (``Pacing``), counted in the
database so that spacing and budgets hold across the workers.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from cm_toolkit.channels.facts import Budget
from cm_toolkit.errors import CmError
from cm_toolkit.workspace.models import Network


@cache
def network_budget(network: str) -> Budget | None:
    """The budget the adapter of ``network`` declares (built-in or plugin); None when it
    declares none or the network has no adapter here (the send then fails on its own)."""
    from cm_toolkit.channels.registry import channel_class

    try:
        return channel_class(network).budget
    except CmError:
        return None


class Budgets:
    """The budget of each network: ``overrides`` when given (tests, benches), else the
    adapters' own (``network_budget``)."""

    def __init__(self, overrides: Mapping[str, Budget] | None = None) -> None:
        self.overrides = None if overrides is None else dict(overrides)

    def get(self, network: str) -> Budget | None:
        if self.overrides is not None:
            return self.overrides.get(network)
        return network_budget(network)


class Pacing(Protocol):
    """What the publisher asks of a pacer (in memory: ``Pacer``; in PostgreSQL:
    ``global_pacing.PostgresPacer``)."""

    def reserve(self, channel_id: str, network: Network, now: datetime,
                key: int | None = None) -> datetime | None: ...

    def release(self, channel_id: str, at: datetime, key: int | None = None) -> None: ...

    def before_send(self, channel_id: str, network: Network, now: datetime,
                    key: int | None = None) -> datetime | None: ...

    def sent(self, channel_id: str, at: datetime, key: int | None = None) -> None: ...


TOLERANCE = timedelta(milliseconds=250)
"""How early ``reserve`` may grant a send (at most a quarter of the spacing): the publisher
then holds the request that long at most, instead of setting another alarm."""


class Pacer:
    def __init__(
        self,
        spacing: timedelta,
        budgets: Mapping[str, Budget] | None = None,
        spacing_per_channel: dict[str, timedelta] | None = None,
    ) -> None:
        self.spacing = spacing
        self.spacing_per_channel = spacing_per_channel or {}
        self.budgets = Budgets(budgets)  # None: each adapter's ``budget``
        self._sends: dict[str, deque[datetime]] = defaultdict(deque)
        self._slots: dict[str, dict[int | None, datetime]] = defaultdict(dict)  # waits given
        self._done: dict[str, deque[datetime]] = defaultdict(deque)  # requests ended
        self._lock = threading.Lock()

    def seed(self, channel_id: str, sent_at: list[datetime]) -> None:
        """Sends already made (from the ledger), oldest first."""
        with self._lock:
            self._sends[channel_id].extend(sorted(sent_at))
            self._done[channel_id].extend(sorted(sent_at))

    def _rules(self, channel_id: str, network: Network) -> tuple[timedelta, Budget | None]:
        return self.spacing_per_channel.get(channel_id, self.spacing), self.budgets.get(network)

    @staticmethod
    def _earliest(
        times: Sequence[datetime], spacing: timedelta, budget: Budget | None, floor: datetime
    ) -> datetime:
        """The first instant from ``floor`` on at which one more send fits after ``times``."""
        earliest = floor
        if times:
            earliest = max(earliest, times[-1] + spacing)
        if budget is not None and len(times) >= budget.usable:
            earliest = max(earliest, times[-budget.usable] + budget.window)
        return earliest

    @staticmethod
    def _forget_old(times: deque[datetime], budget: Budget | None, now: datetime) -> None:
        # keep the last one whatever its age: spacing is measured from it
        horizon = budget.window if budget is not None else timedelta(0)
        while len(times) > 1 and times[0] <= now - horizon:
            times.popleft()

    def reserve(
        self, channel_id: str, network: Network, now: datetime, key: int | None = None
    ) -> datetime | None:
        """Reserve a send on ``channel_id`` now; or the instant to come back.

        Returns None when the send may go now (and records it), else the instant to wait for.
        ``key`` (the delivery id) keeps a waiting delivery's place: deliveries told to wait
        get successive slots, not all the same instant, so a backlog of k posts on one account
        wakes about k times instead of k*(k+1)/2; one that comes back a little too early for
        its slot keeps its place instead of going to the end of the queue. A send up to
        ``tolerance`` early is granted: ``before_send`` holds the request the last moment.
        """
        with self._lock:
            spacing, budget = self._rules(channel_id, network)
            sends, done = self._sends[channel_id], self._done[channel_id]
            self._forget_old(sends, budget, now)
            self._forget_old(done, budget, now)
            earliest = max(self._earliest(sends, spacing, budget, now),
                           self._earliest(done, spacing, budget, now))
            slots = self._slots[channel_id]
            if earliest <= now + min(spacing / 4, TOLERANCE):
                sends.append(earliest)
                slots.pop(key, None)
                return None
            for old in [k for k, at in slots.items() if at < now - timedelta(minutes=10)]:
                del slots[old]  # cancelled or taken by another process meanwhile
            if key not in slots:  # a newcomer queues after the slots already handed out
                earliest = self._earliest([*sends, *sorted(slots.values())], spacing, budget,
                                          earliest)
            slots[key] = earliest
            return earliest

    def release(self, channel_id: str, at: datetime, key: int | None = None) -> None:
        """Forget a reservation made at ``at`` that did not lead to a send (claim lost)."""
        with self._lock:
            sends = self._sends[channel_id]
            # it was recorded at its granted instant, ``at`` or up to the tolerance later
            for index in range(len(sends) - 1, -1, -1):
                if sends[index] >= at:
                    del sends[index]
                    return

    def before_send(self, channel_id: str, network: Network, now: datetime,
                    key: int | None = None) -> datetime | None:
        """None when a request may leave now; else the instant to ask again (a short wait).

        ``reserve`` grants a send at the instant the publisher asked, but the request leaves
        after the claim, which can wait for the database under load: two posts granted
        ``spacing`` apart could leave closer than that. Called with the channel held (sends on
        one channel are serial), this checks spacing and budget against the previous requests'
        *completion* instants (``sent``), so they hold where the network counts them.
        """
        with self._lock:
            spacing, budget = self._rules(channel_id, network)
            done = self._done[channel_id]
            self._forget_old(done, budget, now)
            earliest = self._earliest(done, spacing, budget, now)
            return earliest if earliest > now else None

    def sent(self, channel_id: str, at: datetime, key: int | None = None) -> None:
        """A request on ``channel_id`` ended (answered or not) at ``at``."""
        with self._lock:
            self._done[channel_id].append(at)
