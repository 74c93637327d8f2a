"""A person's decisions: ``cm publish --now``, ``cm cancel``, ``cm retry``, ``cm review``,
``cm resolve``. They change the ledger only; a running ``cm run`` picks them up at its next
re-read (``cm publish --now`` also sends at once, in this process)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cm_toolkit.cli import DatabaseOption, JsonOption, WorkspaceOption, app, console
from cm_toolkit.cli.connect import SandboxOption, connect
from cm_toolkit.cli.scheduler import _load
from cm_toolkit.clock import SystemClock
from cm_toolkit.errors import UsageError
from cm_toolkit.ledger import decisions
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.scheduler.inflight import InflightLog
from cm_toolkit.scheduler.pacing import Pacer
from cm_toolkit.scheduler.publisher import Publisher, Step
from cm_toolkit.scheduler.runner import Runner
from cm_toolkit.scheduler.worker import new_worker_id

DeliveryArg = Annotated[int, typer.Argument(help="Delivery id (cm review and cm status show them).")]


def _open(workspace: Path, database_url: str | None) -> Ledger:
    return open_ledger(database_url, workspace.resolve())


@app.command("publish")
def publish(
    post: Annotated[str, typer.Argument(help="Post id (or live session id for its items).")],
    now: Annotated[bool, typer.Option("--now", help="Publish now rather than at its time.")] = False,
    channel: Annotated[str | None, typer.Option(help="Only this channel id.")] = None,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    sandbox: SandboxOption = None,
) -> None:
    """Publish a post's next waiting delivery on each of its channels, now."""
    if not now:
        raise UsageError("cm publish needs --now", fix="the scheduled time is cm run's job")
    root = workspace.resolve()
    ledger = _open(root, database_url)
    clock = SystemClock()
    try:
        runner = Runner(root=root, ledger=ledger, clock=clock, load=_load,
                        channels=connect(sandbox))
        runner.reload()
        waiting: dict[str, int] = {}
        for row in decisions.deliveries_of(ledger, post, channel):
            if row.state.value in ("planned", "retry_wait") and row.channel_id not in waiting:
                decisions.publish_now(ledger, row, clock.now())
                waiting[row.channel_id] = row.id
        if not waiting:
            raise UsageError(f"{post!r} has no delivery waiting to be sent",
                             fix="cm status shows its deliveries; cm retry re-plans a failed one")
        worker_id = new_worker_id()
        # killed midway, the next cm run sends what had not left (scheduler/inflight.py)
        sends = InflightLog(runner.inflight_folder, worker_id)
        publisher = Publisher(
            ledger=ledger, view=runner.current_view, channels=runner, clock=clock,
            worker_id=worker_id, pacer=Pacer(timedelta(0), budgets={}),  # --now: no spacing
            inflight=sends,
        )
        failed = False
        for channel_id, delivery_id in waiting.items():
            attempt = publisher.run(delivery_id)
            failed |= attempt.step not in (Step.PUBLISHED, Step.AWAITING_DONE)
            console.print(f"#{delivery_id} {channel_id}: {attempt.step.value} {attempt.detail}",
                          highlight=False)
        sends.close()
    finally:
        ledger.close()
    if failed:
        raise typer.Exit(1)


@app.command("cancel")
def cancel(
    post: Annotated[str, typer.Argument(help="Post id (or live session id).")],
    channel: Annotated[str | None, typer.Option(help="Only this channel id.")] = None,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Cancel a post's deliveries not sent yet (they stay cancelled when you apply again)."""
    ledger = _open(workspace, database_url)
    try:
        count = 0
        for row in decisions.deliveries_of(ledger, post, channel):
            if row.state.value in ("planned", "retry_wait", "awaiting_done"):
                decisions.cancel(ledger, row, SystemClock().now())
                count += 1
    finally:
        ledger.close()
    console.print(f"{count} deliver{'y' if count == 1 else 'ies'} of {post} cancelled")


@app.command("retry")
def retry(delivery: DeliveryArg, workspace: WorkspaceOption = Path("."),
          database_url: DatabaseOption = None) -> None:
    """Send a failed, missed or cancelled delivery again, now (cm run picks it up)."""
    ledger = _open(workspace, database_url)
    try:
        decisions.retry(ledger, decisions.get(ledger, delivery), SystemClock().now())
    finally:
        ledger.close()
    console.print(f"delivery {delivery} is planned again, due now")


@app.command("review")
def review(workspace: WorkspaceOption = Path("."), database_url: DatabaseOption = None,
           as_json: JsonOption = False) -> None:
    """Deliveries that need a decision (unknown outcome, failed, missed, manual tasks), and
    inbox replies whose outcome is unknown or that failed."""
    from cm_toolkit.inbox.replies import replies_to_review

    ledger = _open(workspace, database_url)
    try:
        items = decisions.review(ledger)
        replies = replies_to_review(ledger)  # the inbox's answers (docs/inbox.md)
    finally:
        ledger.close()
    if as_json:
        console.print_json(json.dumps([
            {"id": i.id, "post": i.post_key, "channel": i.channel_id, "network": i.network,
             "state": i.state.value, "due_at": i.due_at.isoformat(), "attempts": i.attempts,
             "error": i.last_error, "text": i.rendered_text, "remote_id": i.remote_id,
             "remote_url": i.remote_url, "what_to_do": i.what_to_do} for i in items]
            + [r.as_dict() for r in replies]))
        return
    if not items and not replies:
        console.print("Nothing needs a decision.")
        return
    table = Table(title="Deliveries that need a decision")
    for name in ("id", "state", "due (UTC)", "post → channel", "what is known", "what to do"):
        table.add_column(name)
    for i in items:
        known = i.last_error or ""
        if i.rendered_text:
            known += f"\ntext: {i.rendered_text[:120]}"
        table.add_row(str(i.id), i.state.value, f"{i.due_at:%Y-%m-%d %H:%M}",
                      f"{i.post_key} → {i.channel_id}", known, i.what_to_do)
    for r in replies:
        table.add_row(f"reply {r.id}", r.state.value, f"{r.updated_at:%Y-%m-%d %H:%M}",
                      f"message {r.message_id} → {r.channel_id}",
                      f"{r.last_error or ''}\ntext: {r.rendered_text[:120]}", r.what_to_do)
    console.print(table)


@app.command("resolve")
def resolve(
    delivery: DeliveryArg,
    published: Annotated[str | None, typer.Option(
        "--published", help="It is online after all: its URL.", show_default=False)] = None,
    resend: Annotated[bool, typer.Option("--resend", help="It is not online: send it again.")] = False,
    drop: Annotated[bool, typer.Option("--drop", help="Give it up.")] = False,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Decide on a delivery whose outcome is unknown (or a failed one): exactly one option."""
    if sum((published is not None, resend, drop)) != 1:
        raise UsageError("cm resolve needs exactly one of --published URL, --resend, --drop",
                         fix="check the network first: --resend on a post that is online "
                         "publishes it twice")
    ledger = _open(workspace, database_url)
    now = SystemClock().now()
    try:
        row = decisions.get(ledger, delivery)
        if published is not None:
            decisions.resolve_published(ledger, row, now, published)
            said = "marked published"
        elif resend:
            decisions.resolve_resend(ledger, row, now)
            said = "planned again, due now"
        else:
            decisions.resolve_drop(ledger, row, now)
            said = "dropped"
    finally:
        ledger.close()
    console.print(f"delivery {delivery} {said}")
