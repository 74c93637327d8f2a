"""``cm inbox add`` and ``cm inbox import``: messages logged by hand, for channels without a
reading API (the LinkedIn group), so that they are handled and counted like the others."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cm_toolkit.cli import DatabaseOption, WorkspaceOption, console
from cm_toolkit.cli.inbox import inbox_app, load, opened
from cm_toolkit.clock import SystemClock
from cm_toolkit.errors import UsageError
from cm_toolkit.ledger.engine import LedgerAccess


@inbox_app.command("add")
def add(
    channel: Annotated[str, typer.Argument(help="A channel without a reading API (manual).")],
    author: Annotated[str, typer.Option("--author", help="Who wrote it.")],
    text: Annotated[str, typer.Option("--text", help="What they wrote.")],
    at: Annotated[str | None, typer.Option(
        "--at", help="When (workspace time zone), default now.", show_default=False)] = None,
    thread: Annotated[str | None, typer.Option(
        "--thread", help="A name grouping a debate's messages.", show_default=False)] = None,
    url: Annotated[str | None, typer.Option("--url", show_default=False)] = None,
    language: Annotated[str | None, typer.Option("--language", show_default=False)] = None,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Log a message by hand (the LinkedIn group has no API), so it is handled and counted."""
    from zoneinfo import ZoneInfo

    from cm_toolkit.inbox import load_faq
    from cm_toolkit.inbox.manual import ManualEntry, store
    from cm_toolkit.inbox.sync import annotate
    from cm_toolkit.workspace.datetimes import localize, parse_datetime

    if not author.strip() or not text.strip():
        raise UsageError("--author and --text must not be empty", fix="say who wrote what")
    root = workspace.resolve()
    ws = load(root)
    now = SystemClock().now()
    when = now
    if at is not None:
        try:
            when = localize(parse_datetime(at), ZoneInfo(ws.schedules.timezone))
        except ValueError as exc:
            raise UsageError(f"--at {at!r}: {exc}", fix="write e.g. 2027-01-14 18:00") from None
    faq = load_faq(root)
    entry = ManualEntry(channel, author.strip(), text.strip(), when, thread, url, language)
    with opened(workspace, database_url, LedgerAccess.CREATE) as ledger:
        new = store(ledger, ws, [entry], now, annotate=lambda m: annotate(m, faq))
    console.print(f"message {new[0]} added" if new else "already in the inbox",
                  highlight=False)


@inbox_app.command("import")
def import_csv(
    csv_file: Annotated[Path, typer.Argument(
        help="CSV with columns author,text and optionally channel,at,thread,url,language.")],
    channel: Annotated[str | None, typer.Option(
        "--channel", help="Channel of rows without a channel cell.", show_default=False)] = None,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Log many hand-collected messages at once (importing twice stores nothing twice)."""
    from cm_toolkit.inbox import load_faq
    from cm_toolkit.inbox.manual import read_csv, store
    from cm_toolkit.inbox.sync import annotate

    root = workspace.resolve()
    ws = load(root)
    now = SystemClock().now()
    entries = read_csv(csv_file, ws, channel, now)
    faq = load_faq(root)
    with opened(workspace, database_url, LedgerAccess.CREATE) as ledger:
        new = store(ledger, ws, entries, now, annotate=lambda m: annotate(m, faq))
    console.print(f"{len(new)} message(s) added, {len(entries) - len(new)} already there",
                  highlight=False)
