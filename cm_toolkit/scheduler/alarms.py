"""The alarm clock: one in-memory alarm per delivery waiting to be sent, ringing at its instant.

The ledger is the truth; alarms are only a way to wake up on time. ``sync`` is given the
instant of every delivery waiting to be sent (``ledger/schedule.py``) and sets, moves or
removes alarms to match; an alarm calls ``ring(delivery_id)`` (the runner's publisher run) on
APScheduler's thread pool. Killing the process at any instant loses nothing: the next start
sets the alarms again from the ledger. Whether a delivery is sent, and only once, is the
ledger's claim, never the alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from cm_toolkit.clock import Clock, GatedClock


class AlarmClock:
    def __init__(self, clock: Clock, ring: Callable[[int], None], *, threads: int,
                 ahead: timedelta = timedelta(0),
                 stopping: Callable[[], bool] = lambda: False) -> None:
        """``ahead``: an alarm rings this long before its instant (the publisher prepares,
        then waits for the instant). ``stopping``: no alarm is set once it says True (APScheduler
        shutting down must not be given new jobs; the next start rebuilds them)."""
        self.clock = clock
        # a replay clock waits at each alarm's instant until it rings (clock.py: GatedClock)
        self._gates = clock if isinstance(clock, GatedClock) else None
        self._ring = ring
        self.ahead = ahead
        self._stopping = stopping
        self.alarms: dict[int, datetime] = {}  # delivery id -> instant of its alarm
        self._ledger_at: dict[int, datetime] = {}  # delivery id -> ledger instant last synced
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(threads)},
            # max_instances > 1: a deferred delivery re-arms its own job while it runs; the
            # ledger claim, not the alarm, is what prevents a double send.
            job_defaults={"coalesce": True, "max_instances": 4, "misfire_grace_time": None},
        )

    def start(self) -> None:
        self.scheduler.start()

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def pause(self) -> None:
        self.scheduler.pause()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=True)

    def sync(self, waiting: dict[int, datetime]) -> None:
        """One alarm per delivery of ``waiting`` (id -> its due or retry instant), none else."""
        for delivery_id in list(self.alarms):
            if delivery_id not in waiting:
                self.cancel(delivery_id)
        for delivery_id, at in waiting.items():
            # an alarm the publisher moved later (pacing, too early) stays where it is until
            # the ledger's instant changes: resetting it to the due instant every resync would
            # wake a whole paced backlog every few seconds for nothing
            if (
                delivery_id not in self.alarms
                or self._ledger_at.get(delivery_id) != at
                or self.scheduler.get_job(f"d{delivery_id}") is None  # skipped: max_instances
            ):
                self._ledger_at[delivery_id] = at
                self.set(delivery_id, at)

    def set(self, delivery_id: int, at: datetime) -> None:
        """The delivery's alarm, at ``at`` (replacing the one it had)."""
        if self._stopping():
            return
        self.alarms[delivery_id] = at
        if self._gates is not None:
            self._gates.gate(delivery_id, at)
        self.scheduler.add_job(
            self._ring, "date", run_date=self.clock.wall_time(at - self.ahead),
            args=[delivery_id], id=f"d{delivery_id}", replace_existing=True,
        )

    def rang(self, delivery_id: int) -> None:
        """The delivery's alarm rang: it has none until ``set`` or ``sync`` gives it one. The
        runner calls it holding the clock, so a replay clock stands still from the gate to
        the claim."""
        self.alarms.pop(delivery_id, None)
        if self._gates is not None:
            self._gates.release(delivery_id)

    def cancel(self, delivery_id: int) -> None:
        self.alarms.pop(delivery_id, None)
        if self._gates is not None:
            self._gates.release(delivery_id)
        self._ledger_at.pop(delivery_id, None)
        try:
            self.scheduler.remove_job(f"d{delivery_id}")
        except JobLookupError:
            pass

    def every(self, seconds: float, job: Callable[[], None], job_id: str) -> None:
        """Another job of the runner (resync, inbox), every ``seconds`` of wall time, one at a
        time."""
        self.scheduler.add_job(job, "interval", seconds=seconds, id=job_id, max_instances=1)

    def at(self, instant: datetime, job: Callable[..., None], job_id: str,
           args: tuple[object, ...] = ()) -> None:
        """Another job of the runner (a follower snapshot, a live chat), at a clock instant."""
        if self._stopping():
            return
        self.scheduler.add_job(job, "date", run_date=self.clock.wall_time(instant), args=args,
                               id=job_id, replace_existing=True)
