"""The ``cm`` command.

Each area registers its commands from its own module (``cm_toolkit.cli.<area>``); this module
owns the Typer app, the shared options and the one place where errors become messages and exit
codes: a ``CmError`` prints its message (never a traceback) and exits with its ``exit_code``;
an ``OSError`` (a full disk, a closed pipe, a folder where a file was expected) prints one line
and exits 1.

Options are validated where they are declared: the factories below (``port_option``,
``seconds_option``, ``output_file_option``) carry the ranges and path checks, so a wrong value
is a usage error (exit 2) before the command runs and creates nothing.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from cm_toolkit.errors import CmError, WorkspaceError

app = typer.Typer(
    name="cm",
    help="cm-toolkit: plan, preview and publish per-network campaigns from one schedule.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # markdown: a docstring's paragraphs are re-flowed to the terminal (Typer 0.29's "rich"
    # mode keeps their source line breaks, and the terminal wraps them again)
    rich_markup_mode="markdown",
)
console = Console()
err_console = Console(stderr=True)


def _flags_without_a_type() -> None:
    """A flag takes no value: no type after it in ``--help``.

    Typer 0.29's rich help writes one after every flag (``--yes <bool>``, ``--help <bool>``)
    where its plain help and click write none; its options' type column is the one hook it has.
    ``tests/cli/test_help.py`` runs every command's ``--help`` to keep it so."""
    from typer.core import TyperOption

    typed = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag and not self.count else typed(self, ctx)

    setattr(TyperOption, "display_type_rich", display_type_rich)  # noqa: B010 - a method


_flags_without_a_type()

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        help="The workspace folder (schedules.yaml, channels/, templates/).",
        envvar="CM_WORKSPACE",
        show_default="current folder",
    ),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Ledger database URL (default: SQLite at WORKSPACE/.cm/cm.db).",
        envvar="CM_DATABASE_URL",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
UtcOption = Annotated[bool, typer.Option(
    "--utc", help="Show times in UTC rather than in the workspace's time zone.")]

PIPED_WIDTH = 400
"""Width of tables when the output is not a terminal (a file, a pipe): Rich would use 80 columns
and wrap or cut values; a reader or a script wants each row whole."""


def display_zone(workspace: Path, utc: bool = False) -> ZoneInfo:
    """The workspace's time zone for showing times (UTC with ``--utc``, or when schedules.yaml
    cannot be read: a command that only shows the ledger must not fail on a scheduling typo)."""
    if utc:
        return ZoneInfo("UTC")
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load((workspace / "schedules.yaml").read_text("utf-8"))
        return ZoneInfo(str(data["timezone"]))
    except (OSError, UnicodeError, YAMLError, TypeError, KeyError, ValueError):
        return ZoneInfo("UTC")  # ZoneInfoNotFoundError is a KeyError

MAX_PORT = 65535


def port_option(help: str) -> Any:
    """A TCP port: 0 (any free port) to 65535."""
    return typer.Option(help=help, min=0, max=MAX_PORT)


def seconds_option(help: str, *, minimum: float, maximum: float) -> Any:
    """A duration in seconds, bounded both ways: 0 or less would spin or divide by zero, a
    huge one would never end."""
    return typer.Option(help=help, min=minimum, max=maximum)


def output_file_option(*names: str, help: str) -> Any:
    """A file to write: never a folder; '-' (standard output) allowed."""
    return typer.Option(*names, help=help, dir_okay=False, allow_dash=True, show_default=False)


def report_error(error: CmError) -> int:
    """Print a CmError for a person and return its exit code. The one place errors are shown."""
    if isinstance(error, WorkspaceError):
        for problem in error.problems:
            # emoji=False: Rich would turn "file:100:3" into an emoji.
            err_console.print(str(problem), markup=False, highlight=False, emoji=False)
        err_console.print(f"[red]{error.message}[/red]")
    else:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
    return error.exit_code


def report_os_error(error: OSError) -> int:
    """One line for an OSError on our input or output (full disk, folder instead of file)."""
    where = f"{error.filename}: " if error.filename else "writing the output: "
    try:
        err_console.print(f"[red]error:[/red] {where}{error.strerror or error}", highlight=False)
    except OSError:
        pass  # stderr is full or closed too: the exit code is all that is left
    return 1


AREAS = ("workspace", "ledger", "templates", "channels", "sandbox", "scheduler", "review", "growth",
         "sessions", "inbox")
COMMAND_AREAS: dict[str, str | None] = {
    "version": None,
    "check": "workspace", "init": "workspace",
    "plan": "ledger", "apply": "ledger", "status": "ledger", "sessions": "sessions",
    "preview": "templates",
    "channels": "channels", "auth": "channels", "done": "channels",
    "sandbox": "sandbox",
    "run": "scheduler", "demo": "scheduler",
    "publish": "review", "cancel": "review", "restore": "review", "retry": "review",
    "review": "review", "resolve": "review",
    "growth": "growth", "report": "growth", "dashboard": "growth",
    "inbox": "inbox",
}
"""Which module defines each command: ``cm check`` imports only what ``check`` needs (the SDKs,
SQLAlchemy and Alembic take a second or two to import). ``tests/cli/test_help.py`` fails when a
command is missing here."""


def _command_of(argv: list[str] | None) -> str | None:
    args = sys.argv[1:] if argv is None else argv
    return next((arg for arg in args if not arg.startswith("-")), None)


def _register_commands(argv: list[str] | None = None, *, everything: bool = False) -> None:
    # Imported for their side effect: each module adds its commands to ``app``.
    import importlib

    command = None if everything else _command_of(argv)
    if command in COMMAND_AREAS:
        area = COMMAND_AREAS[command]
        areas: tuple[str, ...] = (area,) if area else ()
    else:  # --help, or an unknown command: every command, for the help and "did you mean"
        areas = AREAS
    for name in areas:
        importlib.import_module(f"cm_toolkit.cli.{name}")


def main(argv: list[str] | None = None) -> int:
    """Run ``cm``; returns the exit code. Typer/click handle usage errors (exit 2) themselves."""
    _register_commands(argv)
    for shown in (console, err_console):
        if not shown.is_terminal and "COLUMNS" not in os.environ:
            shown.width = PIPED_WIDTH
    try:
        app(args=argv, prog_name="cm")
    except CmError as error:
        return report_error(error)
    except BrokenPipeError:
        _silence_stdout()  # `cm status | head`: the reader left, nothing to say
        return 1
    except OSError as error:
        if error.filename is None:  # our own output failed (a full disk): don't flush it again
            _silence_stdout()
        return report_os_error(error)
    except Exception as error:
        ledger_error = _ledger_fault(error)
        if ledger_error is None:
            raise
        return report_error(ledger_error)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def _ledger_fault(error: Exception) -> CmError | None:
    """A database fault (locked, full, read-only, gone) as one line with its cause and fix.

    SQLAlchemy is imported only by the commands that open the ledger: no fault otherwise."""
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is None or not isinstance(error, sqlalchemy_exc.DBAPIError):
        return None
    from cm_toolkit.ledger.faults import explain

    return explain(error)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor (captured output in tests)
        pass


def entry() -> None:
    code = main()
    try:
        sys.stdout.flush()  # what is still buffered must reach the disk, or be an error
    except BrokenPipeError:
        _silence_stdout()
        code = code or 1
    except OSError as error:
        _silence_stdout()
        code = report_os_error(error) if code == 0 else code
    # The command is done. The interpreter's last collection would walk every object still held
    # in a reference cycle only to free memory the exit frees anyway: after ``cm check`` of
    # 100,000 posts, the whole plan (kept by the frames of an exception a library caught during
    # the check), about 1 s. Frozen objects are left out of it (atexit handlers still run).
    gc.freeze()
    sys.exit(code)


@app.command()
def version() -> None:
    """Print the cm-toolkit version."""
    from importlib.metadata import version as dist_version

    console.print(dist_version("cm-toolkit"))


@app.callback()
def _root() -> None:
    """cm-toolkit: plan, preview and publish per-network campaigns from one schedule.

    Run it in a workspace folder (schedules.yaml, channels/, templates/) or pass --workspace.
    """
