"""``Runner`` (what ``cm run`` runs): real APScheduler alarms, real clock, sandbox over HTTP."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.channels.credentials import MemoryTokenStore
from cm_toolkit.channels.pool import ChannelPool
from cm_toolkit.clock import SystemClock
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState, EventKind
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.scheduler.runner import Runner, RunOptions
from cm_toolkit.workspace.models import Workspace
from tests.claiming import claim
from tests.scheduler.conftest import CREATE_PATHS, load
from tests.scheduler.workspace import post, write_schedules, write_workspace

S = DeliveryState


def wait_for(condition: Callable[[], Any], within: float = 120.0, what: str = "") -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


@dataclass
class Live:
    root: Path
    sandbox: Sandbox
    ledger: Ledger
    store: MemoryTokenStore

    def runner(self, **options: Any) -> Runner:
        transport = self.sandbox.transport(timeout=options.pop("timeout", 10.0))
        env = self.sandbox.env()

        def channels(workspace: Workspace) -> ChannelPool:
            return ChannelPool(workspace, transport=transport, fallback_env=env, store=self.store)

        return Runner(root=self.root, ledger=self.ledger, clock=SystemClock(), load=load,
                      channels=channels, options=RunOptions(resync_seconds=0.2, **options))

    def state(self, post_key: str, channel_id: str) -> DeliveryState:
        for due in self.ledger.next_due(1000):
            if (due.delivery.post_key, due.delivery.channel_id) == (post_key, channel_id):
                return due.delivery.state
        return self.final(post_key, channel_id).state

    def final(self, post_key: str, channel_id: str) -> Any:
        from sqlalchemy import select

        from cm_toolkit.ledger.models import Delivery

        with self.ledger.reading() as session:
            return session.scalars(select(Delivery).where(
                Delivery.post_key == post_key, Delivery.channel_id == channel_id)).one()

    def creates(self, network: str) -> list[Any]:
        method, path = CREATE_PATHS[network]
        return self.sandbox.journal.entries(network=network, method=method, path=path)


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    root = write_workspace(tmp_path / "ws")
    with Sandbox(seed=5).running() as sandbox:
        ledger = open_ledger(f"sqlite:///{tmp_path / 'cm.db'}", root)
        try:
            yield Live(root, sandbox, ledger, MemoryTokenStore())
        finally:
            ledger.close()


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def started(live: Live) -> Iterator[Callable[..., Runner]]:
    runners: list[Runner] = []

    def start(**options: Any) -> Runner:
        runner = live.runner(**options)
        runner.start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop()


def test_start_applies_the_workspace_and_publishes_at_the_due_instant(
    live: Live, started: Callable[..., Runner]
) -> None:
    # Whatever the machine's load, the start applies before it sends: the ledger's history says
    # so (planned, then published), and the network received nothing before the instant.
    due = now() + timedelta(seconds=2)
    write_schedules(live.root, [post("hello", due, ["x-mooc", "linkedin-page"])])
    started()
    wait_for(lambda: live.state("hello", "x-mooc") is S.PUBLISHED
             and live.state("hello", "linkedin-page") is S.PUBLISHED, what="published")
    for channel in ("x-mooc", "linkedin-page"):
        kinds = [e.kind for e in live.ledger.events(live.final("hello", channel).id)]
        assert kinds[0] is EventKind.PLANNED and kinds.count(EventKind.CLAIMED) == 1, kinds
    [create] = live.creates("x")
    assert create.at >= due.replace(microsecond=0)  # not before its instant


def test_an_edited_workspace_is_reapplied_without_restart(
    live: Live, started: Callable[..., Runner]
) -> None:
    write_schedules(live.root, [post("later", now() + timedelta(hours=1), ["x-mooc"])])
    runner = started()
    later_id = live.final("later", "x-mooc").id
    assert runner.alarm_clock.alarms[later_id] > now() + timedelta(minutes=59)
    time.sleep(0.05)  # a new mtime
    soon = now() + timedelta(seconds=1)
    write_schedules(live.root, [post("later", soon, ["x-mooc"]),
                                post("added", soon, ["facebook-page"])])
    wait_for(lambda: live.state("later", "x-mooc") is S.PUBLISHED
             and live.state("added", "facebook-page") is S.PUBLISHED, what="re-applied")
    assert [e.kind for e in live.ledger.events(later_id)][:2] == [EventKind.PLANNED,
                                                                  EventKind.CHANGED]


def test_a_send_orphaned_by_a_dead_process_becomes_unknown_at_start(live: Live,
                                                                     started: Callable[..., Runner]
                                                                     ) -> None:
    write_schedules(live.root, [post("orphan", now(), ["x-mooc"]),
                                post("elsewhere", now(), ["facebook-page"])])
    live.runner().reload()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    host = socket.gethostname()
    orphan = live.final("orphan", "x-mooc").id
    other = live.final("elsewhere", "facebook-page").id
    lease = timedelta(minutes=10)
    assert claim(live.ledger, orphan, f"{host}/{dead.stdout.strip()}/dead00", now(), lease)
    assert claim(live.ledger, other, "another-host/1/abcdef", now(), lease)
    runner = started()
    row = live.final("orphan", "x-mooc")
    assert row.state is S.UNKNOWN and "stopped while sending" in (row.last_error or "")
    assert live.ledger.events(orphan)[-1].kind is EventKind.LEASE_EXPIRED
    # another host's send is not ours to judge: it stays 'sending' until its lease ends
    assert live.final("elsewhere", "facebook-page").state is S.SENDING
    runner.sync_alarms()  # one more pass over the ledger: neither gets an alarm to be sent again
    assert orphan not in runner.alarm_clock.alarms and other not in runner.alarm_clock.alarms
    assert not live.creates("x") and not live.creates("facebook")


def test_after_downtime_posts_within_grace_go_out_paced_and_older_ones_are_missed(
    live: Live, started: Callable[..., Runner]
) -> None:
    backlog = [post(f"b{n}", now() - timedelta(minutes=20), ["x-mooc"]) for n in range(4)]
    too_old = post("old", now() - timedelta(hours=2), ["x-mooc"])
    write_schedules(live.root, [*backlog, too_old], spacing=timedelta(seconds=1))
    started()
    wait_for(lambda: all(live.state(f"b{n}", "x-mooc") is S.PUBLISHED for n in range(4)),
             what="backlog published")
    assert live.state("old", "x-mooc") is S.MISSED
    times = sorted(e.at for e in live.creates("x") if e.status == 201)
    assert len(times) == 4
    gaps = [b - a for a, b in pairwise(times)]
    assert min(gaps) >= timedelta(seconds=0.95), gaps  # no burst: spacing holds


def test_stop_waits_for_a_send_in_flight_to_be_recorded(live: Live,
                                                        started: Callable[..., Runner]) -> None:
    # The answer is held until the test releases it (not a delay that a busy machine could
    # outlast): the send is in flight for as long as the test needs.
    live.sandbox.faults.timeout_delay = None
    live.sandbox.faults.add("x:timeout@once/2/tweets")
    write_schedules(live.root, [post("slow", now(), ["x-mooc"])])
    runner = started(timeout=300.0)  # the client waits longer than the test's hold
    wait_for(lambda: live.creates("x"), what="the request reached X")
    assert live.state("slow", "x-mooc") is S.SENDING
    stopping = threading.Thread(target=runner.stop)
    stopping.start()
    stopping.join(0.5)
    assert stopping.is_alive()  # stop() waits: the send is not recorded yet
    assert live.state("slow", "x-mooc") is S.SENDING
    live.sandbox.faults.release_held()  # the connection closes without an answer
    stopping.join(120)
    assert not stopping.is_alive()
    # recorded before stop() returned: sent, no answer, so unknown (never re-sent blindly)
    assert live.state("slow", "x-mooc") is S.UNKNOWN


def test_cm_run_stops_cleanly_on_sigterm(live: Live, tmp_path: Path) -> None:
    live.sandbox.faults.add("x:expire@once/2/tweets")  # its token is refreshed, then stored
    write_schedules(live.root, [post("hello", now(), ["x-mooc"])])
    command = [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", "run",
               "--quiet", "--workspace", str(live.root), "--sandbox", live.sandbox.base_url,
               "--database-url", f"sqlite:///{tmp_path / 'run.db'}", "--resync", "0.5"]
    env = {"CM_TOKEN_DIR": str(tmp_path / "tokens"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        wait_for(lambda: [e for e in live.creates("x") if e.status == 201], within=60,
                 what="cm run published")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert b"cm run stopped cleanly" in out
    assert b"Traceback" not in err
    # the refreshed sandbox token went to the sandbox's own store, never to the real one
    assert (tmp_path / "tokens" / "sandbox" / "x-mooc.json").exists()
    assert not (tmp_path / "tokens" / "x-mooc.json").exists()


def test_the_live_view_shows_what_is_next_what_happened_and_what_needs_a_person(
    live: Live, started: Callable[..., Runner]
) -> None:
    from rich.console import Console

    from cm_toolkit.cli.live_view import LiveView

    write_schedules(live.root, [post("hello", now() + timedelta(seconds=1), ["x-mooc"]),
                                post("oops", now() + timedelta(seconds=1), ["facebook-page"],
                                     template="broken"),  # failed: a person must look
                                post("later", now() + timedelta(hours=2), ["linkedin-page"])])
    runner = started()
    wait_for(lambda: live.state("hello", "x-mooc") is S.PUBLISHED
             and live.state("oops", "facebook-page") is S.FAILED, what="both sent")
    console = Console(record=True, width=200)
    console.print(LiveView(runner).render())
    screen = console.export_text()
    hello, later = live.final("hello", "x-mooc"), live.final("later", "linkedin-page")
    assert f"#{later.id} later → linkedin-page" in screen  # next
    assert re.search(rf"│ published\s*│ #{hello.id} hello → x-mooc", screen)
    assert hello.remote_url and hello.remote_url in screen  # what it became
    assert "failed" in screen and "oops → facebook-page" in screen
    assert "published 1" in screen and "failed 1" in screen and "planned 1" in screen
    assert "1 need you: cm review" in screen
