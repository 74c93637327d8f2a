"""A network added from outside the project works end to end: the example plugin "Chirp".

``tests/plugin_example`` is a separate package (installed into the test environment by
``make install``) that declares the ``chirp`` network through the ``cm_toolkit.channels``
entry point and names its sandbox emulator on its adapter. Nothing in cm_toolkit names it.
These tests drive the real CLI in subprocesses, as a user would: ``cm check``, ``cm preview``,
``cm channels --check --sandbox`` and a scheduled publish through ``cm run``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from cm_toolkit.sandbox.server import Sandbox
from tests.scheduler.workspace import post, write_workspace

pytestmark = pytest.mark.skipif(
    not any(p.name == "chirp" for p in entry_points(group="cm_toolkit.channels")),
    reason="the example plugin is not installed: run `make install` "
    "(it installs tests/plugin_example)",
)

CHANNEL_FILE = """\
network: chirp
name: Chirp (the course's account)
account:
  handle: mooc-leader
secrets:
  access_token: {env: CM_CHIRP_TOKEN}
"""
TEXT = "Module 3 opens today: leading a remote team, with the course team's checklist."


def _cm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False)


def _workspace(root: Path, at: datetime) -> Path:
    write_workspace(root, [post("chirp-module-3", at, ["chirp"], text=TEXT,
                                link="https://mooc.example.org/module-3")], channels=[])
    (root / "channels" / "chirp.yaml").write_text(CHANNEL_FILE, encoding="utf-8")
    return root


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CM_")}
    env["CM_TOKEN_DIR"] = str(tmp_path / "tokens")
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def _wait(condition: Callable[[], bool], what: str, within: float = 90.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def test_the_plugin_network_is_listed_with_its_facts() -> None:
    done = _cm("channels", "--networks", "--json")
    assert done.returncode == 0, done.stderr
    [chirp] = [n for n in json.loads(done.stdout)["networks"] if n["network"] == "chirp"]
    assert chirp["source"] == "cm-chirp-example"
    assert chirp["text_max"] == 400 and chirp["sandbox"] is True
    assert set(chirp["capabilities"]) == {"text", "link", "delete", "followers"}


def test_check_and_preview_use_the_plugins_rules(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "ws", datetime(2031, 3, 2, 9, tzinfo=UTC))
    env = _env(tmp_path)
    env["CM_CHIRP_TOKEN"] = "set"
    checked = _cm("check", "--workspace", str(root), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shown = _cm("preview", "chirp-module-3", "--workspace", str(root), env=env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert TEXT in shown.stdout
    assert "https://mooc.example.org/module-3" in shown.stdout  # appended, as the adapter sends it

    # the plugin's own limit (400 characters) is the one the plan check applies
    write_workspace(root, [post("chirp-module-3", datetime(2031, 3, 2, 9, tzinfo=UTC),
                                ["chirp"], text="x" * 401)], channels=[])
    refused = _cm("check", "--workspace", str(root), env=env)
    assert refused.returncode == 1
    assert "400" in refused.stdout + refused.stderr


def test_the_sandbox_rehearses_the_plugin_and_cm_run_publishes_once(tmp_path: Path) -> None:
    due = datetime.now(UTC) - timedelta(seconds=1)  # due at once, well within its grace
    root = _workspace(tmp_path / "ws", due)
    env = _env(tmp_path)
    database = f"sqlite:///{tmp_path / 'cm.db'}"
    with Sandbox(seed=2031).running() as sandbox:
        emulator = sandbox.emulator("chirp")
        checked = _cm("channels", "--check", "--workspace", str(root),
                      "--sandbox", sandbox.base_url, env=env)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "OK: @mooc-leader" in checked.stdout

        applied = _cm("apply", "--workspace", str(root), "--database-url", database, env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        err = tmp_path / "run.err"
        with err.open("wb") as stream:
            process = subprocess.Popen(
                [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", "run",
                 "--quiet", "--workspace", str(root), "--sandbox", sandbox.base_url,
                 "--database-url", database, "--log-file", str(tmp_path / "cm.log")],
                stdout=subprocess.DEVNULL, stderr=stream, env=env)
        try:
            _wait(lambda: bool(emulator.state()["posts"]), "the post to reach Chirp")
            status = lambda: _cm("status", "--workspace", str(root),
                                 "--database-url", database, "--json", env=env)
            _wait(lambda: '"published"' in status().stdout, "the ledger to say published")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        assert process.returncode == 0, err.read_text(errors="replace")
    [sent] = emulator.state()["posts"]
    assert sent["text"] == f"{TEXT}\nhttps://mooc.example.org/module-3"
    creates = sandbox.journal.entries(network="chirp", method="POST", path="/v1/posts")
    assert len(creates) == 1
    assert creates[0].headers.get("idempotency-key")  # the delivery's key went with it
