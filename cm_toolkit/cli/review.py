"""A person's decisions: ``cm publish --now``, ``cm cancel``, ``cm retry``, ``cm review``,
``cm resolve``. They change the ledger only; a running ``cm run`` picks them up at its next
re-read (``cm publish --now`` also sends at once, in this process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from cm_toolkit.cli import (
    DatabaseOption,
    JsonOption,
    UtcOption,
    WorkspaceOption,
    app,
    console,
    display_zone,
)
from cm_toolkit.cli.connect import SandboxOption, connect
from cm_toolkit.cli.scheduler import _load
from cm_toolkit.clock import SystemClock
from cm_toolkit.errors import CmError, UsageError
from cm_toolkit.ledger import decisions, reminders
from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.scheduler.inflight import InflightLog
from cm_toolkit.scheduler.pacing import Pacer
from cm_toolkit.scheduler.publisher import Publisher, Step
from cm_toolkit.scheduler.runner import Runner
from cm_toolkit.scheduler.worker import new_worker_id
from cm_toolkit.workspace.loader import load_workspace

DeliveryArg = Annotated[int, typer.Argument(help="Delivery id (cm review and cm status show them).")]


def _open(workspace: Path, database_url: str | None,
          access: LedgerAccess = LedgerAccess.WRITE) -> Ledger:
    return open_ledger(database_url, workspace.resolve(), access)


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
    ledger = _open(root, database_url, LedgerAccess.CREATE)  # it applies the workspace first
    clock = SystemClock()
    try:
        runner = Runner(root=root, ledger=ledger, clock=clock, load=_load,
                        channels=connect(sandbox))
        runner.reload()
        waiting: dict[str, int] = {}
        planned: dict[int, datetime] = {}
        for row in decisions.deliveries_of(ledger, post, channel):
            if row.state.value in ("planned", "retry_wait") and row.channel_id not in waiting:
                planned[row.id] = row.due_at
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
            sent = attempt.step in (Step.PUBLISHED, Step.AWAITING_DONE)
            failed |= not sent
            console.print(f"#{delivery_id} {channel_id}: {attempt.step.value} {attempt.detail}",
                          highlight=False)
            if not sent:  # it keeps the date it was planned for
                decisions.keep_planned_date(ledger, delivery_id, planned[delivery_id],
                                            clock.now())
        sends.close()
    finally:
        ledger.close()
    if failed:
        raise typer.Exit(1)


CANCELLABLE = ("planned", "retry_wait", "awaiting_done")


def _at_filter(at: str, zone: ZoneInfo) -> Callable[[datetime], bool]:
    """``2027-03-08``: every delivery due that day; ``2027-03-08 09:00``: due at that minute
    (both in the workspace's time zone)."""
    text = at.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return lambda due: due.astimezone(zone).date() == day
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at {at!r} is neither a date nor a date-time",
                         fix="write --at 2027-03-08 or --at '2027-03-08 09:00'") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    return lambda due: abs(due - moment) < timedelta(minutes=1)


@app.command("cancel")
def cancel(
    post: Annotated[str, typer.Argument(help="Post id (or live session id).")],
    channel: Annotated[str | None, typer.Option(help="Only this channel id.")] = None,
    occurrence: Annotated[int | None, typer.Option(
        "--occurrence", min=1, help="Only this occurrence (1, 2, ...) of a recurring post.",
        show_default=False)] = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Only what is due that day ('2027-03-08') or at that time "
        "('2027-03-08 09:00'), in the workspace's time zone.", show_default=False)] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
                   ] = False,
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Cancel a post's deliveries not sent yet, after listing them and asking (--yes: do not
    ask). They stay cancelled when you apply again; `cm retry N` undoes one."""
    root = workspace.resolve()
    zone = display_zone(root)
    wanted = _at_filter(at, zone) if at is not None else None
    ledger = _open(root, database_url)
    try:
        rows = [row for row in decisions.deliveries_of(ledger, post, channel)
                if row.state.value in CANCELLABLE
                and (occurrence is None or row.occurrence == occurrence)
                and (wanted is None or wanted(row.due_at))]
        if not rows:
            which = "".join(f" {name} {value}" for name, value in
                            (("--occurrence", occurrence), ("--at", at)) if value is not None)
            raise UsageError(f"{post!r} has no delivery left to cancel{which}",
                             fix="cm status lists its deliveries and their states")
        table = Table(title=f"To cancel ({zone.key})", title_justify="left")
        for name in ("id", "post", "channel", "occurrence", "due", "state"):
            table.add_column(name)
        for row in rows:
            table.add_row(str(row.id), row.post_key, row.channel_id, str(row.occurrence),
                          f"{row.due_at.astimezone(zone):%Y-%m-%d %H:%M}", row.state.value)
        console.print(table)
        count = len(rows)
        noun = f"deliver{'y' if count == 1 else 'ies'}"
        try:
            confirmed = yes or typer.confirm(f"Cancel these {count} {noun}?", default=False)
        except (typer.Abort, OSError):  # no answer (no terminal): nothing is cancelled
            confirmed = False
        if not confirmed:
            console.print("Nothing cancelled (--yes cancels without asking).")
            raise typer.Exit(1)
        now = SystemClock().now()
        for row in rows:
            decisions.cancel(ledger, row, now)
    finally:
        ledger.close()
    console.print(f"{count} {noun} of {post} cancelled")


@app.command("retry")
def retry(delivery: DeliveryArg, workspace: WorkspaceOption = Path("."),
          database_url: DatabaseOption = None) -> None:
    """Send a failed, missed or cancelled delivery again (cm run picks it up): at its planned
    instant while that is ahead or inside its grace window, else now."""
    ledger = _open(workspace, database_url)
    now = SystemClock().now()
    try:
        due = decisions.retry(ledger, decisions.get(ledger, delivery), now)
    finally:
        ledger.close()
    if due > now:
        when = f"at its planned instant {due:%Y-%m-%d %H:%M} UTC"
    elif due < now:
        when = f"now (its planned instant {due:%Y-%m-%d %H:%M} UTC is inside its grace window)"
    else:
        when = "now"
    console.print(f"delivery {delivery} is planned again, due {when}", highlight=False)


def _zone(workspace: Path) -> ZoneInfo:
    """The workspace's time zone (a reminder's "day" is the workspace's); UTC when its files
    cannot be read: a review must work even then."""
    try:
        loaded, _warnings = load_workspace(workspace)
        return ZoneInfo(loaded.schedules.timezone)
    except CmError:
        return ZoneInfo("UTC")


@app.command("review")
def review(workspace: WorkspaceOption = Path("."), database_url: DatabaseOption = None,
           as_json: JsonOption = False, utc: UtcOption = False) -> None:
    """Deliveries that need a decision (unknown outcome, failed, missed, manual tasks), and
    inbox replies whose outcome is unknown or that failed (times in the workspace's time zone;
    --utc for UTC)."""
    from cm_toolkit.inbox.replies import replies_to_review

    ledger = _open(workspace, database_url, LedgerAccess.READ)
    try:
        items = decisions.review(ledger)
        stale = reminders.out_of_date(ledger, items, SystemClock().now(), _zone(workspace))
        replies = replies_to_review(ledger)  # the inbox's answers (docs/inbox.md)
    finally:
        ledger.close()

    def what_to_do(item: decisions.ReviewItem) -> str:
        reason = stale.get(item.id)
        return reminders.advice(item, reason) if reason else item.what_to_do

    if as_json:
        console.print_json(json.dumps([
            {"id": i.id, "post": i.post_key, "channel": i.channel_id, "network": i.network,
             "state": i.state.value, "due_at": i.due_at.isoformat(), "attempts": i.attempts,
             "error": i.last_error, "text": i.rendered_text, "remote_id": i.remote_id,
             "remote_url": i.remote_url, "what_to_do": what_to_do(i)} for i in items]
            + [r.as_dict() for r in replies]))
        return
    if not items and not replies:
        console.print("Nothing needs a decision.")
        return
    zone = display_zone(workspace.resolve(), utc)
    table = Table(title="Deliveries that need a decision")
    for name in ("id", "state", f"due ({zone.key})", "post → channel", "what is known",
                 "what to do"):
        table.add_column(name)
    for i in items:
        known = i.last_error or ""
        if i.rendered_text:
            known += f"\ntext: {i.rendered_text[:120]}"
        table.add_row(str(i.id), i.state.value, f"{i.due_at.astimezone(zone):%Y-%m-%d %H:%M}",
                      f"{i.post_key} → {i.channel_id}", known, what_to_do(i))
    for r in replies:
        table.add_row(f"reply {r.id}", r.state.value,
                      f"{r.updated_at.astimezone(zone):%Y-%m-%d %H:%M}",
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
