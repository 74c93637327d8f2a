"""Every command and every option of ``cm``, with boundary and wrong values.

The list is derived from the Typer app, so a new command or option is covered the day it is
added. Each value is judged the same way: the run ends (or, for a command that serves until
stopped, stops on SIGTERM) within seconds, shows no traceback, and a non-zero exit says
something. Most commands run in-process (fast); the few that serve or loop until stopped
(``LONG_RUNNING``) run as processes that are sent SIGTERM when they are still up.
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
import signal
import subprocess
import sys
import threading
import time
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from cm_toolkit.cli import _register_commands, app, main
from cm_toolkit.ledger import open_ledger
from tests.sample_workspace import copy_sample

CM = "import sys; from cm_toolkit.cli import entry; sys.argv[0] = 'cm'; entry()"

LONG_RUNNING = {"run", "dashboard", "sandbox serve", "demo"}
"""Commands that serve or replay until stopped: run as processes, stopped with SIGTERM."""

IN_PROCESS_LIMIT = 120  # seconds: a hang detector, not a speed test (a busy machine took 15+)
BATCH = 6  # processes at a time
STARTUP = 60.0  # seconds a process may take to print its first line
SETTLE = 3.0  # seconds after that a long-running command gets to refuse a value
STOP_WITHIN = 8.0  # seconds SIGTERM may take

# placeholders, replaced per run by paths in the test's folder
DIR, MISSING, FILE = "<dir>", "<missing>", "<file>"
WRONG: dict[type, tuple[str, ...]] = {
    int: ("-5", "0", "99999999999"),
    float: ("-5", "0", "1e12", "nan"),
    Path: (DIR, MISSING, FILE),
    str: ("", "-5", DIR, MISSING),
}
FILLER: dict[type, str] = {int: "1", float: "1", Path: MISSING, str: "nope"}


@dataclass(frozen=True)
class Case:
    command: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return " ".join(self.argv) or "(none)"


def _leaves(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    commands = getattr(group, "commands", None)
    if commands is None:
        yield " ".join(path), group
        return
    for name, command in sorted(commands.items()):
        yield from _leaves(command, (*path, name))


def _base_type(annotation: Any) -> Any:
    """``Path | None`` -> Path; ``Annotated[int, ...]`` was already stripped by get_type_hints."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _wrong_values(annotation: Any) -> tuple[str, ...]:
    kind = _base_type(annotation)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return ("bogus",)
    return WRONG.get(kind, ("", "bogus"))


def _cases() -> list[Case]:
    _register_commands(everything=True)
    cases = []
    for name, command in _leaves(typer.main.get_command(app)):
        hints = typing.get_type_hints(command.callback) if command.callback else {}
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        options = [p for p in command.params if p.param_type_name == "option"]
        filled = {p.name: FILLER.get(_base_type(hints.get(p.name, str)), "nope")
                  for p in arguments}
        # a server under test listens on any free port unless its port is what is tested
        port = ["--port", "0"] if any("--port" in p.opts for p in options) else []

        def argv(arguments_: dict[str, str], extra: list[str], port_: list[str]) -> tuple[str, ...]:
            return (*name.split(), *arguments_.values(), *extra, *port_)  # noqa: B023

        cases.append(Case(name, argv(filled, [], port)))
        for param in arguments:
            for value in _wrong_values(hints.get(param.name, str)):
                cases.append(Case(name, argv({**filled, param.name: value}, [], port)))
        for param in options:
            flag = param.opts[0]
            others = [] if flag == "--port" else port
            if getattr(param, "is_flag", False):
                cases.append(Case(name, argv(filled, [flag], others)))
                continue
            for value in _wrong_values(hints.get(param.name, str)):
                cases.append(Case(name, argv(filled, [flag, value], others)))
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("every-option")


def _resolve(argv: tuple[str, ...], folder: Path) -> list[str]:
    (folder / "a-folder").mkdir(exist_ok=True)
    (folder / "a-file.bin").write_bytes(b"\xff\xfe not text, not yaml \x00")
    places = {DIR: str(folder / "a-folder"), MISSING: str(folder / "missing" / "x.txt"),
              FILE: str(folder / "a-file.bin")}
    return [places.get(arg, arg) for arg in argv]


def _environment(workspace: Path, folder: Path, *, dead_sandbox: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CM_")}
    env.update(CM_WORKSPACE=str(workspace), CM_TOKEN_DIR=str(folder / "tokens"),
               NO_PROXY="127.0.0.1,localhost")
    if dead_sandbox:  # nothing listens on port 9: a command that would call a network fails fast
        env["CM_SANDBOX_URL"] = "http://127.0.0.1:9"
    return env


def _judge(case: Case, code: int | None, out: str, err: str) -> None:
    shown = f"cm {case}: exit {code}\n--- stdout\n{out[-2000:]}\n--- stderr\n{err[-2000:]}"
    assert "Traceback" not in out + err, shown
    if code not in (0, None, -signal.SIGTERM):
        assert (out + err).strip(), f"a non-zero exit without a message: {shown}"


class _Hung(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Hung


@pytest.mark.parametrize("case", [c for c in CASES if c.command not in LONG_RUNNING], ids=str)
def test_in_process(case: Case, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = folder / "workspace"
    if not workspace.exists():
        copy_sample(workspace)
    for key in [k for k in os.environ if k.startswith("CM_")]:
        monkeypatch.delenv(key)
    for key, value in _environment(workspace, folder).items():
        monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(IN_PROCESS_LIMIT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(_resolve(case.argv, folder))
    except _Hung:
        pytest.fail(f"cm {case} ran longer than {IN_PROCESS_LIMIT} s in-process: a hang, or a "
                    "command that serves until stopped (add it to LONG_RUNNING)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    _judge(case, code, out.getvalue(), err.getvalue())


class _Process:
    """A cm process whose output is read as it comes (its first line says it is up)."""

    def __init__(self, case: Case, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.case = case
        self.process = subprocess.Popen([sys.executable, "-c", CM, *argv], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        self.lines: list[str] = []
        self.spoke = threading.Event()
        self.spoke_at = 0.0
        self.readers = [threading.Thread(target=self._read, args=(stream,), daemon=True)
                        for stream in (self.process.stdout, self.process.stderr)]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)
            if not self.spoke.is_set():
                self.spoke_at = time.monotonic()
                self.spoke.set()

    def judge(self) -> bool:
        """Ends by itself, or is up (has spoken) after SETTLE seconds and stops on SIGTERM
        within STOP_WITHIN. Returns True when SIGTERM was needed."""
        # start-up (imports) takes longer on a busy machine: SETTLE counts once it has spoken
        self.spoke.wait(STARTUP)
        try:  # the batch's processes settle at the same time: the waits overlap
            self.process.wait(max(self.spoke_at + SETTLE - time.monotonic(), 0.1))
            stopped = False
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                pytest.fail(f"cm {self.case} did not stop within {STOP_WITHIN} s of SIGTERM")
            stopped = True
        for reader in self.readers:
            reader.join(5)
        text = "".join(self.lines)
        _judge(self.case, self.process.returncode, text, "")
        return stopped

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for reader in self.readers:
            reader.join(5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("command", sorted(LONG_RUNNING))
def test_long_running(command: str, folder: Path) -> None:
    """Each case is a process; BATCH at a time. One still up SETTLE seconds after its first
    line accepted its values and serves: SIGTERM must stop it within STOP_WITHIN seconds."""
    cases = [c for c in CASES if c.command == command]
    assert cases, f"no command {command!r} in the app any more: update LONG_RUNNING"
    stopped = 0
    for start in range(0, len(cases), BATCH):
        batch = []
        try:
            for number, case in enumerate(cases[start:start + BATCH], start):
                place = folder / f"{command.replace(' ', '-')}-{number}"
                workspace = copy_sample(place / "workspace")
                if command == "dashboard":  # it reads a ledger and refuses a missing one
                    open_ledger(None, workspace).close()
                # no sandbox: cm run must really start (the sample's posts are due in 2027,
                # so it calls no network within these seconds) and be stopped by SIGTERM
                batch.append(_Process(case, _resolve(case.argv, place), place,
                                      _environment(workspace, place, dead_sandbox=False)))
            stopped += sum(running.judge() for running in batch)
        finally:
            for running in batch:  # a failed judgement leaves no process behind
                running.close()
    # with its default values the command serves: SIGTERM was really tried on it
    assert stopped, f"no case of cm {command} was still serving after {SETTLE} s"
