"""``cm run`` on a PostgreSQL ledger: one worker of a cluster (docs/scaleout.md).

Any number of these run at once, on one machine (``cm run --workers N``) or many. Each is a
Procrastinate worker on the ledger's database (``scheduler/queue.py``) and runs the jobs it
fetches: a delivery job reads the delivery, renders it, reserves its slot in the shared pacing
(``global_pacing.py``), claims it with the ledger's compare-and-set (the only thing that makes a
send happen once: two jobs for one delivery never both send) and sends at the instant on its
own clock. The job is fetched ``lead`` before the instant, so the claim's commit is off the
post's path.

Exactly one worker is the leader: the holder of the ledger's run lock (a PostgreSQL session
advisory lock, ``run_lock.py``). The server gives it back when the leader's connection drops
(SIGKILL, a lost machine), and another worker takes it at its next heartbeat (``beat``
seconds). The leader plans: it re-applies the workspace when its files change, expires leases,
gives every waiting delivery its job (``cluster_plan.py``), and defers the follower snapshots and
inbox ticks as jobs. Every worker settles the orphans of dead processes of its own machine
(``recovery.py``: a send whose request had not left goes back to waiting, one that had is
``unknown``), one worker per machine at a time, and writes its heartbeat to ``workers``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cm_toolkit.errors import AlreadyRunning
from cm_toolkit.ledger.cluster_jobs import machine_turn
from cm_toolkit.ledger.run_lock import PostgresRunLock
from cm_toolkit.ledger.workers import WorkerBook
from cm_toolkit.planning import growth_snapshot_times
from cm_toolkit.scheduler import queue
from cm_toolkit.scheduler.cluster_plan import DeliveryPlanner, delivery_job
from cm_toolkit.scheduler.global_pacing import PostgresPacer
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.scheduler.publisher import Publisher, Step
from cm_toolkit.scheduler.runner import Runner
from cm_toolkit.scheduler.workspace_host import workspace_signature
from cm_toolkit.sending import inflight

log = logging.getLogger("cm.cluster")

T = TypeVar("T")


@dataclass
class ClusterOptions:
    concurrency: int = 16  # jobs one worker runs at once (sends on different accounts)
    lead: timedelta = timedelta(seconds=1)  # a delivery's job runs this long before its instant
    horizon: timedelta = timedelta(minutes=2)  # deliveries due within this get their job
    beat: float = 1.0  # seconds between heartbeats (and leadership attempts)
    stalled: float = 10.0  # a worker silent this long is dead: its running jobs are closed
    fetch_every: float = 0.2  # seconds between two polls for due jobs


class ClusterRunner(Runner):
    """A ``Runner`` whose alarms are Procrastinate jobs shared by every worker."""

    def __init__(self, *args: Any, cluster: ClusterOptions | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster = cluster or ClusterOptions()
        self.book = WorkerBook(self.ledger)
        self.is_leader = threading.Event()
        self._leader_lock: PostgresRunLock | None = None
        self._sending = 0
        self._sending_lock = threading.Lock()
        self._halt = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker_run: Any = None
        self._control: threading.Thread | None = None
        self._snapshot_at: datetime | None = None
        self.app: Any = None
        self.planner: DeliveryPlanner | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Create the queue's tables if needed, join the cluster, and start fetching jobs.
        Never refused: every worker may start; the leader is elected among them."""
        if queue.ensure_schema(self.ledger.engine):
            log.info("created Procrastinate's tables in the ledger's database")
        view = self.reload(apply=False)
        try:  # before the first claim: see sending/inflight.py
            self._sends_log = inflight.InflightLog(self.inflight_folder, self.worker_id)
        except OSError as error:
            log.warning("no in-flight file (%s): a crash will leave its sends unknown", error)
        spacing = self.options.spacing or view.workspace.schedules.defaults.spacing
        self.pacer = None  # the in-memory pacer is replaced by the shared one
        shared = PostgresPacer(self.ledger.write_engine, spacing, self.options.budgets)
        if self.options.notify_url:
            self.notifier = Notifier(self.options.notify_url, self.clock,
                                     describe=self._describe)
        self.publisher = Publisher(
            ledger=self.ledger, view=self.current_view, channels=self, clock=self.clock,
            worker_id=self.worker_id, pacer=shared, retry=self.options.retry,
            notifier=self.notifier, lease=self.options.lease,
            # a job fetched up to a poll late, or early by its lead, is still this instant's
            prepare_ahead=self.cluster.lead + timedelta(seconds=self.cluster.fetch_every * 2),
            inflight=self._sends_log,
        )
        self._recover_here()
        self._start_side_job()  # the inbox's job, given by cli/scheduler.py
        self._warm_up()
        self.planner = DeliveryPlanner(
            self.ledger.write_engine, self._defer, lead=self.cluster.lead,
            horizon=max(self.cluster.horizon, timedelta(seconds=4 * self.options.resync_seconds)),
            stalled_seconds=self.cluster.stalled)
        self._start_worker()
        self._beat()
        # the leadership at once when free: the first worker applies the workspace before it
        # says it started (as cm run on SQLite does), not a heartbeat later
        self._lead()
        self._control = threading.Thread(target=self._control_loop, name="cm-cluster",
                                         daemon=True)
        self._control.start()
        log.info("cm run started as %s on %s (a worker of a PostgreSQL cluster)",
                 self.worker_id, self.ledger.url)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop fetching jobs, let the jobs in flight end (their sends recorded), step down."""
        self._refuse_new_work()  # scheduler/shutdown.py
        self._halt.set()
        if self._control is not None:
            self._control.join(timeout)
        if self._loop is not None:
            try:
                self._run(self._stop_worker(), timeout)
            except Exception:
                log.warning("stopping the job queue's worker failed", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._wait_for_jobs(timeout)
        self._step_down()
        try:
            self.book.stopped(self.worker_id, self.clock.now())
        except Exception:
            log.warning("could not mark this worker stopped", exc_info=True)
        self._close_services()
        log.info("cm run stopped")

    # -- the Procrastinate worker ------------------------------------------------------------

    def _start_worker(self) -> None:
        # jobs hold no queue connection while they send (the ledger has its own pool): a few
        # suffice, and a cluster of many workers must stay under max_connections
        self.app = queue.make_app(self.ledger.engine, pool_size=6)
        self.app.task(name=queue.DELIVER, queue=queue.QUEUE)(self._deliver_job)
        self.app.task(name=queue.SNAPSHOT, queue=queue.QUEUE)(self._snapshot_job)
        self.app.task(name=queue.INBOX, queue=queue.QUEUE)(self._inbox_job)
        loop = asyncio.new_event_loop()
        # sync jobs run in the loop's default executor: one thread per job in flight
        loop.set_default_executor(ThreadPoolExecutor(self.cluster.concurrency + 2,
                                                     thread_name_prefix="cm-job"))
        threading.Thread(target=loop.run_forever, name="cm-queue", daemon=True).start()
        self._loop = loop
        self._run(self._start_serving(), 30)

    async def _start_serving(self) -> None:
        await self.app.connector.open_async()
        self._serve()

    def _serve(self) -> None:
        """Run Procrastinate's worker (on the queue's loop) under this worker's name."""
        self._worker_run = asyncio.ensure_future(self.app.run_worker_async(
            queues=[queue.QUEUE], name=self.worker_id, concurrency=self.cluster.concurrency,
            install_signal_handlers=False, fetch_job_polling_interval=self.cluster.fetch_every,
            update_heartbeat_interval=self.cluster.beat, delete_jobs="always",
            stalled_worker_timeout=self.cluster.stalled,
        ))

    async def _serve_again(self) -> None:
        """Procrastinate's worker ends at the first database error of its fetch loop or its
        heartbeat (a PostgreSQL restart): this process would go on beating but run no job.
        Serve again, at each heartbeat until the server answers; the pool replaces the broken
        connections, and jobs left ``doing`` by the ended run are closed by the leader as a
        stalled worker's."""
        run = self._worker_run
        if run is None or not run.done() or self._halt.is_set():
            return
        error = None if run.cancelled() else run.exception()
        log.warning("the job queue's worker stopped (%s): serving again",
                    error or "no error")
        self._serve()

    async def _stop_worker(self) -> None:
        """Procrastinate's graceful stop (cancelling its run: the jobs running end first),
        then its connections."""
        if self._worker_run is not None:
            self._worker_run.cancel()
            try:
                await self._worker_run
            except asyncio.CancelledError:
                pass
            except Exception:  # it had ended by itself (see _serve_again): close anyway
                log.warning("the job queue's worker had stopped with an error", exc_info=True)
        await self.app.connector.close_async()

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the queue's event loop from this (sync) thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def _defer(self, jobs: list[Any]) -> None:
        """Put jobs in the queue; one already waiting under the same queueing lock stays."""
        from procrastinate.exceptions import AlreadyEnqueued

        try:
            self._run(self.app.job_manager.batch_defer_jobs_async(jobs), 120)
        except AlreadyEnqueued:  # a worker deferred one of them meanwhile: one by one
            for job in jobs:
                try:
                    self._run(self.app.job_manager.defer_job_async(job))
                except AlreadyEnqueued:
                    pass

    @contextmanager
    def _counted(self) -> Iterator[None]:
        with self._sending_lock:
            self._sending += 1
        try:
            yield
        finally:
            with self._sending_lock:
                self._sending -= 1

    def _deliver_job(self, delivery_id: int, at: str) -> None:
        with self._job() as go:
            if not go:  # stopping: the leader gives the delivery a new job
                return
            with self._counted():
                attempt = self._attempt(delivery_id)
        if attempt.step not in (Step.DEFERRED, Step.RETRY) or attempt.at is None:
            return
        # pacing or too early: same ledger instant, later job; a retry: the new instant
        ledger_at = attempt.at if attempt.step is Step.RETRY else datetime.fromisoformat(at)
        job = delivery_job(delivery_id, ledger_at, self.cluster.lead)
        self._defer([job.evolve(scheduled_at=attempt.at - self.cluster.lead)])

    def _snapshot_job(self, at: str) -> None:
        with self._job() as go:
            if go and self._snapshot is not None:
                self._snapshot.take(self.current_view().workspace, self,
                                    datetime.fromisoformat(at))

    def _inbox_job(self) -> None:
        with self._job(hold=False) as go:
            if go and self.inbox is not None:
                self.inbox.tick()

    # -- heartbeat, leadership, planning ----------------------------------------------------

    def _control_loop(self) -> None:
        last_plan = 0.0
        elapsed = 0.0
        while not self._halt.wait(self.cluster.beat):
            elapsed += self.cluster.beat
            try:
                self._run(self._serve_again())
                self._lead()
                self._beat()
                if elapsed - last_plan >= self.options.resync_seconds:
                    last_plan = elapsed
                    self._resync_cluster()
            except Exception:  # keep the worker alive; the next beat tries again
                log.exception("cluster heartbeat failed")

    def _beat(self) -> None:
        self.book.beat(self.worker_id, socket.gethostname(), os.getpid(), self.clock.now(),
                       in_flight=self._sending, leader=self.is_leader.is_set())

    def _lead(self) -> None:
        """Keep the leadership, or take it when nobody holds it."""
        if self._leader_lock is not None:
            if self._leader_lock.verify():
                return
            log.warning("leadership lost (another worker took it while our connection was down)")
            self._step_down()
        try:
            self._leader_lock = PostgresRunLock.take(self.ledger.engine, self.worker_id)
        except AlreadyRunning:
            return
        self.is_leader.set()
        self._snapshot_at = None
        log.info("%s is the leader: it plans for the cluster", self.worker_id)
        self.reload(apply=True)  # the workspace as it is now, in the ledger
        self._resync_cluster()
        # only now say so (cm status; the crash test measures failover by it): a leader is
        # one that planned, not one killed in its first apply (one transaction, all lost)
        self._beat()

    def _step_down(self) -> None:
        self.is_leader.clear()
        if self._leader_lock is not None:
            self._leader_lock.release()
            self._leader_lock = None

    def _resync_cluster(self) -> None:
        leader = self.is_leader.is_set()
        now = self.clock.now()
        self._recover_here()
        if workspace_signature(self.root) != self._signature:
            log.info("workspace changed: %s", "re-applying" if leader else "reading it again")
            self.reload(apply=leader)
        if not leader:
            return
        for delivery_id in self.ledger.expire_leases(now):
            log.warning("delivery %s -> unknown (its worker stopped while sending)", delivery_id)
            if self.notifier:
                self.notifier.notify(delivery_id, "unknown",
                                     "its worker stopped while sending (lease expired)")
        assert self.planner is not None
        self.planner.tick(now)
        self._plan_snapshot_job(now)
        self._defer([self._job_of(queue.INBOX, {}, lock="inbox")])
        self.book.forget_old(now)

    def _job_of(self, task: str, kwargs: dict[str, Any], *, lock: str,
                at: datetime | None = None) -> Any:
        from procrastinate.jobs import Job

        return Job(queue=queue.QUEUE, lock=lock, queueing_lock=lock, task_name=task,
                   task_kwargs=kwargs, scheduled_at=at)

    def _plan_snapshot_job(self, now: datetime) -> None:
        if self._snapshot is None:
            return
        start = now + timedelta(seconds=1)
        upcoming = growth_snapshot_times(self.current_view().workspace, start,
                                         start + timedelta(days=366))
        at = next(iter(upcoming), None)
        if at is not None and at != self._snapshot_at:
            self._defer([self._job_of(queue.SNAPSHOT, {"at": at.isoformat()}, lock="snapshot",
                                      at=at)])
            self._snapshot_at = at

    def _recover_here(self) -> None:
        """Orphans of dead processes of this machine, by one worker of this machine at a time
        (two would race: one releasing a delivery while the other calls it unknown)."""
        with machine_turn(self.ledger.engine, socket.gethostname()) as mine:
            if mine:
                self.recover_orphans()
