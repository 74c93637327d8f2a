"""``cm inbox``: what the community says, on every network, and our answers (docs/inbox.md).

This module: listing, ``show``, people's decisions (``assign``, ``close``, ``ignore``,
``reopen``, ``answered``), hand-logged messages (``add``, ``import``), ``purge`` and ``export``.
``cli/inbox_send.py``: ``sync``, ``reply`` and ``resolve`` (the ones that reach networks).
Every wrong value ends in one line and an exit code (a ``CmError``); no message text is logged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from cm_toolkit.cli import DatabaseOption, JsonOption, WorkspaceOption, app, console
from cm_toolkit.clock import SystemClock
from cm_toolkit.errors import UsageError
from cm_toolkit.ledger.inbox import ConversationGroup, InboxFilter, InboxLedger
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.states import ACTIONABLE, MessageState
from cm_toolkit.workspace.models import Network, Workspace
from cm_toolkit.workspace.networks import known_networks
from cm_toolkit.workspace.suggestions import did_you_mean, one_of

inbox_app = typer.Typer(
    help="The inbox: read and answer the community on every network (docs/inbox.md).",
    invoke_without_command=True, no_args_is_help=False,
)
app.add_typer(inbox_app, name="inbox")

MessageArg = Annotated[int, typer.Argument(help="Message id (cm inbox lists them).")]
STATE_CHOICES = [s.value for s in MessageState] + ["all"]


def load(root: Path) -> Workspace:
    from cm_toolkit.workspace.loader import load_workspace

    workspace, _warnings = load_workspace(root)
    return workspace


@contextmanager
def opened(workspace: Path, database_url: str | None) -> Iterator[InboxLedger]:
    from cm_toolkit.ledger.engine import open_ledger

    ledger = open_ledger(database_url, workspace.resolve())
    try:
        yield InboxLedger(ledger)
    finally:
        ledger.close()


def parse_states(values: list[str]) -> frozenset[MessageState]:
    if not values:
        return ACTIONABLE
    states: set[MessageState] = set()
    for value in values:
        if value == "all":
            return frozenset(MessageState)
        try:
            states.add(MessageState(value))
        except ValueError:
            raise UsageError(f"--state {value!r} is not a message state",
                             fix=did_you_mean(value, STATE_CHOICES,
                                              otherwise=f"use {one_of(STATE_CHOICES)}")) from None
    return frozenset(states)


def parse_networks(values: list[str]) -> frozenset[Network]:
    networks: set[Network] = set()
    for value in values:
        if value not in known_networks():
            raise UsageError(f"--network {value!r} is not a network",
                             fix=did_you_mean(value, known_networks(),
                                              otherwise=f"use {one_of(known_networks())}"))
        networks.add(value)
    return frozenset(networks)


def check_channels(root: Path, values: list[str]) -> frozenset[str]:
    if not values:
        return frozenset()
    known = load(root).channels
    for value in values:
        if value not in known:
            raise UsageError(f"--channel {value!r} is not a channel of this workspace",
                             fix=did_you_mean(value, known,
                                              otherwise=f"channels: {one_of(known)}"))
    return frozenset(values)


def suggestions_of(message: InboxMessage) -> list[dict[str, Any]]:
    found = (message.suggestions or {}).get("faq", [])
    return [{"faq": s[0], "score": s[1], "title": s[2] if len(s) > 2 else None,
             "auto": bool(s[3]) if len(s) > 3 else False} for s in found]


def message_json(message: InboxMessage) -> dict[str, Any]:
    return {
        "id": message.id, "conversation": message.conversation_id,
        "channel": message.channel_id, "network": message.network,
        "remote_id": message.remote_id, "kind": message.kind, "author": message.author_name,
        "text": message.text, "language": message.language, "url": message.url,
        "received_at": message.received_at.isoformat(), "state": message.state.value,
        "assignee": message.assignee, "is_question": message.is_question,
        "from_us": message.from_us, "suggestions": suggestions_of(message),
        "first_answered_at": message.first_answered_at.isoformat()
        if message.first_answered_at else None,
        "auto_answered": message.auto_answered,
    }


def _one_line(text: str | None, width: int = 100) -> str:
    flat = " ".join((text or "(purged)").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def print_groups(groups: list[ConversationGroup]) -> None:
    if not groups:
        console.print("Nothing to handle in the inbox.")
        return
    for group in groups:
        console.print(f"[bold]{group.channel_id}[/bold] ({group.network}) · thread "
                      f"{group.thread_remote_id}", highlight=False)
        for m in group.messages:
            best = suggestions_of(m)
            hint = f"  → faq {best[0]['faq']}" if best else ""
            who = f" [{m.assignee}]" if m.assignee else ""
            console.print(f"  #{m.id} {m.state.value}{who} {m.received_at:%Y-%m-%d %H:%M} UTC "
                          f"{m.author_name or '?'}{' (question)' if m.is_question else ''}: "
                          f"{_one_line(m.text)}{hint}", highlight=False, markup=False)


@inbox_app.callback()
def inbox(
    ctx: typer.Context,
    network: Annotated[list[str], typer.Option(
        "--network", help=f"Only this network ({', '.join(known_networks())}); repeatable.")] = [],  # noqa: B006
    channel: Annotated[list[str], typer.Option(
        "--channel", help="Only this channel id; repeatable.")] = [],  # noqa: B006
    state: Annotated[list[str], typer.Option(
        "--state", help="new, open, answered, closed, ignored or all (default: new and open); "
        "repeatable.")] = [],  # noqa: B006
    limit: Annotated[int, typer.Option("--limit", help="At most this many messages.")] = 200,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open items, newest first, grouped by conversation (the subcommands act on them)."""
    if ctx.invoked_subcommand is not None:
        flags = {"network": "--network", "channel": "--channel", "state": "--state",
                 "limit": "--limit", "workspace": "--workspace",
                 "database_url": "--database-url", "as_json": "--json"}
        given = [flag for name, flag in flags.items()
                 if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"]
        if given:  # they would apply to the listing, not to the subcommand: say so
            raise UsageError(f"{given[0]} before `{ctx.invoked_subcommand}` is an option of "
                             "the listing", fix=f"write it after the subcommand: cm inbox "
                             f"{ctx.invoked_subcommand} ... {given[0]}")
        return
    if limit < 1:
        raise UsageError(f"--limit {limit} must be at least 1", fix="e.g. --limit 50")
    wanted = InboxFilter(networks=parse_networks(network),
                         channels=check_channels(workspace.resolve(), channel),
                         states=parse_states(state), limit=limit)
    with opened(workspace, database_url) as ledger:
        groups = ledger.listing(wanted)
    if as_json:
        console.print_json(json.dumps([
            {"conversation": g.conversation_id, "channel": g.channel_id,
             "network": g.network, "thread": g.thread_remote_id,
             "messages": [message_json(m) for m in g.messages]} for g in groups]))
        return
    print_groups(groups)


@inbox_app.command("show")
def show(message: MessageArg, workspace: WorkspaceOption = Path("."),
         database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """One message: its thread, the post it answers, the FAQ suggestions, our replies."""
    with opened(workspace, database_url) as ledger:
        row = ledger.message(message)
        thread = ledger.thread(row.conversation_id)
        conversation = ledger.conversation(row.conversation_id)
        delivery = ledger.delivery(conversation.delivery_id) \
            if conversation and conversation.delivery_id else None
        replies = ledger.replies_of(message)
    post = None if delivery is None else {
        "delivery": delivery.id, "post": delivery.post_key, "url": delivery.remote_url,
        "text": delivery.rendered_text}
    reply_rows = [{"id": r.id, "state": r.state.value, "text": r.rendered_text,
                   "faq": r.faq_id, "auto": r.auto, "url": r.remote_url, "error": r.last_error}
                  for r in replies]
    if as_json:
        console.print_json(json.dumps({
            "message": message_json(row), "post": post,
            "thread": [message_json(m) for m in thread], "replies": reply_rows}))
        return
    if delivery is not None:
        console.print(f"post {delivery.post_key} (delivery {delivery.id}) "
                      f"{delivery.remote_url or ''}", highlight=False, markup=False)
        console.print(f"  {_one_line(delivery.rendered_text, 200)}", highlight=False,
                      markup=False)
    for m in thread:
        mark = ">" if m.id == row.id else " "
        who = "us" if m.from_us else (m.author_name or "?")
        console.print(f"{mark} #{m.id} {m.received_at:%Y-%m-%d %H:%M} UTC {who} "
                      f"({m.state.value}): {m.text or '(purged)'}", highlight=False, markup=False)
    for s in suggestions_of(row):
        console.print(f"  suggestion: faq {s['faq']} ({s['score']}) {s['title'] or ''}"
                      f"{' auto' if s['auto'] else ''}", highlight=False, markup=False)
    for r in replies:
        console.print(f"  reply #{r.id} {r.state.value}: {_one_line(r.rendered_text)} "
                      f"{r.remote_url or r.last_error or ''}", highlight=False, markup=False)


def _decide(message: int, target: MessageState, workspace: Path, database_url: str | None,
            said: str) -> None:
    with opened(workspace, database_url) as ledger:
        ledger.set_state(message, target, SystemClock().now(), "cli")
    console.print(f"message {message} {said}", highlight=False)


@inbox_app.command("close")
def close(message: MessageArg, workspace: WorkspaceOption = Path("."),
          database_url: DatabaseOption = None) -> None:
    """Nothing to answer: close the message."""
    _decide(message, MessageState.CLOSED, workspace, database_url, "closed")


@inbox_app.command("ignore")
def ignore(message: MessageArg, workspace: WorkspaceOption = Path("."),
           database_url: DatabaseOption = None) -> None:
    """Spam or off-topic: ignore it (not counted in the answered share)."""
    _decide(message, MessageState.IGNORED, workspace, database_url, "ignored")


@inbox_app.command("reopen")
def reopen(message: MessageArg, workspace: WorkspaceOption = Path("."),
           database_url: DatabaseOption = None) -> None:
    """Bring an answered, closed or ignored message back to open."""
    _decide(message, MessageState.OPEN, workspace, database_url, "is open again")


@inbox_app.command("answered")
def answered(message: MessageArg, workspace: WorkspaceOption = Path("."),
             database_url: DatabaseOption = None) -> None:
    """A person answered on the network itself (a manual channel): mark it answered."""
    _decide(message, MessageState.ANSWERED, workspace, database_url, "marked answered")


@inbox_app.command("assign")
def assign(message: MessageArg,
           who: Annotated[str, typer.Argument(help="Who handles it (instructor, a name).")],
           workspace: WorkspaceOption = Path("."), database_url: DatabaseOption = None) -> None:
    """Hand a message to someone (a new message becomes open)."""
    if not who.strip():
        raise UsageError("cm inbox assign needs a name", fix="e.g. cm inbox assign 12 instructor")
    with opened(workspace, database_url) as ledger:
        ledger.assign(message, who.strip(), SystemClock().now(), "cli")
    console.print(f"message {message} assigned to {who.strip()}", highlight=False)


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
    with opened(workspace, database_url) as ledger:
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
    with opened(workspace, database_url) as ledger:
        new = store(ledger, ws, entries, now, annotate=lambda m: annotate(m, faq))
    console.print(f"{len(new)} message(s) added, {len(entries) - len(new)} already there",
                  highlight=False)


@inbox_app.command("purge")
def purge(
    older_than: Annotated[str | None, typer.Option(
        "--older-than", help="Default: inbox.retention in schedules.yaml (180d).",
        show_default=False)] = None,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Remove the text, author and link of messages past the retention (counts stay)."""
    from cm_toolkit.workspace.durations import format_duration, parse_duration

    root = workspace.resolve()
    retention = load(root).schedules.inbox.retention
    if older_than is not None:
        try:
            retention = parse_duration(older_than)
        except ValueError as exc:
            raise UsageError(f"--older-than {older_than!r}: {exc}", fix="e.g. 180d") from None
    if retention <= timedelta(0):
        raise UsageError("--older-than must be positive", fix="e.g. 180d")
    now = SystemClock().now()
    with opened(workspace, database_url) as ledger:
        count = ledger.purge(now - retention, now)
    console.print(f"{count} message(s) older than {format_duration(retention)} purged",
                  highlight=False)


@inbox_app.command("export")
def export(
    author: Annotated[str, typer.Option("--author", help="Author name or network id.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the JSON there (default: print it).", show_default=False)
    ] = None,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """A person's data: every message they wrote and our replies, as JSON."""
    with opened(workspace, database_url) as ledger:
        data = ledger.export_author(author)
    text = json.dumps({"author": author, "messages": data}, ensure_ascii=False, indent=2)
    if output is None:
        typer.echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}", fix="check the path") from None
    console.print(f"{len(data)} message(s) of {author} written to {output}", highlight=False)


from cm_toolkit.cli import inbox_send  # noqa: F401 (registers sync, reply, resolve)
