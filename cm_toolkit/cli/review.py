"""A person's decisions: ``cm publish --now``, ``cm cancel``, ``cm restore``, ``cm retry``,
``cm review``, ``cm resolve``. They change the ledger only; a running ``cm run`` picks them up
at its next re-read (``cm publish --now`` also sends at once, in this process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
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
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.scheduler import by_hand
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

    def say(result: by_hand.SentNow) -> None:
        attempt = result.attempt
        console.print(f"#{attempt.delivery_id} {result.channel_id}: {attempt.step.value} "
                      f"{attempt.detail}", highlight=False)

    try:
        results = by_hand.publish_now(root=root, ledger=ledger, clock=SystemClock(), load=_load,
                                      channels=connect(sandbox), post=post, channel=channel,
                                      each=say)
    finally:
        ledger.close()
    if not all(result.sent for result in results):
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


PostArg = Annotated[str, typer.Argument(help="Post id (or live session id).")]
ChannelOption = Annotated[str | None, typer.Option(help="Only this channel id.")]
OccurrenceOption = Annotated[int | None, typer.Option(
    "--occurrence", min=1, help="Only this occurrence (1, 2, ...) of a recurring post.",
    show_default=False)]
AtOption = Annotated[str | None, typer.Option(
    "--at", help="Only what is due that day ('2027-03-08') or at that time "
    "('2027-03-08 09:00'), in the workspace's time zone.", show_default=False)]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@dataclass(frozen=True)
class Choice:
    """What ``cm cancel`` and ``cm restore`` act on: a post's deliveries, narrowed by
    --channel, --occurrence and --at."""

    post: str
    channel: str | None
    occurrence: int | None
    at: str | None
    yes: bool

    def rows(self, ledger: Ledger, zone: ZoneInfo) -> list[Delivery]:
        wanted = _at_filter(self.at, zone) if self.at is not None else None
        return [row for row in decisions.deliveries_of(ledger, self.post, self.channel)
                if (self.occurrence is None or row.occurrence == self.occurrence)
                and (wanted is None or wanted(row.due_at))]

    def which(self) -> str:
        return "".join(f" {name} {value}" for name, value in
                       (("--occurrence", self.occurrence), ("--at", self.at)) if value is not None)


PostDecision = Callable[[Choice, Ledger, ZoneInfo], str]


def _post_decision(name: str) -> Callable[[PostDecision], PostDecision]:
    """Register the command ``name`` with the arguments POST [--channel ID] [--occurrence N |
    --at DATE] [--yes]; its help is the decision's docstring. The decision gets the ledger (for
    writing) and the workspace's time zone, and returns the line said when it is done."""

    def register(decide: PostDecision) -> PostDecision:
        def command(
            post: PostArg,
            channel: ChannelOption = None,
            occurrence: OccurrenceOption = None,
            at: AtOption = None,
            yes: YesOption = False,
            workspace: WorkspaceOption = Path("."),
            database_url: DatabaseOption = None,
        ) -> None:
            root = workspace.resolve()
            zone = display_zone(root)
            ledger = _open(root, database_url)
            try:
                said = decide(Choice(post, channel, occurrence, at, yes), ledger, zone)
            finally:
                ledger.close()
            console.print(said, highlight=False, markup=False)

        command.__doc__ = decide.__doc__
        app.command(name)(command)
        return decide

    return register


def _deliveries(count: int) -> str:
    return f"{count} deliver{'y' if count == 1 else 'ies'}"


def _confirmed(rows: list[Delivery], zone: ZoneInfo, verb: str, yes: bool) -> bool:
    """List ``rows`` and ask "<verb> these N deliveries?" (``yes``: do not ask). No answer (no
    terminal) is a no."""
    table = Table(title=f"To {verb} ({zone.key})", title_justify="left")
    for name in ("id", "post", "channel", "occurrence", "due", "state"):
        table.add_column(name)
    for row in rows:
        table.add_row(str(row.id), row.post_key, row.channel_id, str(row.occurrence),
                      f"{row.due_at.astimezone(zone):%Y-%m-%d %H:%M}", row.state.value)
    console.print(table)
    try:
        return yes or typer.confirm(f"{verb.capitalize()} these {_deliveries(len(rows))}?",
                                    default=False)
    except (typer.Abort, OSError):
        return False


@_post_decision("cancel")
def cancel(choice: Choice, ledger: Ledger, zone: ZoneInfo) -> str:
    """Cancel a post's deliveries not sent yet, after listing them and asking (--yes: do not
    ask). They stay cancelled when you apply again; `cm restore POST` undoes it."""
    rows = [row for row in choice.rows(ledger, zone) if row.state.value in CANCELLABLE]
    if not rows:
        raise UsageError(f"{choice.post!r} has no delivery left to cancel{choice.which()}",
                         fix="cm status lists its deliveries and their states")
    if not _confirmed(rows, zone, "cancel", choice.yes):
        console.print("Nothing cancelled (--yes cancels without asking).")
        raise typer.Exit(1)
    now = SystemClock().now()
    for row in rows:
        decisions.cancel(ledger, row, now)
    return (f"{_deliveries(len(rows))} of {choice.post} cancelled "
            f"(`cm restore {choice.post}` undoes it)")


@_post_decision("restore")
def restore(choice: Choice, ledger: Ledger, zone: ZoneInfo) -> str:
    """Undo `cm cancel`: the post's cancelled deliveries are planned again at their planned
    instants, after listing them and asking (--yes: do not ask). One whose instant and grace
    window are over stays cancelled (`cm retry N` sends it now)."""
    now = SystemClock().now()
    found = decisions.restorable(choice.rows(ledger, zone), now, ledger)
    notes = _left_cancelled(found)
    if not found.back:
        raise UsageError(f"{choice.post!r} has no cancelled delivery to restore{choice.which()}",
                         fix="; ".join(notes) or "cm status lists its deliveries and states")
    for note in notes:
        console.print(note, highlight=False, markup=False)
    if not _confirmed(found.back, zone, "restore", choice.yes):
        console.print("Nothing restored (--yes restores without asking).")
        raise typer.Exit(1)
    for row in found.back:
        decisions.restore(ledger, row, now)
    return (f"{_deliveries(len(found.back))} of {choice.post} restored, each due at its "
            "planned instant")


def _left_cancelled(found: decisions.Restorable) -> list[str]:
    """Why the cancelled deliveries that ``cm restore`` leaves are left, with what to do."""
    def ids(rows: list[Delivery]) -> str:
        return ", ".join(str(row.id) for row in rows)

    notes = []
    if found.passed:
        notes.append(f"left cancelled, their time has passed: {ids(found.passed)} "
                     f"(cm retry N sends one now)")
    if found.unplanned:
        notes.append(f"left cancelled, no longer in schedules.yaml: {ids(found.unplanned)} "
                     "(put the post back, then cm apply)")
    if found.dropped:
        notes.append(f"left cancelled, given up by cm resolve --drop: {ids(found.dropped)} "
                     "(it may be online: check, then cm retry N)")
    return notes


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
