"""``cm plan``, ``cm apply``, ``cm status``: bring the workspace into the ledger and look at it.

``cm plan`` shows what ``cm apply`` would do (like a migration plan), ``cm apply`` does it in one
transaction, ``cm status`` counts deliveries by network and state and lists the next ones due.
"""

from __future__ import annotations

import json
from contextlib import closing as _closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table

from cm_toolkit.cli import (
    DatabaseOption,
    JsonOption,
    UtcOption,
    WorkspaceOption,
    app,
    console,
    display_zone,
    err_console,
)
from cm_toolkit.errors import NoLedger, UsageError
from cm_toolkit.ledger import DeliveryState, Ledger, LedgerAccess, open_ledger
from cm_toolkit.ledger.apply import ApplyResult, PlanDiff, apply, diff
from cm_toolkit.ledger.summary import plan_as_dict, summarize
from cm_toolkit.ledger.workers import WorkerBook, WorkerView

DETAIL_ROWS = 30


def _compute(root: Path, database_url: str | None, now: datetime,
             access: LedgerAccess) -> tuple[PlanDiff, Ledger, str]:
    """The plan's diff against the ledger, the ledger and the URL to show, after the whole of
    cm check (every delivery rendered): what it refuses is not planned nor applied. ``cm plan``
    reads: before the first ``cm apply`` it diffs against an empty ledger in memory."""
    from cm_toolkit.cli.published import published_lookup
    from cm_toolkit.cores import forking_allowed
    from cm_toolkit.inbox.faq_check import faq_problems
    from cm_toolkit.templates.plan_check import checked_plan

    # read-only, and only if the ledger exists: a past time already published is no warning
    published = published_lookup(root, database_url, named_must_exist=False)
    with forking_allowed():  # a large plan is checked on several cores (cm_toolkit/cores.py)
        checked = checked_plan(root, now, published=published, file_checks=[faq_problems])
    for warning in checked.warnings:
        err_console.print(str(warning), markup=False, highlight=False, emoji=False)
    try:
        ledger = open_ledger(database_url, checked.workspace.root, access)
        shown = ledger.url
    except NoLedger as missing:
        if access is not LedgerAccess.READ:
            raise
        ledger = open_ledger("sqlite://", checked.workspace.root)
        shown = f"none yet ({missing.message}: cm apply creates it)"
    try:
        return diff(checked.plan, ledger, checked.texts), ledger, shown
    except BaseException:
        ledger.close()
        raise


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "-"


def _print_plan(plan_diff: PlanDiff, shown_url: str, title: str) -> None:
    zone = ZoneInfo(plan_diff.plan.timezone)
    rows = summarize(plan_diff)
    console.print(f"ledger: {shown_url}", markup=False, highlight=False)
    if rows:
        table = Table(title=title)
        for header in ("campaign", "network", "create", "change", "cancel", "first due"):
            counter = header in ("create", "change", "cancel")
            table.add_column(header, justify="right" if counter else "left", no_wrap=True)
        for row in rows:
            table.add_row(row.campaign_id, row.network, str(row.create), str(row.change),
                          str(row.cancel), _local(row.first_due, zone))
        console.print(table)
    if rows or plan_diff.texts_changed:
        _print_details(plan_diff, zone)
    creates = len(plan_diff.create) + len(plan_diff.revived)
    changes = len(plan_diff.change) - len(plan_diff.revived)
    texts = len(plan_diff.texts_changed)
    console.print(
        f"{creates} to create, {changes} to change, {len(plan_diff.cancel)} to cancel, "
        f"{plan_diff.unchanged} unchanged"
        + (f", {plan_diff.locked} already sent (kept as they are)" if plan_diff.locked else "")
        + (f"; {texts} with a new text since the last cm apply (their templates changed: "
           "cm preview POST shows it)" if texts else ""),
        highlight=False,
    )


def _print_details(plan_diff: PlanDiff, zone: ZoneInfo) -> None:
    lines: list[str] = []
    for change in plan_diff.change:
        what = "back" if change.revive else " and ".join(
            part for part, flag in (("time", change.due_changed),
                                    ("content", change.content_changed)) if flag
        ) or "grace"
        lines.append(f"~ {change.planned.post_key} on {change.planned.channel_id} "
                     f"#{change.planned.occurrence}: {what}, due "
                     f"{_local(change.planned.due_at, zone)}")
    for cancel in plan_diff.cancel:
        lines.append(f"- {cancel.key[0]} on {cancel.key[1]} #{cancel.key[2]} "
                     f"(was due {_local(cancel.row.due_at, zone)})")
    for text in plan_diff.texts_changed:
        lines.append(f"~ {text.planned.post_key} on {text.planned.channel_id} "
                     f"#{text.planned.occurrence}: new text, due "
                     f"{_local(text.planned.due_at, zone)}")
    for line in lines[:DETAIL_ROWS]:
        console.print(line, markup=False, highlight=False)
    if len(lines) > DETAIL_ROWS:
        console.print(f"... and {len(lines) - DETAIL_ROWS} more (--json lists them all)")


def _write_json(data: dict[str, Any]) -> None:
    console.file.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@app.command("plan")
def plan_command(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show what cm apply would create, change and cancel in the ledger (after the checks of
    cm check: exit 1 on any error it reports)."""
    plan_diff, ledger, shown = _compute(workspace, database_url, datetime.now(UTC),
                                        LedgerAccess.READ)
    with _closing(ledger):
        if json_output:
            _write_json(plan_as_dict(plan_diff))
        else:
            _print_plan(plan_diff, shown, "Plan")


@app.command("apply")
def apply_command(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
) -> None:
    """Bring the ledger to the workspace (one transaction; running it twice changes nothing).
    Refuses, with exit 1, what cm check refuses."""
    now = datetime.now(UTC)
    plan_diff, ledger, shown = _compute(workspace, database_url, now, LedgerAccess.CREATE)
    with _closing(ledger):
        result: ApplyResult = apply(plan_diff, ledger, now)
        if json_output:
            _write_json({**plan_as_dict(plan_diff), "applied": {
                "created": result.created, "changed": result.changed,
                "cancelled": result.cancelled}})
        else:
            _print_plan(plan_diff, shown, "Applied")
            console.print(f"applied: {result.created} created, {result.changed} changed, "
                          f"{result.cancelled} cancelled", highlight=False)


def _print_workers(workers: list[WorkerView], zone: ZoneInfo) -> None:
    """The cluster's workers (PostgreSQL: docs/scaleout.md), the most recently seen first."""
    table = Table(title="Workers")
    for header in ("worker", "host", "pid", "role", f"last seen ({zone.key})", "in flight"):
        table.add_column(header, justify="right" if header in ("pid", "in flight") else "left")
    for worker in workers:
        role = "stopped" if worker.stopped_at else ("leader" if worker.leader else "worker")
        table.add_row(worker.id, worker.host, str(worker.pid), role,
                      f"{worker.last_seen_at.astimezone(zone):%Y-%m-%d %H:%M:%S}",
                      str(worker.in_flight))
    console.print(table)


@app.command("status")
def status_command(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    json_output: JsonOption = False,
    utc: UtcOption = False,
) -> None:
    """Deliveries by network and state, and the next 10 due with their ids (times in the
    workspace's time zone; --utc for UTC)."""
    if database_url is None and not workspace.is_dir():
        raise UsageError(f"workspace folder {workspace} does not exist",
                         fix="pass --workspace DIR or --database-url URL")
    ledger = open_ledger(database_url, workspace, LedgerAccess.READ)
    with _closing(ledger):
        counts = ledger.state_counts()
        due = ledger.next_due(limit=10)
        workers = WorkerBook(ledger).listed()  # a PostgreSQL cluster's; none on SQLite
    if json_output:
        _write_json({
            "ledger": ledger.url,
            "workers": [{"worker": w.id, "host": w.host, "pid": w.pid, "leader": w.leader,
                         "last_seen_at": w.last_seen_at.isoformat(), "in_flight": w.in_flight,
                         "stopped": w.stopped_at is not None} for w in workers],
            "counts": [{"network": c.network, "state": c.state.value, "count": c.count}
                       for c in counts],
            "next_due": [{"delivery_id": d.delivery.id, "post_key": d.delivery.post_key,
                          "channel": d.delivery.channel_id, "network": d.delivery.network,
                          "campaign": d.campaign_id, "state": d.delivery.state.value,
                          "due_at": (d.delivery.next_attempt_at or d.delivery.due_at).isoformat()}
                         for d in due],
        })
        return
    console.print(f"ledger: {ledger.url}", markup=False, highlight=False)
    if workers:
        _print_workers(workers, display_zone(workspace, utc))
    if not counts:
        console.print("the ledger is empty: run cm apply")
        return
    states = sorted({c.state for c in counts}, key=list(DeliveryState).index)
    by_network: dict[str, dict[str, int]] = {}
    for count in counts:
        by_network.setdefault(count.network, {})[count.state.value] = count.count
    table = Table(title="Deliveries")
    table.add_column("network")
    for state in states:
        table.add_column(state.value, justify="right")
    for network, cells in sorted(by_network.items()):
        table.add_row(network, *(str(cells.get(state.value, 0)) for state in states))
    console.print(table)
    if due:
        zone = display_zone(workspace, utc)
        upcoming = Table(title="Next due")
        for header in ("id", f"due ({zone.key})", "campaign", "item", "channel", "state"):
            upcoming.add_column(header, no_wrap=header.startswith(("id", "due")))
        for entry in due:
            row = entry.delivery
            when = row.next_attempt_at or row.due_at
            upcoming.add_row(str(row.id), f"{when.astimezone(zone):%Y-%m-%d %H:%M}",
                             entry.campaign_id, f"{row.post_key} #{row.occurrence}",
                             row.channel_id, row.state.value)
        console.print(upcoming)
