"""One ``cm run`` per ledger (``ledger/run_lock.py``), on SQLite and on PostgreSQL: a second
runner is refused with the first one named; the lock goes with a killed process (a restarted
copy starts at once); on PostgreSQL a lock lost with its connection is taken again, or the
runner learns that another has it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from cm_toolkit.errors import AlreadyRunning
from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.ledger.run_lock import RunLock, take_run_lock
from tests.ledger_fixtures import POSTGRES_URL, database_url, ledger  # noqa: F401 (fixtures)

HOLDER = """
import sys, time
from pathlib import Path
from cm_toolkit.ledger import open_ledger
from cm_toolkit.ledger.run_lock import take_run_lock
from cm_toolkit.sending.worker import new_worker_id
worker = new_worker_id()
ledger = open_ledger(sys.argv[1], Path(sys.argv[2]))
lock = take_run_lock(ledger.engine, worker)
print(worker, flush=True)
time.sleep(120)
"""


def take_within(target: Ledger, worker: str, seconds: float) -> RunLock:
    """The lock, once its holder's death has reached the OS / the server."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return take_run_lock(target.engine, worker)
        except AlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_second_runner_is_refused_and_told_who_runs(ledger: Ledger) -> None:  # noqa: F811
    first = take_run_lock(ledger.engine, "host-a/1111/aaaaaa")
    with pytest.raises(AlreadyRunning) as refused:
        take_run_lock(ledger.engine, "host-b/2222/bbbbbb")
    assert "cm run host-a/1111/aaaaaa" in refused.value.message
    assert "already publishing from this ledger" in refused.value.message
    assert "stop it first (it runs on host-a)" in refused.value.fix
    assert first.verify()
    first.release()
    second = take_run_lock(ledger.engine, "host-b/2222/bbbbbb")  # free again
    second.release()


def test_the_lock_goes_with_a_killed_process(
    ledger: Ledger, database_url: str, tmp_path: Path  # noqa: F811
) -> None:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, database_url, str(tmp_path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        worker = child.stdout.readline().strip()
        assert worker, child.stderr.read() if child.stderr else ""
        with pytest.raises(AlreadyRunning) as refused:
            take_run_lock(ledger.engine, "test/1/cccccc")
        assert worker in refused.value.message
        assert f"kill {worker.split('/')[1]}" in refused.value.fix  # a process of this machine
    finally:
        child.kill()  # SIGKILL: no clean-up of its own
        child.communicate(timeout=10)  # reaped, its pipes closed
    take_within(ledger, "test/1/cccccc", 60.0).release()


# PostgreSQL only: a SQLite lock is a file lock, it has no connection to lose
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_lock_lost_with_its_connection_is_taken_again_unless_another_has_it(
    ledger: Ledger, database_url: str  # noqa: F811
) -> None:
    admin = sa.create_engine(POSTGRES_URL)

    def cut(worker: str) -> None:
        with admin.begin() as connection:
            ended = connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": f"cm run {worker}"}).all()
        assert ended == [(True,)]

    try:
        lock = take_run_lock(ledger.engine, "host-a/1/aaaaaa")
        cut("host-a/1/aaaaaa")
        assert lock.verify()  # nobody else: taken again on a new connection
        with pytest.raises(AlreadyRunning):
            take_run_lock(ledger.engine, "host-b/2/bbbbbb")
        cut("host-a/1/aaaaaa")
        other = take_within(ledger, "host-b/2/bbbbbb", 60.0)
        assert not lock.verify()  # another runner has it now: this one must stop
        other.release()
        lock.release()
    finally:
        admin.dispose()


def test_cm_run_refuses_to_start_beside_another(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    database = f"sqlite:///{tmp_path / 'cm.db'}"
    other = open_ledger(database, root)
    lock = take_run_lock(other.engine, "laptop/4242/abcdef")
    try:
        done = subprocess.run(
            [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", "run", "--quiet",
             "--workspace", str(root), "--database-url", database],
            capture_output=True, text=True, timeout=60, check=False,
        )
    finally:
        lock.release()
        other.close()
    said = " ".join(done.stderr.split())  # the console wraps long lines
    assert done.returncode == 1, done.stderr
    assert "cm run laptop/4242/abcdef" in said
    assert f"already publishing from this ledger ({tmp_path / 'cm.db'})" in said
    assert "stop it first" in said
    assert "Traceback" not in said


def test_a_lock_file_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    from cm_toolkit.errors import LedgerError
    from cm_toolkit.ledger.run_lock import FileRunLock

    (tmp_path / "not-a-folder").write_text("")
    with pytest.raises(LedgerError) as refused:
        FileRunLock.take(tmp_path / "not-a-folder" / "cm.db.run.lock", "w/1/aaaaaa")
    assert "cannot create the run lock" in refused.value.message
    assert "permissions" in refused.value.fix
