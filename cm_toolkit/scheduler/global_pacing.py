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

The slot granted is the instant the request may leave; under load it leaves late, so two
workers' grants ``spacing`` apart could reach the network closer than that. So the last step is
on the network's side (``before_send``, called when the request is about to leave): the request
waits until the previous request on the account, whichever worker sent it, **was answered**, plus
the spacing. Each granted slot records when its request left (``left_at``) and was answered
(``done_at``, written by ``sent``); a request still in flight on another worker is waited for
(polled every ``POLL``), unless its delivery is no longer ``sending`` (its worker died and the
delivery was settled) or it left more than ``IN_FLIGHT_CAP`` ago. Checking and marking the
departure is one step under the account's lock, so two workers never both go.

The database is a courtesy here, never a reason to lose a post: when it cannot be reached at
that point (a PostgreSQL restart), the request is spaced by this worker's own sends only
(``Pacer.before_send``) and the failure is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cm_toolkit.ledger.pacing_slots import Departure, account_slots, answered, delete_slot
from cm_toolkit.scheduler.pacing import TOLERANCE, Budget, Budgets, Pacer

log = logging.getLogger(__name__)

_KEEP = timedelta(minutes=10)  # rows this much older than every rule's window are deleted
POLL = timedelta(milliseconds=20)
"""How often a request waiting for another worker's request on its account asks again."""
IN_FLIGHT_CAP = timedelta(seconds=60)
"""A request that left this long ago and was never answered (its worker hangs, or died before
recovery settled its delivery) no longer holds its account back: twice the adapters' timeout."""


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
        # (channel, delivery) -> the send granted here and not yet ended
        self._granted: dict[tuple[str, int | None], _Grant] = {}
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
                self._remember(channel_id, key, _Grant(mine.id, at))
                return None
            earliest = Pacer._earliest([row.at for row in rows], spacing, budget, now)
            granted = earliest <= now + tolerance
            slot_id = slots.add(key, attempt, earliest, granted)
        if not granted:
            return earliest
        self._remember(channel_id, key, _Grant(slot_id, earliest))
        return None

    def _remember(self, channel_id: str, key: int | None, grant: _Grant) -> None:
        with self._lock:
            self._granted[(channel_id, key)] = grant

    def release(self, channel_id: str, at: datetime, key: int | None = None) -> None:
        """Give back the send granted here to ``key`` on ``channel_id`` (its claim was lost)."""
        with self._lock:
            grant = self._granted.pop((channel_id, key), None)
        if grant is not None:
            delete_slot(self.engine, grant.slot_id)

    def before_send(self, channel_id: str, network: Any, now: datetime,
                    key: int | None = None) -> datetime | None:
        """None: the request may leave now, and is recorded as leaving; else the instant to
        ask again (its granted slot, this worker's previous answer plus the spacing, or another
        worker's request on the account still in flight)."""
        with self._lock:
            grant = self._granted.get((channel_id, key))
        if grant is not None and grant.at > now:
            return grant.at
        own = self._completions.before_send(channel_id, network, now)
        if own is not None:
            return own
        spacing, _ = self._rules(channel_id, network)
        try:
            with account_slots(self.engine, channel_id) as slots:
                departures = slots.departures(now - IN_FLIGHT_CAP - spacing,
                                              None if grant is None else grant.slot_id)
                until = _turn(departures, spacing, now)
                if until is not None:
                    return until
                if grant is None:  # granted before a restart of this pacer: count it now
                    grant = _Grant(slots.add(key, None, now, True), now)
                    self._remember(channel_id, key, grant)
                slots.leave(grant.slot_id, now)
        except SQLAlchemyError as error:
            log.warning("pacing across workers: the ledger did not answer (%s); the request on "
                        "%s is spaced from this worker's own sends only", error, channel_id)
        return None

    def sent(self, channel_id: str, at: datetime, key: int | None = None) -> None:
        """The request on ``channel_id`` for ``key`` ended (answered or not) at ``at``. Never
        raises: the send's outcome must be recorded whatever the pacing table does."""
        self._completions.sent(channel_id, at)
        with self._lock:
            grant = self._granted.pop((channel_id, key), None)
        if grant is None:
            return
        try:
            answered(self.engine, grant.slot_id, at)
        except SQLAlchemyError as error:
            log.warning("pacing across workers: the answer on %s at %s not recorded (%s); the "
                        "next request waits at most %s for it", channel_id, at.isoformat(),
                        error, IN_FLIGHT_CAP)


def _turn(departures: Sequence[Departure], spacing: timedelta, now: datetime) -> datetime | None:
    """None when a request may leave now after ``departures`` (the account's other requests);
    else the instant to ask again."""
    ends = []
    for departure in departures:
        if departure.done_at is not None:
            ends.append(departure.done_at)
        elif departure.sending and departure.left_at > now - IN_FLIGHT_CAP:
            return now + POLL  # in flight on another worker: its answer sets the next instant
        else:  # never answered: its worker died (the delivery was settled) or it hangs
            ends.append(departure.left_at)
    earliest = max(ends) + spacing if ends else now
    return earliest if earliest > now else None
