"""``cm inbox sync``, ``cm inbox reply`` and ``cm inbox resolve``: the inbox commands that
reach the networks (or a sandbox, ``--sandbox``), connected like ``cm publish --now``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cm_toolkit.cli import DatabaseOption, JsonOption, WorkspaceOption, console
from cm_toolkit.cli.connect import SandboxOption, connect
from cm_toolkit.cli.inbox import (
    MessageArg,
    check_channels,
    inbox_app,
    load,
    opened,
    parse_networks,
)
from cm_toolkit.clock import SystemClock
from cm_toolkit.errors import UsageError
from cm_toolkit.ledger.engine import LedgerAccess
from cm_toolkit.ledger.states import DeliveryState


def _read_networks() -> str:
    """The networks whose adapters read conversations (their class data, plugins included)."""
    from cm_toolkit.channels.base import Capability
    from cm_toolkit.channels.registry import list_networks

    return ", ".join(sorted(info.network for info in list_networks()
                            if Capability.CONVERSATIONS in info.capabilities))


@inbox_app.command("sync")
def sync(
    network: Annotated[list[str], typer.Option(
        "--network", help="Only this network; repeatable.")] = [],  # noqa: B006
    channel: Annotated[list[str], typer.Option(
        "--channel", help="Only this channel id; repeatable.")] = [],  # noqa: B006
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    sandbox: SandboxOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read what arrived on every network since the last sync (twice stores nothing twice)."""
    from cm_toolkit.inbox import load_faq
    from cm_toolkit.inbox.sync import InboxSync

    root = workspace.resolve()
    networks = parse_networks(network)
    channels = check_channels(root, channel)
    ws = load(root)
    pool = connect(sandbox)(ws)
    with opened(workspace, database_url, LedgerAccess.CREATE) as ledger:
        reports = InboxSync(inbox=ledger, channels=pool, clock=SystemClock(), workspace=ws,
                            faq=load_faq(root)).sync(networks=networks, channel_ids=channels)
    if as_json:
        console.print_json(json.dumps([
            {"channel": r.channel_id, "network": r.network, "source": r.source,
             "new": r.new, "known": r.known, "pages": r.pages, "items": r.items,
             "units": r.units, "cost_usd": round(r.cost_usd, 4), "error": r.error,
             "warning": r.warning, "skipped": r.skipped} for r in reports]))
    else:
        if not reports:  # e.g. --network meet: its adapter publishes but reads nothing
            chosen = ", ".join(sorted([*networks, *channels]))
            console.print(
                "No channel of this workspace" + (f" ({chosen})" if chosen else "")
                + f" reads conversations (the networks read: {_read_networks()}): log what "
                "people say there with cm inbox add CHANNEL (docs/inbox.md).",
                highlight=False, markup=False)
        for r in reports:
            line = f"{r.channel_id} {r.source}: "
            if r.skipped:
                line += f"skipped ({r.skipped})"
            else:
                line += f"{r.new} new, {r.known} already known"
                if r.cost_usd:
                    line += f", ${r.cost_usd:.3f}"
                if r.units:
                    line += f", {r.units} units"
            for extra in (r.warning, r.error):
                if extra:
                    line += f" — {extra}"
            console.print(line, highlight=False, markup=False)
    if any(r.error for r in reports):
        raise typer.Exit(1)


@inbox_app.command("reply")
def reply(
    message: MessageArg,
    text: Annotated[str | None, typer.Option(
        "--text", help="The answer's text.", show_default=False)] = None,
    faq: Annotated[str | None, typer.Option(
        "--faq", help="Answer with this FAQ entry (rendered for the network).",
        show_default=False)] = None,
    again: Annotated[bool, typer.Option(
        "--again", help="A deliberate follow-up to a message already answered.")] = False,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    sandbox: SandboxOption = None,
) -> None:
    """Answer one message now: claimed once, sent once (a crash leaves it for cm review)."""
    from cm_toolkit.inbox import load_faq
    from cm_toolkit.inbox.replies import (
        ReplyService,
        recover_reply_orphans,
        replies_inflight_folder,
    )
    from cm_toolkit.sending.inflight import InflightLog
    from cm_toolkit.sending.worker import new_worker_id

    if (text is None) == (faq is None):
        raise UsageError("cm inbox reply needs exactly one of --text TEXT or --faq ID",
                         fix="cm inbox show ID lists the suggested FAQ entries")
    root = workspace.resolve()
    ws = load(root)
    clock = SystemClock()
    worker_id = new_worker_id()
    folder = replies_inflight_folder(root)
    with opened(workspace, database_url, LedgerAccess.WRITE) as ledger:
        # replies left sending by a killed cm inbox reply: settled before a new one
        recover_reply_orphans(ledger, worker_id, clock.now(), folder)
        sends = InflightLog(folder, worker_id)
        try:
            service = ReplyService(ledger=ledger, channels=connect(sandbox)(ws), clock=clock,
                                   worker_id=worker_id, faq=load_faq(root) if faq else None,
                                   inflight=sends)
            outcome = service.reply_now(message, text=text, faq_id=faq, actor="cli",
                                        again=again)
        finally:
            sends.close()
    state = outcome.state.value if outcome.state else "not sent"
    console.print(f"reply {outcome.reply_id} to message {message}: {state} {outcome.detail}",
                  highlight=False, markup=False)
    if outcome.state is DeliveryState.RETRY_WAIT:
        console.print("cm run sends it again at its retry time", highlight=False)
    elif outcome.state is not DeliveryState.PUBLISHED:
        raise typer.Exit(1)


@inbox_app.command("resolve")
def resolve(
    reply_id: Annotated[int, typer.Argument(help="Reply id (cm review shows it).")],
    published: Annotated[str | None, typer.Option(
        "--published", help="It is online after all: its URL.", show_default=False)] = None,
    resend: Annotated[bool, typer.Option("--resend", help="It is not online: send again.")
                      ] = False,
    drop: Annotated[bool, typer.Option("--drop", help="Give it up.")] = False,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Decide on a reply whose outcome is unknown (or that failed): exactly one option."""
    if sum((published is not None, resend, drop)) != 1:
        raise UsageError("cm inbox resolve needs exactly one of --published URL, --resend, "
                         "--drop", fix="check the network first: --resend on a reply that is "
                         "online answers twice")
    decision = "published" if published is not None else "resend" if resend else "drop"
    with opened(workspace, database_url, LedgerAccess.WRITE) as ledger:
        target = ledger.resolve_reply(reply_id, decision, SystemClock().now(), "cli",
                                      url=published)
    said = {DeliveryState.PUBLISHED: "marked published",
            DeliveryState.PLANNED: "planned again: cm run sends it",
            DeliveryState.CANCELLED: "dropped"}[target]
    console.print(f"reply {reply_id} {said}", highlight=False)
