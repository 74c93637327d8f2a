"""``cm sandbox serve`` (a real process, stopped with Ctrl-C) and ``cm sandbox env``."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.request import ProxyHandler, build_opener

import pytest

from cm_toolkit.cli import main
from cm_toolkit.cli.sandbox import make_clock, parse_start
from cm_toolkit.errors import UsageError
from cm_toolkit.sandbox.clock import ScaledClock, SystemClock
from cm_toolkit.sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[2]
CM = "import sys; from cm_toolkit.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(autouse=True)
def token_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "tokens"
    monkeypatch.setenv("CM_TOKEN_DIR", str(folder))
    monkeypatch.delenv("CM_SANDBOX_URL", raising=False)
    return folder


@pytest.fixture
def served(token_dir: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    stale = token_dir / "sandbox" / "x-mooc.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    process = subprocess.Popen(
        [sys.executable, "-c", CM, "sandbox", "serve", "--port", "0", "--seed", "4",
         "--faults", "x:429@0.5", "--speed", "60", "--start", "2027-01-04T08:00:00"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Ctrl-C"):
            break
    try:
        yield process, lines
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=120)


def test_serve_prints_how_to_use_it_and_stops_on_ctrl_c(
    served: tuple[subprocess.Popen[str], list[str]], token_dir: Path
) -> None:
    process, lines = served
    first = lines[0]
    assert first.startswith("cm-toolkit sandbox listening on http://127.0.0.1:")
    url = first.split(" on ")[1].split()[0]
    text = "\n".join(lines)
    assert "account x: " in text and "account facebook: " in text
    assert "faults: x:429@0.5" in text
    # the clock runs x60 from --start while the emulators load: within its first hour
    assert re.search(r"clock: starts 2027-01-04T08:[0-5][0-9]:[0-9.]+(\+00:00)?, x60", text), text
    assert f"export CM_SANDBOX_URL={url} NO_PROXY=127.0.0.1,localhost" in text
    opener = build_opener(ProxyHandler({}))
    with opener.open(f"{url}/_sandbox/state", timeout=120) as answer:
        state = json.load(answer)
    assert state["seed"] == 4 and state["faults"] == ["x:429@0.5"]
    assert state["now"].startswith("2027-01-04T08:")
    assert not (token_dir / "sandbox").exists()  # tokens of an earlier sandbox are forgotten
    process.send_signal(signal.SIGINT)
    # a hang detector, not a timing: a loaded machine may take seconds to stop the server
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "sandbox stopped" in out and "Traceback" not in err


def test_env_prints_exports_of_a_fresh_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "env", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    exports = dict(
        shlex.split(line)[1].split("=", 1) for line in out.splitlines()
    )
    assert exports == Sandbox(seed=0).env()
    for name in ("CM_X_ACCESS_TOKEN", "CM_FACEBOOK_PAGE_TOKEN", "CM_LINKEDIN_ACCESS_TOKEN",
                 "CM_YOUTUBE_REFRESH_TOKEN", "CM_MEET_REFRESH_TOKEN", "CM_GOOGLE_CLIENT_ID"):
        assert name in exports


def test_env_of_a_running_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(seed=2).running() as sandbox:
        url = sandbox.base_url
        assert main(["sandbox", "env", "--sandbox", url]) == 0
        expected = sandbox.env()
    out = capsys.readouterr().out
    assert f"export CM_SANDBOX_URL={url}" in out
    assert "export NO_PROXY=127.0.0.1,localhost" in out
    for name, value in expected.items():
        assert f"export {name}={shlex.quote(value)}" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--faults", "x:teapot@once"], 1, "unknown fault 'teapot'"),
        (["--start", "next tuesday"], 2, "is not an ISO 8601 date-time"),
        (["--speed", "0"], 2, "must be positive"),
        (["--host", "0.0.0.0"], 2, "only listens on the loopback interface"),
    ],
)
def test_serve_refuses_bad_options(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    assert main(["sandbox", "serve", "--port", "0", *argv]) == code
    assert message in " ".join(capsys.readouterr().err.split())


def test_clock_choice() -> None:
    assert isinstance(make_clock(1, None), SystemClock)
    scaled = make_clock(60, "2027-01-04T08:00:00+01:00")
    assert isinstance(scaled, ScaledClock) and scaled.speed == 60
    assert scaled.start.isoformat() == "2027-01-04T08:00:00+01:00"
    assert parse_start("2027-01-04T08:00").tzinfo is not None  # naive means UTC
    with pytest.raises(UsageError):
        make_clock(-1, None)
