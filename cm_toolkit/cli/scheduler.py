"""``cm run`` and ``cm demo``: the scheduler and the replay of a season."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table

from cm_toolkit.cli import (
    DatabaseOption,
    WorkspaceOption,
    app,
    console,
    output_file_option,
    seconds_option,
)
from cm_toolkit.cli.connect import SandboxOption, connect
from cm_toolkit.cli.live_view import LiveView
from cm_toolkit.clock import SystemClock
from cm_toolkit.demo import DemoResult, run_demo
from cm_toolkit.errors import AlreadyRunning, CmError, UsageError
from cm_toolkit.growth.display import count, multiple
from cm_toolkit.growth.snapshots import Snapshotter
from cm_toolkit.inbox.autorun import InboxJob
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.faults import driver_message
from cm_toolkit.scheduler.cluster import ClusterOptions, ClusterRunner
from cm_toolkit.scheduler.runner import Runner, RunOptions
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: the structured log of ``cm run``.

    A line logged with an exception names its cause: ``error`` is the exception's type and
    first line (for a database fault, the driver's line: SQLAlchemy's own text holds the SQL
    parameters, that is post texts and learners' messages). ``traceback`` (the frames, and that
    same line) is written only when ``with_traceback`` (the log file, not the terminal)."""

    def __init__(self, *, with_traceback: bool = False) -> None:
        super().__init__()
        self.with_traceback = with_traceback

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            cause = f"{type(error).__name__}: {driver_message(error)}"
            entry["error"] = cause
            if self.with_traceback:
                frames = "".join(traceback.format_tb(error.__traceback__))
                entry["traceback"] = f"Traceback (most recent call last):\n{frames}{cause}"
        return json.dumps(entry, ensure_ascii=False)


def _load(root: Path) -> Workspace:
    workspace, _warnings = load_workspace(root)
    return workspace




def start_helpers(count: int, *, quiet: bool) -> list[subprocess.Popen[bytes]]:
    """``--workers N``: N-1 more worker processes, the same command with ``--workers 1`` (each
    its own Procrastinate worker: the cores are used, and one dying does not stop the others).
    Their log lines go to the same log file; the live view shows this process's."""
    argv = list(sys.argv)
    command = [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()", *argv[1:]]
    for index, word in enumerate(command):
        if word == "--workers" and index + 1 < len(command):
            command[index + 1] = "1"
        elif word.startswith("--workers="):
            command[index] = "--workers=1"
    if "--quiet" not in command:
        command.append("--quiet")
    output = None if quiet else subprocess.DEVNULL
    return [subprocess.Popen(command, stdout=output, stderr=output) for _ in range(count)]


def stop_helpers(helpers: list[subprocess.Popen[bytes]]) -> None:
    for helper in helpers:
        if helper.poll() is None:
            helper.send_signal(signal.SIGTERM)
    for helper in helpers:
        try:
            helper.wait(timeout=90)
        except subprocess.TimeoutExpired:
            helper.kill()


def _setup_logging(log_file: Path | None, verbose: bool) -> None:
    """cm's and APScheduler's log lines go to the structured log file (and stderr if asked)."""
    root = logging.getLogger("cm")
    root.setLevel(logging.INFO)
    root.propagate = False
    alarms = logging.getLogger("apscheduler")
    alarms.setLevel(logging.WARNING)
    alarms.propagate = False
    for logger in (root, alarms):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()  # a second run in one process must not leak the first's file
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            to_file = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise CmError(
                f"cannot write the log file {log_file}: {exc.strerror or exc}",
                fix=f"make {log_file.parent} writable for this user (cm run: or pass "
                "--log-file PATH)",
            ) from None
        to_file.setFormatter(JsonLogFormatter(with_traceback=True))
        root.addHandler(to_file)
        alarms.addHandler(to_file)
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(JsonLogFormatter())
        root.addHandler(stream)
        alarms.addHandler(stream)


@app.command()
def run(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    sandbox: SandboxOption = None,
    notify: Annotated[
        str | None,
        typer.Option("--notify", help="Webhook URL: a JSON POST for every failed, missed or "
                     "unknown delivery.", envvar="CM_NOTIFY_URL", show_default=False),
    ] = None,
    resync: Annotated[float, seconds_option(
        "Seconds between two ledger re-reads.", minimum=0.5, maximum=3600)] = 5.0,
    quiet: Annotated[bool, typer.Option(
        "--quiet", help="No live view; log lines only (the default without a terminal).")] = False,
    log_file: Annotated[
        Path | None, output_file_option(
            "--log-file", help="Structured log (default WORKSPACE/.cm/cm.log).")
    ] = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=64,
        help="PostgreSQL ledger only: worker processes to run on this machine (each a "
        "Procrastinate worker of the cluster; more may run on other machines).")] = 1,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", min=1, max=256,
        help="PostgreSQL ledger only: deliveries one worker sends at once.")] = 16,
) -> None:
    """Publish every delivery at its instant until stopped (Ctrl-C or SIGTERM).

    Applies the workspace first, re-applies it when its files change, and takes follower
    snapshots on the growth cadence. Killing it at any instant loses nothing and never
    publishes twice: the ledger is the truth; at the next start a post whose request had
    left when it died is set aside as 'unknown' for `cm review`, and one whose request had
    not left is sent.

    SQLite ledger: one cm run per ledger; a second one is refused, naming the first.
    PostgreSQL ledger: any number of cm run, on one machine (--workers N) or many, share the
    work through a Procrastinate queue in the ledger's database (created at the first start);
    one of them, elected, plans; spacing and budgets are counted in the database
    (docs/scaleout.md).
    """
    root = workspace.resolve()
    # without a terminal (a service, a pipe) the live table would show nothing until the end:
    # log lines as they happen instead
    quiet = quiet or not console.is_terminal
    _setup_logging(log_file or root / ".cm" / "cm.log", verbose=quiet)
    ledger = open_ledger(database_url, root)
    cluster = ledger.engine.url.get_backend_name() == "postgresql"
    if workers > 1 and not cluster:
        ledger.close()
        raise UsageError("--workers needs a PostgreSQL ledger (SQLite: one cm run per ledger)",
                         fix="pass --database-url postgresql+psycopg://user@host/db, or drop "
                         "--workers")
    channels = connect(sandbox)
    options = RunOptions(resync_seconds=resync, notify_url=notify)
    runner: Runner
    if cluster:
        runner = ClusterRunner(
            root=root, ledger=ledger, clock=SystemClock(), load=_load, channels=channels,
            options=options, snapshot=Snapshotter(ledger), side_job=InboxJob,
            cluster=ClusterOptions(concurrency=concurrency),
        )
    else:
        runner = Runner(
            root=root, ledger=ledger, clock=SystemClock(), load=_load, channels=channels,
            options=options, snapshot=Snapshotter(ledger), side_job=InboxJob,
        )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    runner.start()  # SQLite: AlreadyRunning when another cm run publishes from this ledger
    helpers = start_helpers(workers - 1, quiet=quiet)

    def running(period: float) -> bool:
        return not stop.wait(period) and not runner.lock_lost.is_set()

    try:
        if quiet:
            while running(1.0):
                pass
        else:
            view = LiveView(runner)
            with Live(view.render(), console=console, refresh_per_second=2) as live:
                while running(0.5):
                    live.update(view.render())
    finally:
        stop_helpers(helpers)
        runner.stop()
        ledger.close()
    if runner.lock_lost.is_set():
        raise AlreadyRunning(
            "another cm run took this ledger while this one's database connection was down; "
            "this one stopped (nothing left half-recorded)",
            fix="keep one cm run per ledger: stop the other one, or leave it running",
        )
    console.print("cm run stopped cleanly: nothing left half-recorded.")


def _print_demo(result: DemoResult) -> None:
    table = Table(title="Deliveries per network and state")
    states = sorted({state for _, state in result.states})
    networks = sorted({network for network, _ in result.states})
    table.add_column("network")
    for state in states:
        table.add_column(state, justify="right")
    for network in networks:
        table.add_row(network, *(str(result.states.get((network, s), 0)) for s in states))
    console.print(table)
    since = f"{result.reference:%Y-%m-%d}" if result.reference else "first snapshot"
    # the same columns and figures as `cm growth report` and the dashboard (one "multiple")
    growth = Table(title=f"Follower growth (multiples since {since})")
    for name in ("channel", "network", "reference", "end", "multiple"):
        growth.add_column(name, justify="left" if name in ("channel", "network") else "right")
    for line in result.growth:
        growth.add_row(line.channel_id, line.network, count(line.reference), count(line.end),
                       multiple(line.multiple))
    console.print(growth)
    console.print(
        f"Season {result.season_start:%Y-%m-%d} → {result.season_end:%Y-%m-%d} replayed in "
        f"{result.real_seconds:.1f} s; the sandbox received {result.journal_requests} requests."
    )
    console.print(f"Ledger: {result.database}")
    if result.report is not None:
        console.print(f"Activity report: {result.report}")


@app.command()
def demo(
    workspace: WorkspaceOption = Path("."),
    seconds: Annotated[float, seconds_option(
        "Real seconds of compressed season; the clock also stands still while requests "
        "are in flight (15 s more, or longer on a busy machine).", minimum=1, maximum=3600)] = 25.0,
    seed: Annotated[int, typer.Option(help="Sandbox seed: same seed, same result.")] = 2027,
) -> None:
    """Replay the workspace's season against the local sandbox on a compressed clock.

    The real scheduler, publisher, adapters and SDKs run; only the clock is fast. The ledger
    of the replay is WORKSPACE/.cm/demo/cm.db (recreated each time).
    """
    root = workspace.resolve()
    _setup_logging(root / ".cm" / "demo" / "cm.log", verbose=False)
    last = [0.0]

    def progress(start: datetime, now: datetime, end: datetime) -> None:
        if time.monotonic() - last[0] >= 2:
            last[0] = time.monotonic()
            share = (now - start) / (end - start)
            console.print(f"  season day {now:%Y-%m-%d}  ({share:.0%})", highlight=False)

    # the clock stands still while requests are in flight: the replay lasts longer (--help)
    console.print(f"Replaying the season of {root} against the sandbox ({seconds:.0f} s of "
                  "compressed clock, plus the time its requests take)...")
    result = run_demo(root, seconds=seconds, seed=seed, progress=progress,
                      report=_activity_report())
    _print_demo(result)
    _print_inbox(root, result)


def _print_inbox(root: Path, result: DemoResult) -> None:
    """The inbox part of the replay: per network, messages, answered share, median response
    (the same figures as the report's interactivity section), and the auto answers sent."""
    from zoneinfo import ZoneInfo

    from cm_toolkit.growth.interactivity import interactivity_summary
    from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
    from cm_toolkit.ledger.report_reads import auto_reply_counts
    from cm_toolkit.workspace.loader import load_workspace

    workspace, _warnings = load_workspace(root)
    ledger = open_ledger(f"sqlite:///{result.database}", root, LedgerAccess.READ)
    try:
        lines = interactivity_summary(ledger, ZoneInfo(workspace.schedules.timezone),
                                      now=result.season_end)
        autos = auto_reply_counts(ledger)
    finally:
        ledger.close()
    console.print("Interactivity (inbox: learners' comments, mentions and live chat)")
    for line in lines or ["no message received"]:
        console.print(f"  {line}", highlight=False)
    sent = ", ".join(f"{count} {state.value}" for state, count in sorted(
        autos.items(), key=lambda item: item[0].value)) or "none"
    console.print(f"  FAQ auto answers: {sent}", highlight=False)


def _activity_report() -> Callable[[Any, Path], Path] | None:
    """The HTML activity report writer, when the growth reports are installed."""
    try:
        from cm_toolkit.growth.report import write_demo_report
    except ImportError:
        return None
    writer: Callable[[Any, Path], Path] = write_demo_report
    return writer
