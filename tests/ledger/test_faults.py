"""Ledger faults end in one line with the cause and the fix (issue 15 item 5, issue 12).

Read-only commands open the ledger read-only and never create one; a 0-byte file is refused;
a locked, full or read-only database is named as such; ``cm run``'s log says why it failed.
Tests run as root (file permissions do not bind it), so "a user who can only read" is what
SQLite itself enforces: the ledger opened with ``mode=ro``, and its ``-wal`` file impossible to
create (a folder in its place), as in a folder the user cannot write.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cm_toolkit.cli import main
from cm_toolkit.errors import LedgerError, NoLedger
from cm_toolkit.ledger import Ledger, LedgerAccess, open_ledger
from cm_toolkit.ledger import models as m
from cm_toolkit.ledger.faults import explain
from tests.ledger.test_cli import sample  # noqa: F401 (fixture)
from tests.ledger.test_engine import ledger_at_revision

READERS = (
    ("status",), ("review",), ("growth", "report"), ("report", "activity", "-o", "-"),
    ("dashboard", "--port", "0"),
)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())  # Rich wraps long lines


def _squash(text: str) -> str:
    return "".join(text.split())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _snapshot(ledger: Ledger) -> None:
    with ledger.writing() as session:
        session.add(m.FollowerSnapshot(channel_id="x-mooc", network="x",
                                       taken_at=sa.func.now(), followers=10))


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c[:2]))
@pytest.mark.parametrize("mistake", ["missing/folder/cm.db", "cm.dbb"])
def test_a_reader_refuses_a_ledger_that_does_not_exist(
        sample: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...],  # noqa: F811
        mistake: str) -> None:
    url = f"sqlite:///{sample / mistake}"
    code, _, err = _run(capsys, *command, "-w", str(sample), "--database-url", url)
    assert code == 1 and "Traceback" not in err
    assert _squash(f"there is no ledger at {sample / mistake}") in _squash(err)
    assert "cm apply" in err
    assert not (sample / mistake).exists() and not (sample / "missing").exists()
    assert not (sample / ".cm" / "cm.db").exists()


def test_after_a_demo_a_missing_ledger_points_at_the_demos(
        sample: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    """`make demo`, then `cm status`: the workspace has no ledger yet, the demo's is beside it."""
    code, _, err = _run(capsys, "status", "-w", str(sample))
    assert code == 1 and "cm demo" not in err
    demo = sample / ".cm" / "demo" / "cm.db"
    demo.parent.mkdir(parents=True)
    demo.write_bytes(b"")
    code, _, err = _run(capsys, "status", "-w", str(sample))
    assert code == 1 and "cm apply" in err
    assert _squash(f"to read the last `cm demo`'s season, add --database-url sqlite:///{demo}") \
        in _squash(err)
    assert not (sample / ".cm" / "cm.db").exists()


def test_writers_other_than_apply_refuse_a_missing_ledger(
        sample: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    for command in (("cancel", "news", "--yes"), ("retry", "1"), ("done", "1"),
                    ("resolve", "1", "--drop")):
        code, _, err = _run(capsys, *command, "-w", str(sample))
        assert code in (1, 2) and "Traceback" not in err, (command, err)
    assert not (sample / ".cm" / "cm.db").exists()


def test_plan_before_the_first_apply_creates_nothing(
        sample: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    code, out, _ = _run(capsys, "plan", "-w", str(sample))
    assert code == 0 and "not created yet" not in out and "none yet" in " ".join(out.split())
    assert not (sample / ".cm" / "cm.db").exists()
    assert _run(capsys, "apply", "-w", str(sample))[0] == 0
    assert (sample / ".cm" / "cm.db").stat().st_size > 0


@pytest.mark.parametrize("command", [("apply",), ("status",), ("growth", "import", "h.csv")])
def test_a_zero_byte_ledger_is_never_taken_for_a_new_one(
        sample: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
        command: tuple[str, ...]) -> None:
    (sample / ".cm").mkdir()
    (sample / ".cm" / "cm.db").touch()
    (sample / "h.csv").write_text("date,channel,followers\n")
    code, _, err = _run(capsys, *command, "-w", str(sample))
    assert code == 1 and "Traceback" not in err
    assert "is empty (0 bytes)" in err and "restore it from a backup" in err
    assert (sample / ".cm" / "cm.db").stat().st_size == 0


def test_readers_work_on_a_ledger_they_can_only_read(
        sample: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert _run(capsys, "apply", "-w", str(sample))[0] == 0
    database = sample / ".cm" / "cm.db"
    assert not (sample / ".cm" / "cm.db-wal").exists()  # the last connection removed it
    before = _digest(database)
    # a folder the user cannot write: SQLite cannot make the WAL file beside the ledger (even
    # mode=ro fails: "unable to open database file"); the readers then read the file as it is
    (sample / ".cm" / "cm.db-wal").mkdir()
    plain = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        plain.execute("SELECT count(*) FROM sqlite_master")
    plain.close()
    for command in READERS[:4]:
        code, _, err = _run(capsys, *command, "-w", str(sample))
        assert code == 0 and "Traceback" not in err, (command, err)
    assert "Deliveries" in _run(capsys, "status", "-w", str(sample))[1]
    assert _digest(database) == before  # nothing written


def test_a_read_only_ledger_refuses_any_write_in_the_database(database_url: str,
                                                              tmp_path: Path) -> None:
    open_ledger(database_url, tmp_path).close()
    reader = open_ledger(database_url, tmp_path, LedgerAccess.READ)
    try:
        assert reader.state_counts() == []
        with pytest.raises(sa.exc.DBAPIError) as raised:
            _snapshot(reader)
    finally:
        reader.close()
    error = explain(raised.value)
    assert "read-only for this user" in error.message and "owner" in error.fix


def test_a_read_only_ledger_sees_what_a_writer_commits_meanwhile(tmp_path: Path) -> None:
    writer = open_ledger(None, tmp_path)
    reader = open_ledger(None, tmp_path, LedgerAccess.READ)
    try:
        assert reader.state_counts() == []
        with reader.reading() as session:  # a connection is open, then the writer commits
            assert session.scalar(sa.select(sa.func.count()).select_from(
                m.FollowerSnapshot)) == 0
        _snapshot(writer)
        with reader.reading() as session:  # live, not the file as it was (immutable)
            assert session.scalar(sa.select(sa.func.count()).select_from(
                m.FollowerSnapshot)) == 1
    finally:
        reader.close()
        writer.close()


def test_a_reader_does_not_migrate_and_says_how_to_upgrade(tmp_path: Path) -> None:
    ledger_at_revision(tmp_path, "0001")
    with pytest.raises(LedgerError, match="older cm-toolkit") as raised:
        open_ledger(None, tmp_path, LedgerAccess.READ)
    assert "cm apply" in raised.value.fix
    with pytest.raises(NoLedger):
        open_ledger(f"sqlite:///{tmp_path / 'other.db'}", tmp_path, LedgerAccess.WRITE)


def test_a_locked_ledger_is_named_with_its_fix(tmp_path: Path) -> None:
    ledger = open_ledger(None, tmp_path, busy_timeout_ms=50)
    other = sqlite3.connect(tmp_path / ".cm" / "cm.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        with pytest.raises(sa.exc.OperationalError) as raised:
            _snapshot(ledger)
    finally:
        other.execute("ROLLBACK")
        other.close()
        ledger.close()
    error = explain(raised.value)
    assert error.message.startswith("the ledger is locked by another process")
    assert str(tmp_path / ".cm" / "cm.db") in error.message  # which ledger: set by the engine
    assert "wait for the other command" in error.fix


def test_a_full_disk_is_named_and_the_parameters_are_not_shown(tmp_path: Path) -> None:
    ledger = open_ledger(None, tmp_path)

    @sa.event.listens_for(ledger.engine, "connect")
    def _small_disk(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA max_page_count = 40")  # SQLite's own "disk full"

    ledger.engine.dispose()  # new connections get the small disk
    secret = "learner's private message " * 8000  # 200 kB: more than 40 pages
    try:
        with pytest.raises(sa.exc.OperationalError) as raised, ledger.writing() as session:
            session.execute(sa.text("CREATE TABLE notes (body TEXT)"))
            session.execute(sa.text("INSERT INTO notes VALUES (:body)"), {"body": secret})
    finally:
        ledger.close()
    error = explain(raised.value)
    assert error.message.startswith("the disk under the ledger is full")
    assert "free space" in error.fix and "learner" not in str(error)


def test_the_cli_turns_a_database_fault_into_one_line(
        sample: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    open_ledger(None, sample).close()  # an empty ledger, which cm apply then fills
    read_only = f"sqlite:///file:{sample / '.cm' / 'cm.db'}?mode=ro&uri=true"
    code, _, err = _run(capsys, "apply", "-w", str(sample), "--database-url", read_only)
    assert code == 1 and "Traceback" not in err and "[SQL" not in err
    assert "the ledger is read-only for this user" in err and "owner" in err
    assert len(err.strip().splitlines()) == 1


def test_run_says_why_it_cannot_write_its_log(sample: Path,  # noqa: F811
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (sample / ".cm").write_text("a file where the folder should be")
    code, _, err = _run(capsys, "run", "-w", str(sample), "--quiet")
    assert code == 1 and "Traceback" not in err
    assert _squash(f"cannot write the log file {sample / '.cm' / 'cm.log'}") in _squash(err)
    assert "--log-file" in err


def test_the_json_log_names_the_cause_and_the_file_keeps_the_traceback(tmp_path: Path) -> None:
    from cm_toolkit.cli.scheduler import JsonLogFormatter

    ledger = open_ledger(None, tmp_path)
    try:
        with ledger.writing() as session:
            session.execute(sa.text("INSERT INTO nowhere VALUES (:text)"),
                            {"text": "a learner's message"})
    except sa.exc.OperationalError:
        record = logging.LogRecord("cm.scheduler", logging.ERROR, __file__, 1,
                                   "delivery %s: publisher error", (7,), sys.exc_info())
    finally:
        ledger.close()
    terminal = json.loads(JsonLogFormatter().format(record))
    in_file = json.loads(JsonLogFormatter(with_traceback=True).format(record))
    assert terminal["message"] == "delivery 7: publisher error"
    assert terminal["error"] == "OperationalError: no such table: nowhere"
    assert "traceback" not in terminal
    assert in_file["error"] == terminal["error"]
    assert "test_faults.py" in in_file["traceback"]
    assert in_file["traceback"].endswith("OperationalError: no such table: nowhere")
    assert "learner" not in json.dumps(in_file)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 3 MB disk (tmpfs; root only): the full-disk faults as a user meets them."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
            check=False, capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as stream:
        try:
            while True:
                stream.write(b"\0" * 65536)
                stream.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_one_line_and_leaves_no_empty_ledger_behind(
        sample: Path, tiny_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    root = tiny_disk / "ws"
    shutil.copytree(sample, root)
    filler = _fill(tiny_disk)
    code, _, err = _run(capsys, "apply", "-w", str(root))
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "the disk under the ledger is full" in err and "free space" in err
    # the ledger this apply began is gone: the next command is not met by a 0-byte file
    assert not (root / ".cm" / "cm.db").exists()
    filler.unlink()
    assert _run(capsys, "apply", "-w", str(root))[0] == 0


def test_disk_io_error_on_a_full_disk_names_the_full_disk(
        sample: Path, tiny_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    root = tiny_disk / "ws"
    shutil.copytree(sample, root)
    assert _run(capsys, "apply", "-w", str(root))[0] == 0
    schedules = root / "schedules.yaml"
    moved = schedules.read_text("utf-8").replace('at: "2027-02-08 10:00"', 'at: "2027-02-08 11:00"')
    schedules.write_text(moved, encoding="utf-8")  # a change for apply to write
    filler = _fill(tiny_disk)
    code, _, err = _run(capsys, "apply", "-w", str(root))
    filler.unlink()
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "the disk under the ledger is full" in err and "free space" in err
