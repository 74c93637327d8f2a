"""The ``cm`` command.

Each area registers its commands from its own module (``cm_toolkit.cli.<area>``); this module
owns the Typer app, the shared options and the one place where errors become messages and exit
codes: a ``CmError`` prints its message (never a traceback) and exits with its ``exit_code``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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


AREAS = ("workspace", "ledger", "templates", "channels", "sandbox", "scheduler", "review", "growth",
         "inbox")
COMMAND_AREAS: dict[str, str | None] = {
    "version": None,
    "check": "workspace",
    "plan": "ledger", "apply": "ledger", "status": "ledger",
    "preview": "templates",
    "channels": "channels", "auth": "channels", "done": "channels",
    "sandbox": "sandbox",
    "run": "scheduler", "demo": "scheduler",
    "publish": "review", "cancel": "review", "retry": "review", "review": "review",
    "resolve": "review",
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
    try:
        app(args=argv, prog_name="cm")
    except CmError as error:
        return report_error(error)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def entry() -> None:
    sys.exit(main())


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
