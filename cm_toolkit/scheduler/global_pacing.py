"""Pacing held in PostgreSQL: spacing per account and budgets per network, across all workers.

The budgets are the adapters' (``Channel.budget``), as for the in-memory pacer.

The in-memory ``Pacer`` (``scheduler/pacing.py``) counts the sends of one process. In a cluster
several processes publish on one account, so the count lives in the ledger's ``pacing_slots``
table (its statements: ``ledger/pacing_slots.py``): one row per send granted, and one per place
in the queue handed to a delivery told to wait. ``reserve`` reads and writes one account's rows
under a transaction-level advisory lock on that account (two workers asking at once are served
one after the other), so:

- two sends on one account are granted at least ``spacing`` apart, and never more than the
  budget in any window, whichever workers send them;
- a delivery told to wait gets the next free place (successive slots, not all the same instant:
  a backlog of k posts on one account wakes about k times), and keeps it when it comes back;
  one that comes back after its place (its job fetched late) is spaced from the sends granted
  meanwhile, not granted the past place at once (two workers would send together);
- a slot granted to a delivery that has made no attempt since (the ledger's ``attempts``: its
  worker was killed before the claim, or recovery gave the claim back) is freed when the
  delivery asks again: only sends that may have reached the network count.

The slot granted is the instant the request may leave: the publisher holds the request until
then on its own clock (``before_send``). The completion-based check of the in-memory pacer stays
per process (``Pacer.before_send``): it only matters while a request on the same account is
still in flight here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from cm_toolkit.ledger.pacing_slots import account_slots, delete_slot
from cm_toolkit.scheduler.pacing import TOLERANCE, Budget, Budgets, Pacer

_KEEP = timedelta(minutes=10)  # rows this much older than every rule's window are deleted


@dataclass(frozen=True)
class _Grant:
    slot_id: int
    at: datetime


class PostgresPacer:
    """``Pacer``'s interface (``reserve``, ``release``, ``before_send``, ``sent``) on the
    ``pacing_slots`` table. Only for a PostgreSQL ledger (advisory locks)."""

    def __init__(
        self,
        engine: Engine,
        spacing: timedelta,
        budgets: Mapping[str, Budget] | None = None,
        spacing_per_channel: dict[str, timedelta] | None = None,
    ) -> None:
        self.engine = engine
        self.spacing = spacing
        self.spacing_per_channel = spacing_per_channel or {}
        self.budgets = Budgets(budgets)  # None: each adapter's ``budget``
        self._granted: dict[str, _Grant] = {}  # channel -> the last slot this process was given
        self._completions = Pacer(spacing, budgets={}, spacing_per_channel=spacing_per_channel)
        self._lock = threading.Lock()

    def _rules(self, channel_id: str, network: Any) -> tuple[timedelta, Budget | None]:
        spacing = self.spacing_per_channel.get(channel_id, self.spacing)
        return spacing, self.budgets.get(network)

    def reserve(
        self, channel_id: str, network: Any, now: datetime, key: int | None = None
    ) -> datetime | None:
        """None: a send on ``channel_id`` is granted (at ``now`` or up to the tolerance later;
        ``before_send`` says when); else the instant to come back (its place is kept)."""
        spacing, budget = self._rules(channel_id, network)
        window = budget.window if budget is not None else timedelta(0)
        tolerance = min(spacing / 4, TOLERANCE)
        with account_slots(self.engine, channel_id) as slots:
            slots.forget_before(now - max(window, spacing) - _KEEP)
            attempt = None if key is None else slots.attempts_of(key)
            if key is not None and attempt is not None:
                # a slot granted to this delivery at its current attempt never led to a send
                # (its worker died before the claim, or recovery gave the claim back): free it
                slots.free_unsent(key, attempt)
            rows = slots.since(now - max(window, spacing))
            mine = next((row for row in rows if key is not None and row.delivery_id == key
                         and not row.granted), None)
            if mine is not None:  # its place in the queue, kept since it was told to wait
                if mine.at > now + tolerance:
                    return mine.at
                # a job fetched late (a backlog: seconds) finds its place past: it leaves now,
                # so it is spaced from the sends granted meanwhile, and its slot says when
                # it leaves; else late places on one account were all granted at once
                at = Pacer._earliest([row.at for row in rows if row.granted], spacing, budget,
                                     max(mine.at, now))
                granted = at <= now + tolerance
                slots.place(mine.id, attempt, at, granted)
                if not granted:
                    return at
                self._remember(channel_id, _Grant(mine.id, at))
                return None
            earliest = Pacer._earliest([row.at for row in rows], spacing, budget, now)
            granted = earliest <= now + tolerance
            slot_id = slots.add(key, attempt, earliest, granted)
        if not granted:
            return earliest
        self._remember(channel_id, _Grant(slot_id, earliest))
        return None

    def _remember(self, channel_id: str, grant: _Grant) -> None:
        with self._lock:
            self._granted[channel_id] = grant

    def release(self, channel_id: str, at: datetime) -> None:
        """Give back the send last granted here on ``channel_id`` (its claim was lost)."""
        with self._lock:
            grant = self._granted.pop(channel_id, None)
        if grant is not None:
            delete_slot(self.engine, grant.slot_id)

    def before_send(self, channel_id: str, network: Any, now: datetime) -> datetime | None:
        """The slot granted, while it is still ahead; and this process's own completion check."""
        with self._lock:
            grant = self._granted.get(channel_id)
        until = grant.at if grant is not None and grant.at > now else None
        own = self._completions.before_send(channel_id, network, now)
        if own is not None and (until is None or own > until):
            until = own
        return until

    def sent(self, channel_id: str, at: datetime) -> None:
        self._completions.sent(channel_id, at)
