"""``cm growth snapshot|import|report``, ``cm report activity`` and ``cm dashboard``.

Follower growth and activity, read from the ledger (docs/growth.md, docs/dashboard.md).
"""

from __future__ import annotations

import enum
import logging
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from cm_toolkit.cli import (
    DatabaseOption,
    JsonOption,
    WorkspaceOption,
    app,
    console,
    err_console,
    output_file_option,
    port_option,
)
from cm_toolkit.cli.connect import SandboxOption, connect
from cm_toolkit.clock import SystemClock
from cm_toolkit.errors import UsageError
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.display import count, multiple, percent, signed
from cm_toolkit.growth.importer import import_history
from cm_toolkit.growth.metrics import growth_table
from cm_toolkit.growth.report import (
    activity_csv,
    activity_html,
    activity_json,
    growth_csv,
    growth_json,
    write_text,
)
from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.workspace.datetimes import DateTimeError, localize, parse_datetime
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace

growth_app = typer.Typer(help="Follower snapshots, history import and the growth table.",
                         no_args_is_help=True)
report_app = typer.Typer(help="Reports for marketing (CSV, self-contained HTML).",
                         no_args_is_help=True)
app.add_typer(growth_app, name="growth")
app.add_typer(report_app, name="report")


class TableFormat(enum.Enum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class ReportFormat(enum.Enum):
    CSV = "csv"
    HTML = "html"


SinceOption = Annotated[str | None, typer.Option(
    "--since", help="Start of the period (2027-02-01, or with a time; workspace time zone).",
    show_default=False)]
UntilOption = Annotated[str | None, typer.Option(
    "--until", help="End of the period (default: the latest snapshot / everything).",
    show_default=False)]


def _workspace(root: Path) -> Workspace:
    workspace, warnings = load_workspace(root)
    for warning in warnings:
        err_console.print(str(warning), markup=False, highlight=False, emoji=False)
    return workspace


def _instant(value: str | None, option: str, zone: ZoneInfo, *, end: bool = False) -> datetime | None:
    """A date from the command line, in the workspace zone; a date alone as ``--until`` means
    the end of that day."""
    if value is None:
        return None
    try:
        moment = localize(parse_datetime(value), zone)
    except DateTimeError as exc:
        raise UsageError(f"{option} {value!r} {exc}", fix=f"e.g. {option} 2027-02-22") from None
    if end and len(value.strip()) == 10:
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    return moment.astimezone(UTC)


def _open(root: Path, database_url: str | None,
          access: LedgerAccess = LedgerAccess.READ) -> tuple[Workspace, Ledger, GrowthContext]:
    """For the reports and the dashboard: they only read (a read-only ledger is enough), but
    the dashboard with --allow-replies writes (replies, states): WRITE."""
    workspace = _workspace(root)
    ledger = open_ledger(database_url, workspace.root, access)
    return workspace, ledger, GrowthContext.from_workspace(workspace, ledger)


@growth_app.command("snapshot")
def snapshot(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    sandbox: SandboxOption = None,
) -> None:
    """Take a follower snapshot of every channel now, and refresh recent posts' engagement."""
    from cm_toolkit.growth.snapshots import Snapshotter  # the SDKs: only for this command

    ws = _workspace(workspace.resolve())
    channels = connect(sandbox)
    ledger = open_ledger(database_url, ws.root, LedgerAccess.CREATE)  # brings data in
    try:
        at = datetime.now(UTC).replace(microsecond=0)
        result = Snapshotter(ledger).take(ws, channels(ws), at)
    finally:
        ledger.close()
    table = Table(title=f"Follower snapshot {at.astimezone(ZoneInfo(ws.schedules.timezone)):%Y-%m-%d %H:%M %Z}")
    table.add_column("channel")
    table.add_column("followers", justify="right")
    for channel_id, followers in sorted(result.taken.items()):
        table.add_row(channel_id, f"{followers:,}")
    for channel_id, reason in sorted(result.failed.items()):
        table.add_row(channel_id, f"[red]failed[/red]: {reason}")
    console.print(table)
    console.print(f"{len(result.taken)} snapshot(s), {result.engagement_rows} engagement "
                  f"measure(s) recorded.", highlight=False)
    if result.failed and not result.taken:
        raise typer.Exit(1)


@growth_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV with columns date,channel,followers.",
                                         show_default=False)],
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Load follower history kept elsewhere: all rows or none (bad rows listed by line)."""
    ws = _workspace(workspace.resolve())
    networks = {cid: channel.network for cid, channel in ws.channels.items()}
    ledger = open_ledger(database_url, ws.root, LedgerAccess.CREATE)  # brings data in
    try:
        result = import_history(ledger, file, networks, ZoneInfo(ws.schedules.timezone))
    finally:
        ledger.close()
    console.print(f"{file}: {result.rows} row(s) read, {result.added} snapshot(s) added, "
                  f"{result.unchanged} already in the ledger.", highlight=False)


@growth_app.command("report")
def growth_report(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    reference: Annotated[str | None, typer.Option(
        "--reference", help="Reference date of the multiples (default: growth.reference, "
        "else the first campaign's start).", show_default=False)] = None,
    output_format: Annotated[TableFormat, typer.Option("--format", help="table, csv or json.")
                             ] = TableFormat.TABLE,
) -> None:
    """Per channel: start, end, net adds, growth %, multiple since the reference, 7/30 days."""
    _ws, ledger, context = _open(workspace.resolve(), database_url)
    zone = context.zone
    context = context.with_reference(_instant(reference, "--reference", zone))
    try:
        table = growth_table(ledger, context, since=_instant(since, "--since", zone),
                             until=_instant(until, "--until", zone, end=True))
    finally:
        ledger.close()
    if output_format is TableFormat.CSV:
        console.file.write(growth_csv(table, context))
        return
    if output_format is TableFormat.JSON:
        console.file.write(growth_json(table, context))
        return
    shown = Table(title="Follower growth" + (
        f" (multiples since {context.reference.astimezone(zone):%Y-%m-%d})"
        if context.reference else ""))
    for header in ("channel", "network", "start", "end", "net adds", "growth", "multiple",
                   "7 days", "30 days"):
        shown.add_column(header, justify="left" if header in ("channel", "network") else "right")
    for row in table.rows:
        shown.add_row(row.channel_id, row.network if row.network else "-",
                      count(row.start.followers if row.start else None),
                      count(row.end.followers if row.end else None), signed(row.net_adds),
                      percent(row.percent), multiple(row.multiple), signed(row.net_7d),
                      signed(row.net_30d))
    console.print(shown)
    if not table.rows:
        console.print("No follower snapshot yet: run `cm growth snapshot` or `cm growth import`.")


@report_app.command("activity")
def activity(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    output_format: Annotated[ReportFormat, typer.Option("--format", help="csv or html.")
                             ] = ReportFormat.HTML,
    output: Annotated[Path | None, output_file_option(
        "--output", "-o", help="Where to write it (default: reports/activity.html or .csv; "
        "'-' prints it).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Deliveries per network and week, engagement, failures, live sessions, follower growth,
    and the inbox's interactivity (answered share, time to first answer, open items)."""
    from cm_toolkit.growth.activity import build_activity

    root = workspace.resolve()
    _ws, ledger, context = _open(root, database_url)
    try:
        report = build_activity(ledger, context, since=_instant(since, "--since", context.zone),
                                until=_instant(until, "--until", context.zone, end=True),
                                now=datetime.now(UTC))
        if json_output:
            text = activity_json(report)
        elif output_format is ReportFormat.CSV:
            text = activity_csv(report)
        else:
            text = activity_html(ledger, report)
    finally:
        ledger.close()
    if (json_output and output is None) or (output is not None and str(output) == "-"):
        console.file.write(text)
        return
    target = output or root / "reports" / f"activity.{output_format.value}"
    write_text(target, text)
    console.print(f"Activity report: {target}", highlight=False)


@app.command()
def dashboard(
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, port_option("Port to listen on (0: any free port).")] = 8050,
    token: Annotated[str | None, typer.Option(
        "--token", help="Access token, required to listen beyond 127.0.0.1 and with "
        "--allow-replies. On the command line it is visible to other users (ps): prefer "
        "--token-file or CM_DASHBOARD_TOKEN.",
        envvar="CM_DASHBOARD_TOKEN", show_default=False)] = None,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", help="A file holding the access token alone (chmod 600).",
        envvar="CM_DASHBOARD_TOKEN_FILE", show_default=False)] = None,
    allow_replies: Annotated[bool, typer.Option(
        "--allow-replies", help="Let the Inbox page answer, assign, close and ignore messages "
        "(needs a token, even on 127.0.0.1; forms carry a CSRF token).")] = False,
    sandbox: SandboxOption = None,
) -> None:
    """Serve the marketing dashboard (growth, calendar, posts, inbox); read-only unless
    --allow-replies."""
    from cm_toolkit.cli.secret_files import secret_option
    from cm_toolkit.web.app import Dashboard
    from cm_toolkit.web.auth import require_token_for
    from cm_toolkit.web.server import create_server

    token = secret_option(token, token_file, "--token")
    require_token_for(host, token)
    if allow_replies and token is None:
        raise UsageError("--allow-replies needs an access token, even on 127.0.0.1",
                         fix="pass --token (or set CM_DASHBOARD_TOKEN) with a random secret, "
                         "e.g. from python -c 'import secrets; print(secrets.token_urlsafe(24))'")
    ws, ledger, context = _open(workspace.resolve(), database_url,
                                LedgerAccess.WRITE if allow_replies else LedgerAccess.READ)
    clock = SystemClock()
    actions = None
    if allow_replies:
        from cm_toolkit.ledger.inbox import InboxLedger
        from cm_toolkit.web.inbox_actions import dashboard_actions

        actions = dashboard_actions(ws.root, InboxLedger(ledger), connect(sandbox)(ws), clock)
    logging.getLogger("cm.web").setLevel(logging.INFO)
    try:
        server = create_server(Dashboard(ledger, context, clock, token,
                                         language=ws.schedules.defaults.language,
                                         actions=actions), host, port)
    except BaseException:
        if actions is not None:
            actions.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Dashboard on http://{shown}:{server.server_address[1]}/"
                  + (" (open it once with ?token=YOUR_TOKEN)" if token else "")
                  + (" — replies allowed from the Inbox page" if actions else "")
                  + " — Ctrl-C to stop.", highlight=False)

    def _stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if actions is not None:
            actions.close()
        ledger.close()
    console.print("Dashboard stopped.")
