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

from sqlalchemy import func, select

from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery, WorkerRecord
from cm_toolkit.ledger.states import DeliveryState
from tests.scheduler.crash import CrashRun


@dataclass
class ClusterCrashRun(CrashRun):
    workers: int = 3
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
                        within: float = 60.0) -> int:
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
            deadline = time.monotonic() + self.finish_within
            while self.unfinished() and time.monotonic() < deadline:
                for process in processes.values():
                    assert process.poll() is None, "a worker exited early"
                time.sleep(0.5)
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=90) for process in processes.values()]
            self.exit_code = max(codes, default=0)

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
