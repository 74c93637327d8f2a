"""``cm run``: the long-running process. The ledger is the truth; the alarm clock wakes it up.

The runner composes three parts: the workspace host (``workspace_host.py``: load, plan, apply,
watch the files), the alarm clock (``alarms.py``: one alarm per delivery waiting to be sent)
and the publisher (``publisher.py``: one delivery claimed, sent once, its outcome recorded).

At start the runner applies the workspace, turns ``sending`` deliveries left by a dead process
into ``unknown`` (the request may have left: never re-sent automatically) unless their request
provably never started, and sets the alarms. Every ``resync`` seconds it expires leases,
re-applies the workspace if its files changed (no restart needed), and re-reads the ledger so
that decisions taken elsewhere (``cm retry``, ``cm resolve --resend``, another ``cm apply``) get
alarms too. A side job (the inbox's, given by ``cm run``'s composition root) ticks beside it.

Alarms live only in memory: killing the process at any instant loses nothing, since the next
start rebuilds them from the ledger. ``stop()`` waits for sends in flight to be recorded.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from cm_toolkit.channels.base import Channel
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.clock import Clock, SystemClock
from cm_toolkit.growth.snapshots import Snapshotter
from cm_toolkit.ledger import schedule
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.run_lock import RunLock, take_run_lock
from cm_toolkit.planning import growth_snapshot_times
from cm_toolkit.scheduler.alarms import AlarmClock
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.scheduler.pacing import Budget, Pacer
from cm_toolkit.scheduler.publisher import Attempt, Publisher, Step
from cm_toolkit.scheduler.recovery import recover_orphans
from cm_toolkit.scheduler.shutdown import Shutdown
from cm_toolkit.scheduler.workspace_host import ChannelsFactory, Signature, WorkspaceHost
from cm_toolkit.sending import inflight
from cm_toolkit.sending.retry import RetryPolicy
from cm_toolkit.sending.worker import new_worker_id
from cm_toolkit.workspace.models import Network, Workspace

log = logging.getLogger("cm.runner")

PREPARE_AHEAD = timedelta(milliseconds=40)


@dataclass
class RunOptions:
    resync_seconds: float = 5.0  # wall-clock seconds between two ledger re-reads
    threads: int = 8
    lease: timedelta = timedelta(minutes=10)
    spacing: timedelta | None = None  # default: the workspace's defaults.spacing
    budgets: dict[Network, Budget] | None = None  # default: each adapter's ``budget``
    notify_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class SideJob(Protocol):
    """Work that runs beside the publishing (the inbox's syncs and replies: ``inbox/autorun``)."""

    def recover(self) -> None: ...

    def tick(self) -> None: ...

    def live_instants(self, now: datetime) -> list[datetime]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


class SideJobFactory(Protocol):
    """How the runner makes its side job (``InboxJob`` itself is one)."""

    def __call__(self, *, ledger: Ledger, channels: ChannelSource, clock: Clock,
                 workspace: Callable[[], Workspace], worker_id: str, folder: Path,
                 lease: timedelta) -> SideJob: ...


class Runner(Shutdown):
    def __init__(
        self,
        *,
        root: Path,
        ledger: Ledger,
        clock: Clock,
        load: Callable[[Path], Workspace],
        channels: ChannelsFactory,
        options: RunOptions | None = None,
        snapshot: Snapshotter | None = None,
        worker_id: str | None = None,
        side_job: SideJobFactory | None = None,
    ) -> None:
        """``side_job``: what runs beside the publishing (``cm run`` gives the inbox's job)."""
        self.root = root
        self.ledger = ledger
        self.clock = clock
        self.options = options or RunOptions()
        self._snapshot = snapshot
        self._side_job = side_job
        self.worker_id = worker_id or new_worker_id()
        # what just happened, for the live view: (when, attempt), outcomes only (no pacing noise)
        self.recent: deque[tuple[datetime, Attempt]] = deque(maxlen=50)
        self._stopping = False
        self._stop_renders = threading.Event()  # set by stop(): renders in flight end at once
        self.workspace = WorkspaceHost(root=root, ledger=ledger, now=clock.now, load=load,
                                       channels=channels, cancel_renders=self._stop_renders)
        # read, render and claim a little before the instant, so that the request leaves on
        # time; only on the real clock (a replay clock stands still while work is in flight)
        self._prepare_ahead = PREPARE_AHEAD if isinstance(clock, SystemClock) else timedelta(0)
        self.alarm_clock = AlarmClock(clock, self._fire, threads=self.options.threads,
                                      ahead=self._prepare_ahead,
                                      stopping=lambda: self._stopping)
        self._inflight = 0
        self._inflight_done = threading.Condition()
        self.pacer: Pacer | None = None
        self.publisher: Publisher | None = None
        self.notifier: Notifier | None = None
        self._lock: RunLock | None = None
        self._sends_log: inflight.InflightLog | None = None
        self.inbox: SideJob | None = None  # syncs, auto answers, replies (inbox/autorun.py)
        self.inflight_folder = root / ".cm" / "inflight"
        # set when another runner took the ledger's run lock (see run_lock): cm run exits
        self.lock_lost = threading.Event()

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Take the ledger's run lock (``AlreadyRunning`` if another runner has it), apply
        the workspace, recover orphans, set the alarms."""
        self._lock = take_run_lock(self.ledger.engine, self.worker_id)
        try:
            self._start()
        except BaseException:
            self._lock.release()
            raise

    def _start(self) -> None:
        view = self.reload()
        try:  # before the first claim: see sending/inflight.py
            self._sends_log = inflight.InflightLog(self.inflight_folder, self.worker_id)
        except OSError as error:
            log.warning("no in-flight file (%s): a crash will leave its sends unknown", error)
        spacing = self.options.spacing or view.workspace.schedules.defaults.spacing
        self.pacer = Pacer(spacing, self.options.budgets)
        since = self.clock.now() - timedelta(days=1)
        for channel_id, times in schedule.claims_since(self.ledger, since).items():
            self.pacer.seed(channel_id, times)
        if self.options.notify_url:
            self.notifier = Notifier(self.options.notify_url, self.clock,
                                     describe=self._describe)
        self.publisher = Publisher(
            ledger=self.ledger,
            view=self.current_view,
            channels=self,
            clock=self.clock,
            worker_id=self.worker_id,
            pacer=self.pacer,
            retry=self.options.retry,
            notifier=self.notifier,
            lease=self.options.lease,
            prepare_ahead=self._prepare_ahead,
            inflight=self._sends_log,
        )
        self.recover_orphans()
        self._start_side_job()
        self._warm_up()
        self.alarm_clock.start()
        self.sync_alarms()
        self.alarm_clock.every(self.options.resync_seconds, self._tick, "resync")
        if self.inbox is not None:
            self.alarm_clock.every(self.options.resync_seconds, self._inbox_tick, "inbox")
            for at in self.inbox.live_instants(self.clock.now()):  # live chats while on air
                self.alarm_clock.at(at, self._inbox_live, f"live-chat-{at.isoformat()}")
        self._plan_next_snapshot()
        log.info("cm run started as %s on %s", self.worker_id, self.ledger.url)

    def _start_side_job(self) -> None:
        """Make the side job given by the composition root, and let it recover its orphans."""
        if self._side_job is not None:
            self.inbox = self._side_job(
                ledger=self.ledger, channels=self, clock=self.clock,
                workspace=lambda: self.current_view().workspace, worker_id=self.worker_id,
                folder=self.inflight_folder / "replies", lease=self.options.lease)
            self.inbox.recover()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the alarms and wait for sends in flight to be recorded.

        Jobs must not add alarms while APScheduler shuts down (it holds its job-store lock
        while it waits for them: a deadlock), so the runner first pauses, waits for its own
        jobs in flight, and only then shuts the scheduler down.
        """
        self._refuse_new_work()  # scheduler/shutdown.py
        if self.alarm_clock.running:
            self.alarm_clock.pause()
            self._wait_for_jobs(timeout)
            self.alarm_clock.shutdown()
        self._close_services()
        if self._lock is not None:
            self._lock.release()
        log.info("cm run stopped")

    # -- the workspace (workspace_host.py) ---------------------------------------------------

    def reload(self, apply: bool = True) -> WorkspaceView:
        """Load, plan and apply the workspace (``WorkspaceHost.reload``)."""
        return self.workspace.reload(apply)

    def current_view(self) -> WorkspaceView:
        return self.workspace.current_view()

    def using(self, channel_id: str) -> AbstractContextManager[Channel]:
        """The runner is the publisher's ``ChannelSource``: the pool of the current workspace."""
        return self.workspace.using(channel_id)

    @property
    def _signature(self) -> Signature:
        return self.workspace.signature

    def _warm_up(self) -> None:
        self.workspace.warm_up()

    # -- every resync ------------------------------------------------------------------------

    def _tick(self) -> None:
        with self._job() as go:
            if go:
                self._resync()

    def _resync(self) -> None:
        if self._lock is not None and not self._lock.verify():
            # another runner took the ledger while our connection was down: it publishes now
            self._stopping = True
            self.lock_lost.set()
            return
        try:
            expired = self.ledger.expire_leases(self.clock.now())
            for delivery_id in expired:
                log.warning("delivery %s -> unknown (its worker stopped while sending)",
                            delivery_id)
                if self.notifier:  # unknown needs a person, whichever way it became unknown
                    self.notifier.notify(delivery_id, "unknown",
                                         "its worker stopped while sending (lease expired)")
            if self.workspace.changed():
                log.info("workspace changed: re-applying")
                self.reload()
            self.sync_alarms()
        except Exception:  # keep the process alive; the next tick tries again
            log.exception("resync failed")

    def _inbox_tick(self) -> None:
        with self._job(hold=False) as go:
            if go and self.inbox is not None:
                self.inbox.tick()

    def _inbox_live(self) -> None:
        with self._job() as go:  # a replay clock waits: the session is on air now
            if go and self.inbox is not None:
                self.inbox.tick()

    def _describe(self, delivery_id: int) -> dict[str, object]:
        """What a webhook receiver needs to know which post it is about."""
        row = self.ledger.get(delivery_id)
        if row is None:
            return {}
        return {"post": row.post_key, "channel": row.channel_id, "network": row.network,
                "due_at": row.due_at.isoformat(), "attempts": row.attempts}

    def recover_orphans(self) -> list[int]:
        """``sending`` left by dead processes of this host (``scheduler/recovery.py``)."""
        return recover_orphans(self.ledger, self.worker_id, self.clock.now(),
                               self.inflight_folder, self.notifier)

    # -- alarms (alarms.py) ------------------------------------------------------------------

    def sync_alarms(self) -> None:
        """One alarm per delivery waiting to be sent, at its due (or retry) instant."""
        self.alarm_clock.sync(schedule.waiting_instants(self.ledger))

    @contextmanager
    def _job(self, hold: bool = True) -> Iterator[bool]:
        """Counts a job in flight; yields False when the runner is stopping (do nothing).

        A replay clock stands still while a job runs (``Clock.hold``); real clocks ignore it.
        ``hold=False``: work whose instant does not matter (the inbox's syncs) lets it run.
        """
        with self._inflight_done:
            if self._stopping:
                yield False
                return
            self._inflight += 1
        try:
            with self.clock.hold() if hold else nullcontext():
                yield True
        finally:
            with self._inflight_done:
                self._inflight -= 1
                self._inflight_done.notify_all()

    def _fire(self, delivery_id: int) -> None:
        with self._job() as go:
            if not go:
                return
            self.alarm_clock.rang(delivery_id)
            attempt = self._attempt(delivery_id)
            if attempt.step in (Step.DEFERRED, Step.RETRY) and attempt.at is not None:
                self.alarm_clock.set(delivery_id, attempt.at)

    def _attempt(self, delivery_id: int) -> Attempt:
        """One run of the publisher; its outcome kept for the live view."""
        assert self.publisher is not None
        try:
            attempt = self.publisher.run(delivery_id)
        except Exception:
            # e.g. the database is unreachable: nothing was claimed or the claim is recorded;
            # try again shortly (a claimed delivery is handled by lease expiry, never resent)
            log.exception("delivery %s: publisher error", delivery_id)
            attempt = Attempt(delivery_id, Step.DEFERRED, self.clock.now() + timedelta(seconds=30))
        if attempt.step not in (Step.DEFERRED, Step.SKIPPED):
            self.recent.append((self.clock.now(), attempt))
        return attempt

    # -- follower snapshots ------------------------------------------------------------------

    def _plan_next_snapshot(self) -> None:
        if self._snapshot is None or self._stopping:
            return
        start = self.clock.now() + timedelta(seconds=1)
        upcoming = growth_snapshot_times(self.current_view().workspace, start,
                                         start + timedelta(days=366))
        at = next(iter(upcoming), None)
        if at is not None:
            self.alarm_clock.at(at, self._take_snapshot, "snapshot", args=(at,))

    def _take_snapshot(self, at: datetime) -> None:
        with self._job() as go:
            if not go:
                return
            assert self._snapshot is not None
            if self.clock.now() < at:
                # rang early (a replay clock that stood still since the alarm was set): the
                # count must be the one at its instant, so set the alarm again
                self.alarm_clock.at(at, self._take_snapshot, "snapshot", args=(at,))
                return
            try:
                self._snapshot.take(self.current_view().workspace, self, at)
            except Exception:
                log.exception("follower snapshot failed")
            self._plan_next_snapshot()
