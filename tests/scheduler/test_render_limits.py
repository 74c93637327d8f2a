"""Bounded renders in the scheduler: a looping template fails its delivery at file:line and
sends nothing; ``cm run`` stops on SIGTERM while such a render runs, claims nothing, loses
nothing; a media file that leads outside the workspace at send time fails, unread.

Decision (docs/scheduler.md): a render over its limit is a template error, so the delivery is
``failed`` with the error (``cm retry`` once the template is fixed). A render stopped because
``cm run`` stops is nobody's error: the delivery stays ``planned``, rendered again at the next
start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.scheduler.pacing import Pacer
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import CREATE_PATHS, START, Rig
from tests.scheduler.workspace import post, write_workspace
from tests.templates.conftest import SteppedClock

S = DeliveryState
DUE = START + timedelta(minutes=1)
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n"


def test_a_looping_template_fails_its_delivery_at_its_line_and_sends_nothing(rig: Rig) -> None:
    (rig.root / "templates" / "loop.j2").write_text("Bonjour\n" + LOOP, encoding="utf-8")
    runner = rig.apply([post("hello", DUE, ["x-mooc"], template="loop")])
    runner.current_view().renderer.env.clock = SteppedClock(0.01)
    rig.clock.set(DUE)
    assert rig.run("hello", "x-mooc").step is Step.FAILED
    row = rig.row("hello", "x-mooc")
    assert row.state is S.FAILED
    assert (row.last_error or "").startswith("templates/loop.j2:2: this template ran longer than 2 s")
    assert not rig.creates("x")


def test_a_delivery_that_cannot_be_rendered_takes_no_slot_from_the_next(rig: Rig) -> None:
    """A broken post fails without sending: the account's next post, due at the same
    instant, goes at once instead of waiting out a spacing nobody used."""
    (rig.root / "templates" / "loop.j2").write_text(LOOP, encoding="utf-8")
    runner = rig.apply([post("broken", DUE, ["x-mooc"], template="loop"),
                        post("fine", DUE, ["x-mooc"])], spacing=timedelta(minutes=5))
    runner.current_view().renderer.env.clock = SteppedClock(0.01)
    publisher = rig.publisher(pacer=Pacer(timedelta(minutes=5), budgets={}))
    rig.clock.set(DUE)
    assert rig.run("broken", "x-mooc", publisher).step is Step.FAILED
    assert rig.run("fine", "x-mooc", publisher).step is Step.PUBLISHED
    assert len(rig.creates("x")) == 1


def test_a_render_stopped_by_cm_run_stopping_claims_nothing(rig: Rig) -> None:
    (rig.root / "templates" / "loop.j2").write_text(LOOP, encoding="utf-8")
    runner = rig.apply([post("hello", DUE, ["x-mooc"], template="loop")])
    renderer = runner.current_view().renderer
    renderer.cancel = threading.Event()
    renderer.cancel.set()  # as Runner.stop() does
    rig.clock.set(DUE)
    attempt = rig.run("hello", "x-mooc")
    assert (attempt.step, attempt.detail) == (Step.SKIPPED, "cm run is stopping")
    row = rig.row("hello", "x-mooc")
    assert row.state is S.PLANNED and row.attempts == 0
    assert not rig.creates("x")


def test_media_linked_outside_after_the_check_fails_unread(rig: Rig, tmp_path: Path) -> None:
    private = tmp_path / "private.png"
    private.write_bytes(b"\x89PNG private")
    (rig.root / "assets").mkdir()
    (rig.root / "assets" / "photo.png").write_bytes(b"\x89PNG fine")
    rig.apply([post("hello", DUE, ["x-mooc"], media=["assets/photo.png"])])
    (rig.root / "assets" / "photo.png").unlink()
    (rig.root / "assets" / "photo.png").symlink_to(private)
    rig.clock.set(DUE)
    assert rig.run("hello", "x-mooc").step is Step.FAILED
    row = rig.row("hello", "x-mooc")
    assert f"`assets/photo.png` is a link to {private}, outside the workspace" in (
        row.last_error or "")
    assert not rig.sandbox.journal.entries(network="x")  # no upload, no post


# -- a real cm run -----------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(condition: object, what: str, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def _state(database: str, root: Path) -> tuple[S, str | None]:
    ledger = open_ledger(database, root)
    try:
        with ledger.reading() as session:
            row = session.query(Delivery).one()
            return row.state, row.last_error
    finally:
        ledger.close()


def test_cm_run_stops_on_sigterm_while_a_template_loops(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    due = datetime.now(UTC) - timedelta(seconds=1)  # due at once, well within its grace
    write_workspace(root, [post("hello", due, ["x-mooc"], template="loop")],
                    channels=["x-mooc"])
    (root / "templates" / "loop.j2").write_text(LOOP, encoding="utf-8")
    schedules = root / "schedules.yaml"
    plain = schedules.read_text("utf-8")
    database = f"sqlite:///{tmp_path / 'cm.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CM_")}
    env["CM_TOKEN_DIR"] = str(tmp_path / "tokens")
    err = tmp_path / "run.err"

    with Sandbox(seed=2027).running() as sandbox:

        def start() -> subprocess.Popen[bytes]:
            with err.open("wb") as stream:
                return subprocess.Popen(
                    [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", "run",
                     "--quiet", "--workspace", str(root), "--sandbox", sandbox.base_url,
                     "--database-url", database, "--resync", "0.5",
                     "--log-file", str(tmp_path / "cm.log")],
                    stdout=subprocess.DEVNULL, stderr=stream, env=env)

        def stop(process: subprocess.Popen[bytes]) -> float:
            asked = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            finally:
                if process.poll() is None:
                    process.kill()
            return time.monotonic() - asked

        # 1. a 30 s limit: SIGTERM arrives while the render loops; cm run does not wait for it
        schedules.write_text("template_limits: {seconds: 30}\n" + plain, encoding="utf-8")
        process = start()
        try:
            _wait(lambda: "cm run started" in err.read_text(errors="replace"), "cm run to start")
            spent = _cpu_seconds(process.pid)
            # only the render burns CPU now: one more second of it means it is looping
            _wait(lambda: _cpu_seconds(process.pid) > spent + 1.0, "the render to loop")
        finally:
            took = stop(process)
        said = err.read_text(errors="replace")
        assert process.returncode == 0, said
        assert took < 15, f"cm run took {took:.1f} s to stop"
        assert "render stopped, cm run is stopping" in said and "Traceback" not in said
        assert _state(database, root) == (S.PLANNED, None)  # not claimed, not lost

        # 2. the default-like limit: the delivery fails with the template error, nothing sent
        schedules.write_text("template_limits: {seconds: 0.5}\n" + plain, encoding="utf-8")
        process = start()
        try:
            _wait(lambda: _state(database, root)[0] is S.FAILED, "the delivery to fail")
        finally:
            stop(process)
        _state_now, error = _state(database, root)
        assert (error or "").startswith("templates/loop.j2:1: this template ran longer than 0.5 s")
        method, path = CREATE_PATHS["x"]
        assert not sandbox.journal.entries(network="x", method=method, path=path)
