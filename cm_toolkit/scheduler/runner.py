"""``cm run``: the long-running process. The ledger is the truth; APScheduler is the alarm clock.

At start the runner applies the workspace, turns ``sending`` deliveries left by a dead process
into ``unknown`` (the request may have left: never re-sent automatically), and sets one alarm
per delivery waiting to be sent. Every ``resync`` seconds it expires leases, re-applies the
workspace if its files changed (no restart needed), and re-reads the ledger so that decisions
taken elsewhere (``cm retry``, ``cm resolve --resend``, another ``cm apply``) get alarms too.

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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from cm_toolkit.channels.base import Channel
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.clock import Clock, SystemClock
from cm_toolkit.errors import CmError
from cm_toolkit.growth.snapshots import Snapshotter
from cm_toolkit.inbox.autorun import InboxJob
from cm_toolkit.ledger import apply as ledger_apply
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import CLAIMABLE
from cm_toolkit.planning import growth_snapshot_times, plan_workspace
from cm_toolkit.scheduler import inflight
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.scheduler.pacing import Budget, Pacer
from cm_toolkit.scheduler.publisher import Attempt, Publisher, Step
from cm_toolkit.scheduler.recovery import recover_orphans
from cm_toolkit.scheduler.retry import RetryPolicy
from cm_toolkit.scheduler.run_lock import RunLock, take_run_lock
from cm_toolkit.scheduler.shutdown import Shutdown
from cm_toolkit.scheduler.worker import new_worker_id, workspace_signature
from cm_toolkit.workspace.models import Network, Workspace

log = logging.getLogger("cm.runner")

ChannelsFactory = Callable[[Workspace], ChannelSource]


PREPARE_AHEAD = timedelta(milliseconds=40)


@dataclass
class RunOptions:
    resync_seconds: float = 5.0  # wall-clock seconds between two ledger re-reads
    threads: int = 8
    lease: timedelta = timedelta(minutes=10)
    spacing: timedelta | None = None  # default: the workspace's defaults.spacing
    budgets: dict[Network, Budget] | None = None  # default: pacing.DEFAULT_BUDGETS
    notify_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)


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
    ) -> None:
        self.root = root
        self.ledger = ledger
        self.clock = clock
        self._load = load
        self._channels_factory = channels
        self.options = options or RunOptions()
        self._snapshot = snapshot
        self.worker_id = worker_id or new_worker_id()
        # what just happened, for the live view: (when, attempt), outcomes only (no pacing noise)
        self.recent: deque[tuple[datetime, Attempt]] = deque(maxlen=50)
        self._alarms: dict[int, datetime] = {}  # delivery id -> instant of its alarm
        self._ledger_at: dict[int, datetime] = {}  # delivery id -> ledger instant last synced
        self._signature: tuple[tuple[str, float, int], ...] = ()
        self._view: WorkspaceView | None = None
        self._source: ChannelSource | None = None
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(self.options.threads)},
            # max_instances > 1: a deferred delivery re-arms its own job while it runs; the
            # ledger claim, not the alarm, is what prevents a double send.
            job_defaults={"coalesce": True, "max_instances": 4, "misfire_grace_time": None},
        )
        # read, render and claim a little before the instant, so that the request leaves on
        # time; only on the real clock (a replay clock stands still while work is in flight)
        self._prepare_ahead = PREPARE_AHEAD if isinstance(clock, SystemClock) else timedelta(0)
        self._stopping = False
        self._stop_renders = threading.Event()  # set by stop(): renders in flight end at once
        self._inflight = 0
        self._inflight_done = threading.Condition()
        self.pacer: Pacer | None = None
        self.publisher: Publisher | None = None
        self.notifier: Notifier | None = None
        self._lock: RunLock | None = None
        self._sends_log: inflight.InflightLog | None = None
        self.inbox: InboxJob | None = None  # syncs, auto answers, replies (inbox/autorun.py)
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
        try:  # before the first claim: see scheduler/inflight.py
            self._sends_log = inflight.InflightLog(self.inflight_folder, self.worker_id)
        except OSError as error:
            log.warning("no in-flight file (%s): a crash will leave its sends unknown", error)
        spacing = self.options.spacing or view.workspace.schedules.defaults.spacing
        self.pacer = Pacer(spacing, self.options.budgets)
        self._seed_pacer()
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
        self.inbox = InboxJob(ledger=self.ledger, channels=self, clock=self.clock,
                              workspace=lambda: self.current_view().workspace,
                              worker_id=self.worker_id, folder=self.inflight_folder / "replies",
                              lease=self.options.lease)
        self.inbox.recover()
        self._warm_up()
        self.scheduler.start()
        self.sync_alarms()
        self.scheduler.add_job(self._tick, "interval", seconds=self.options.resync_seconds,
                               id="resync")
        self.scheduler.add_job(self._inbox_tick, "interval", id="inbox", max_instances=1,
                               seconds=self.options.resync_seconds)
        for at in self.inbox.live_instants(self.clock.now()):  # live chats while on air
            self.scheduler.add_job(self._inbox_live, "date", id=f"live-chat-{at.isoformat()}",
                                   run_date=self.clock.wall_time(at))
        self._plan_next_snapshot()
        log.info("cm run started as %s on %s", self.worker_id, self.ledger.url)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the alarms and wait for sends in flight to be recorded.

        Jobs must not add alarms while APScheduler shuts down (it holds its job-store lock
        while it waits for them: a deadlock), so the runner first pauses, waits for its own
        jobs in flight, and only then shuts the scheduler down.
        """
        self._refuse_new_work()  # scheduler/shutdown.py
        if self.scheduler.running:
            self.scheduler.pause()
            self._wait_for_jobs(timeout)
            self.scheduler.shutdown(wait=True)
        self._close_services()
        if self._lock is not None:
            self._lock.release()
        log.info("cm run stopped")

    def current_view(self) -> WorkspaceView:
        assert self._view is not None
        return self._view

    def using(self, channel_id: str) -> AbstractContextManager[Channel]:
        """The runner is the publisher's ``ChannelSource``: the pool of the current workspace."""
        assert self._source is not None
        return self._source.using(channel_id)

    # -- workspace ---------------------------------------------------------------------------

    def reload(self, apply: bool = True) -> WorkspaceView:
        """Load, plan and apply the workspace (idempotent); keep the view the publisher uses.
        ``apply=False``: only the view (a cluster worker that is not the leader)."""
        signature = workspace_signature(self.root)
        workspace = self._load(self.root)
        plan = plan_workspace(workspace)
        plan_diff = ledger_apply.diff(plan, self.ledger) if apply else None
        if plan_diff is not None and not plan_diff.is_empty:
            result = ledger_apply.apply(plan_diff, self.ledger, self.clock.now())
            log.info("applied the workspace: %d created, %d changed, %d cancelled",
                     result.created, result.changed, result.cancelled)
        self._view = WorkspaceView.of(workspace, plan)
        self._view.renderer.cancel = self._stop_renders
        self._source = self._channels_factory(workspace)
        self._signature = signature
        return self._view

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
            if workspace_signature(self.root) != self._signature:
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

    def _warm_up(self) -> None:
        """Build every channel's adapter now (SDK imports take a second): the first alarm must
        not pay for it, and a channel that cannot be built (a missing secret) shows at start."""
        assert self._view is not None
        for channel_id in sorted(self._view.workspace.channels):
            try:
                with self.using(channel_id):
                    pass
            except CmError as exc:
                log.warning("channel %s cannot be used: %s", channel_id, exc)

    def _describe(self, delivery_id: int) -> dict[str, object]:
        """What a webhook receiver needs to know which post it is about."""
        row = self.ledger.get(delivery_id)
        if row is None:
            return {}
        return {"post": row.post_key, "channel": row.channel_id, "network": row.network,
                "due_at": row.due_at.isoformat(), "attempts": row.attempts}

    # -- crash recovery ----------------------------------------------------------------------

    def recover_orphans(self) -> list[int]:
        """``sending`` left by dead processes of this host (``scheduler/recovery.py``)."""
        return recover_orphans(self.ledger, self.worker_id, self.clock.now(),
                               self.inflight_folder, self.notifier)

    def _seed_pacer(self) -> None:
        assert self.pacer is not None
        since = self.clock.now() - timedelta(days=1)
        with self.ledger.reading() as session:
            rows = session.execute(
                select(Delivery.channel_id, Delivery.claimed_at).where(
                    Delivery.claimed_at.is_not(None), Delivery.claimed_at > since
                )
            ).all()
        by_channel: dict[str, list[datetime]] = {}
        for channel_id, claimed_at in rows:
            if claimed_at is not None:
                by_channel.setdefault(channel_id, []).append(claimed_at)
        for channel_id, times in by_channel.items():
            self.pacer.seed(channel_id, times)

    # -- alarms ------------------------------------------------------------------------------

    def sync_alarms(self) -> None:
        """One alarm per delivery waiting to be sent, at its due (or retry) instant."""
        when = func.coalesce(Delivery.next_attempt_at, Delivery.due_at)
        with self.ledger.reading() as session:
            rows = session.execute(
                select(Delivery.id, when).where(Delivery.state.in_(CLAIMABLE))
            ).all()
        waiting = {delivery_id: at for delivery_id, at in rows}
        for delivery_id in list(self._alarms):
            if delivery_id not in waiting:
                self._cancel_alarm(delivery_id)
        for delivery_id, at in waiting.items():
            # an alarm the publisher moved later (pacing, too early) stays where it is until
            # the ledger's instant changes: resetting it to the due instant every resync would
            # wake a whole paced backlog every few seconds for nothing
            if (
                delivery_id not in self._alarms
                or self._ledger_at.get(delivery_id) != at
                or self.scheduler.get_job(f"d{delivery_id}") is None  # skipped: max_instances
            ):
                self._ledger_at[delivery_id] = at
                self._set_alarm(delivery_id, at)

    def _set_alarm(self, delivery_id: int, at: datetime) -> None:
        if self._stopping:  # alarms are rebuilt from the ledger at the next start
            return
        self._alarms[delivery_id] = at
        self.scheduler.add_job(
            self._fire, "date", run_date=self.clock.wall_time(at - self._prepare_ahead),
            args=[delivery_id], id=f"d{delivery_id}", replace_existing=True,
        )

    def _cancel_alarm(self, delivery_id: int) -> None:
        self._alarms.pop(delivery_id, None)
        self._ledger_at.pop(delivery_id, None)
        try:
            self.scheduler.remove_job(f"d{delivery_id}")
        except JobLookupError:
            pass

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
            if go:
                self._fire_now(delivery_id)

    def _fire_now(self, delivery_id: int) -> None:
        self._alarms.pop(delivery_id, None)
        attempt = self._attempt(delivery_id)
        if attempt.step in (Step.DEFERRED, Step.RETRY) and attempt.at is not None:
            self._set_alarm(delivery_id, attempt.at)

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
        if self._snapshot is None or self._view is None or self._stopping:
            return
        start = self.clock.now() + timedelta(seconds=1)
        upcoming = growth_snapshot_times(self._view.workspace, start, start + timedelta(days=366))
        at = next(iter(upcoming), None)
        if at is not None:
            self.scheduler.add_job(self._take_snapshot, "date", run_date=self.clock.wall_time(at),
                                   args=[at], id="snapshot", replace_existing=True)

    def _take_snapshot(self, at: datetime) -> None:
        with self._job() as go:
            if not go:
                return
            assert self._snapshot is not None and self._view is not None
            if self.clock.now() < at:
                # rang early (a replay clock that stood still since the alarm was set): the
                # count must be the one at its instant, so set the alarm again
                self.scheduler.add_job(self._take_snapshot, "date",
                                       run_date=self.clock.wall_time(at), args=[at],
                                       id="snapshot", replace_existing=True)
                return
            try:
                self._snapshot.take(self._view.workspace, self, at)
            except Exception:
                log.exception("follower snapshot failed")
            self._plan_next_snapshot()
