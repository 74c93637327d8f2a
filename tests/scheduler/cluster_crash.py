"""The cluster crash test's machinery: three ``cm run`` workers on one PostgreSQL ledger, the
leader SIGKILLed again and again (a new worker takes its place each time), then judged by
``crash.check_exactly_once`` like the single-process crash test.

The leader is found in the ledger's ``workers`` table (the row that says ``leader`` among the
processes still alive); after each kill the harness waits for another worker to say it leads,
which is the failover the cluster promises.
"""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery, WorkerRecord
from cm_toolkit.ledger.states import DeliveryState
from tests.scheduler.crash import NOT_FINISHED, CrashRun


@dataclass
class ClusterCrashRun(CrashRun):
    workers: int = 3
    expected: int = 240  # deliveries the workspace plans: until applied, the run has not begun
    failovers: list[float] = field(default_factory=list)  # seconds from a kill to a new leader
    next_index: int = 0

    def leader_pid(self, alive: set[int], since: float = 0.0) -> int | None:
        """The pid of the worker that leads now (among ``alive``), if one says so."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                rows = session.execute(select(WorkerRecord.pid, WorkerRecord.last_seen_at).where(
                    WorkerRecord.leader.is_(True), WorkerRecord.stopped_at.is_(None))).all()
        finally:
            ledger.close()
        for pid, seen in rows:
            if pid in alive and seen.timestamp() >= since:
                return int(pid)
        return None

    def spawn(self) -> subprocess.Popen[bytes]:
        process = self.start(self.next_index)
        self.next_index += 1
        return process

    def wait_for_leader(self, processes: dict[int, subprocess.Popen[bytes]], since: float,
                        within: float = 120.0) -> int:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            pid = self.leader_pid(set(processes), since)
            if pid is not None:
                return pid
            time.sleep(0.1)
        raise AssertionError(f"no leader within {within} s: {self.stderr(self.next_index - 1)}")

    def run(self) -> None:
        started = time.monotonic()
        processes: dict[int, subprocess.Popen[bytes]] = {}
        for _ in range(self.workers):
            process = self.spawn()
            processes[process.pid] = process
        try:
            since = 0.0
            for _ in range(self.kills):
                leader = self.wait_for_leader(processes, since)
                time.sleep(self.rng.uniform(*self.gap))  # it plans and publishes meanwhile
                killed = time.monotonic()
                victim = processes.pop(leader)
                victim.send_signal(signal.SIGKILL)
                victim.wait()  # reaped: a zombie's pid still looks alive to orphan recovery
                since = time.time()
                self.killed_at.append(killed - started)
                replacement = self.spawn()  # a supervisor (systemd) would restart it
                processes[replacement.pid] = replacement
                self.wait_for_leader(processes, since)
                self.failovers.append(time.monotonic() - killed)
            self.finish(processes)
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=90) for process in processes.values()]
            self.exit_code = max(codes, default=0)

    def finish(self, processes: dict[int, subprocess.Popen[bytes]]) -> None:
        """Wait until no delivery waits or sends any more, judged by the ledger alone.

        The bound is ``finish_within`` past the latest instant the ledger still waits for: a
        post that failed twice is retried 30 s, then about 60 s later (the retry policy's
        backoff), so a fixed window from the last kill can end before a retry is due (what
        left one ``retry_wait`` in an earlier run); the ledger says how long to wait."""
        deadline = time.monotonic() + self.finish_within
        while self.unfinished():
            for process in processes.values():
                assert process.poll() is None, "a worker exited early"
            latest = self.latest_wait()
            if latest is not None:
                ahead = (latest - datetime.now(UTC)).total_seconds()
                deadline = max(deadline, time.monotonic() + ahead + self.finish_within)
            if time.monotonic() >= deadline:
                return
            time.sleep(0.5)

    def unfinished(self) -> int:
        """Deliveries waiting or sending, and those the ledger does not hold yet (a leader
        killed in its first apply leaves an empty ledger, which is not a finished run)."""
        return max(0, self.expected - self.count()) + super().unfinished()

    def latest_wait(self) -> datetime | None:
        """The latest instant a waiting delivery is due (its retry, or its post)."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                return session.scalar(select(func.max(func.coalesce(
                    Delivery.next_attempt_at, Delivery.due_at))).where(
                    Delivery.state.in_(NOT_FINISHED)))
        finally:
            ledger.close()

    def leftovers(self) -> list[str]:
        """Each delivery not finished, with its instant and the jobs the queue holds for it:
        what to look at if the test ever fails with one."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                rows = session.execute(select(
                    Delivery.id, Delivery.post_key, Delivery.state, Delivery.attempts,
                    Delivery.next_attempt_at, Delivery.due_at).where(
                    Delivery.state.in_(NOT_FINISHED))).all()
                found = []
                for delivery_id, post_key, state, attempts, retry_at, due_at in rows:
                    jobs = session.execute(text(
                        "SELECT id, status::text, scheduled_at FROM procrastinate_jobs "
                        "WHERE queueing_lock = :lock ORDER BY id"),
                        {"lock": f"delivery-{delivery_id}"}).all()
                    found.append(f"{post_key} #{delivery_id} {state.value} after {attempts} "
                                 f"attempt(s), due {due_at:%H:%M:%S}, retry "
                                 f"{retry_at and f'{retry_at:%H:%M:%S}'}; jobs "
                                 f"{[(j, st, f'{at:%H:%M:%S}' if at else None) for j, st, at in jobs]}")
                return found
        finally:
            ledger.close()

    def senders(self) -> dict[str, int]:
        """Published deliveries per worker id (the ledger's ``claimed_by``)."""
        ledger = open_ledger(self.database_url, self.root)
        try:
            with ledger.reading() as session:
                rows = session.execute(
                    select(Delivery.claimed_by, func.count()).where(
                        Delivery.state == DeliveryState.PUBLISHED).group_by(Delivery.claimed_by)
                ).all()
        finally:
            ledger.close()
        return {str(worker): int(count) for worker, count in rows}
