"""PostgreSQL restarted under a running cluster (issue 14): three ``cm run`` workers publish 120
posts; the server is restarted (``pg_ctlcluster ... restart``) while some are published and
others still wait. Every worker must reconnect and go on (its ledger pool, its leadership, its
Procrastinate worker, which ends at the first database error and is served again), and every
post must reach its network once (judged by ``crash.check_exactly_once``: nothing lost, nothing
doubled).

The restart breaks every other test using the same server at that instant, so the test runs
only under ``.ci/run`` (``CM_REQUIRE_SERVICES=1``), and on a machine where this process may
restart the local server that ``CM_TEST_POSTGRES_URL`` names; elsewhere it skips with the
reason. It is marked ``alone``: ``make test`` leaves it out of the parallel run and runs it in a
pytest process of its own afterwards (in an xdist worker it skips, ``tests/conftest.py``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import WorkerRecord
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.sandbox.server import Sandbox
from tests.ledger_fixtures import (
    POSTGRES_URL,
    database_url,  # noqa: F401 (fixture)
)
from tests.scheduler.crash import check_exactly_once, create_calls, describe
from tests.scheduler.workspace import crash_workspace

POSTS = 120


def restart_command() -> list[str] | str:
    """The command that restarts the local server of ``CM_TEST_POSTGRES_URL``, or why none
    can be used here (the reason avoids the service's name: a missing tool is a skip, even
    on CI)."""
    if not os.environ.get("CM_REQUIRE_SERVICES"):
        return ("restarts the shared database server, breaking the tests of other processes "
                "using it: runs under .ci/run (CM_REQUIRE_SERVICES=1)")
    tool = shutil.which("pg_ctlcluster")
    listing = shutil.which("pg_lsclusters")
    if tool is None or listing is None:
        return "pg_ctlcluster is not installed: the server cannot be restarted from here"
    url = sa.make_url(POSTGRES_URL)
    if url.host not in ("127.0.0.1", "localhost", None):
        return f"the test server ({url.host}) is not this machine's"
    port = str(url.port or 5432)
    rows = subprocess.run([listing, "--no-header"], capture_output=True, text=True, check=False)
    for line in rows.stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if cluster_port == port:
            return [tool, "--skip-systemctl-redirect", version, name, "restart"]
    return f"no local cluster listens on port {port} (pg_lsclusters)"


def _seen_since(url: str, root: Path, since: datetime) -> set[int]:
    """The pids of the workers whose heartbeat reached the ledger after ``since``."""
    ledger = open_ledger(url, root)
    try:
        with ledger.reading() as session:
            return {int(pid) for pid in session.scalars(select(WorkerRecord.pid).where(
                WorkerRecord.last_seen_at > since, WorkerRecord.stopped_at.is_(None)))}
    finally:
        ledger.close()


def _wait(condition: str, check: Callable[[], bool], within: float = 180.0) -> None:
    """Poll the ledger until ``check`` holds; a generous bound, not a timing."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {within} s: {condition}")


@pytest.mark.alone
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_workers_reconnect_after_a_postgresql_restart_and_lose_or_double_nothing(
    tmp_path: Path, database_url: str  # noqa: F811
) -> None:
    command = restart_command()
    if isinstance(command, str):
        pytest.skip(command)
    from tests.scheduler.cluster_crash import ClusterCrashRun

    root = tmp_path / "ws"
    sandbox = Sandbox(seed=16)
    with sandbox.running() as running:
        start = datetime.now(UTC) + timedelta(seconds=15)
        texts = crash_workspace(root, start, count=POSTS, span=timedelta(seconds=60))
        run = ClusterCrashRun(root=root, database_url=database_url, sandbox_url=running.base_url,
                              logs=tmp_path / "logs", token_dir=tmp_path / "tokens",
                              rng=Random(16), finish_within=120.0, expected=POSTS)
        processes: dict[int, subprocess.Popen[bytes]] = {}
        try:
            for _ in range(3):
                process = run.spawn()
                processes[process.pid] = process
            # mid-run: some posts out, most still to send
            _wait("10 posts published", lambda: run.count(DeliveryState.PUBLISHED) >= 10)
            waiting_before = run.count(DeliveryState.PLANNED, DeliveryState.RETRY_WAIT)
            restarted = subprocess.run(command, capture_output=True, text=True, check=False)
            if restarted.returncode != 0:
                pytest.skip(f"{' '.join(command)} was refused: {restarted.stderr.strip()}")
            restarted_at = datetime.now(UTC)
            # every worker beats again: each one reconnected
            _wait("all three workers beat after the restart",
                  lambda: _seen_since(database_url, root, restarted_at) >= set(processes))
            run.finish(processes)
            for process in processes.values():
                assert process.poll() is None, "a worker exited after the restart"
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=90) for process in processes.values()]
        calls = create_calls(running.journal.entries())
    outcomes = run.outcomes()
    assert len(outcomes) == len(texts) == POSTS
    problems = check_exactly_once(outcomes, calls) + run.leftovers()
    senders = run.senders()
    print(f"restarted with {waiting_before} of {POSTS} waiting; {describe(outcomes, calls)}; "
          f"published by {len(senders)} workers: {sorted(senders.values(), reverse=True)}")
    assert waiting_before > 0  # the restart came mid-run: the test can fail
    assert problems == [], "\n".join(problems[:40])
    assert codes == [0, 0, 0], run.stderr(run.next_index - 1)
