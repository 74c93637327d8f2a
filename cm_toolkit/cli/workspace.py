"""``cm check``: validate the workspace, check every planned delivery, and list every problem.

Once the files load without error, the plan check renders every delivery of the plan and adds up
quotas and costs (``cm_toolkit.templates.plan_check``): its problems join the list, and a table
summarises the plan per network. ``--json`` prints ``{"problems": [...], "summary": {...},
"plan": {...}}`` (``plan`` is null when the files did not load).

Exit codes: 0 when there is no error (warnings are allowed), 1 when there are problems, 2 for a
usage error (no workspace folder, no schedules.yaml).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cm_toolkit.cli import DatabaseOption, JsonOption, WorkspaceOption, app, console
from cm_toolkit.cli.live_links import created_session_links
from cm_toolkit.cli.published import published_lookup
from cm_toolkit.cores import forking_allowed
from cm_toolkit.errors import UsageError
from cm_toolkit.inbox.faq_check import faq_problems
from cm_toolkit.templates.plan_check import check_everything
from cm_toolkit.workspace.starter import (
    StarterOptions,
    check_timezone,
    default_networks,
    parse_networks,
    write_starter,
)


@app.command("check")
def check(
    workspace: WorkspaceOption = Path("."),
    json_output: JsonOption = False,
    database_url: DatabaseOption = None,
) -> None:
    """Check schedules.yaml, channels/ and templates/, then every planned delivery: every
    problem with file:line, and the plan's quotas and X cost.

    Live announcements are checked with their session's real link once it is created (read from
    the ledger when there is one), else with a placeholder of the host's form and length. A time
    that has passed is warned about unless the ledger shows its deliveries published."""
    now = datetime.now(UTC)
    links = created_session_links(workspace, database_url) if workspace.is_dir() else {}
    published = published_lookup(workspace, database_url) if workspace.is_dir() else None
    with forking_allowed():  # a large plan is checked on several cores (cm_toolkit/cores.py)
        report, plan_check = check_everything(workspace, now, session_links=links,
                                              published=published,
                                              file_checks=[faq_problems])
    plan = plan_check.result.summary if plan_check.result is not None else None
    if json_output:
        payload = {**report.as_dict(), "plan": plan}
        console.file.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        for problem in report.problems:
            _say(str(problem))
        if plan is not None and plan["deliveries"] + sum(plan["live_setups"].values()):
            console.print(plan_table(plan))
        if plan is not None and plan.get("inbox", {}).get("sources"):
            _say(inbox_line(plan["inbox"]))
        _say(report.summary_line())
    if not report.ok:
        raise typer.Exit(code=1)


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(
        help="Where to write it (made if missing; must not hold a workspace yet).",
        file_okay=False)] = Path("."),
    timezone: Annotated[str, typer.Option(
        "--timezone", help="The workspace's IANA time zone, e.g. Europe/Paris.")] = "UTC",
    language: Annotated[str, typer.Option(
        "--language", help="Language of the posts' words, dates and numbers (en, fr...).")] = "en",
    networks: Annotated[str, typer.Option(
        "--networks", help="Comma-separated installed networks (`cm channels --networks`; "
        "default: x, facebook, linkedin); a live host (youtube, meet) adds a live "
        "session.")] = "",
) -> None:
    """Write a small working workspace (schedules.yaml, channels/, templates/, faq.yaml) that
    passes `cm check` and rehearses with `cm demo` at once, with its own account ids."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        raise UsageError(f"--language {language!r} is not a language code",
                         fix="e.g. --language en or --language fr") from None
    options = StarterOptions(check_timezone(timezone), language,
                             parse_networks(networks or default_networks()))
    written = write_starter(folder, options, datetime.now(UTC).date())
    for path in written:
        _say(f"wrote {path}")
    _say(f"next: cm check -w {folder}   then   cm demo -w {folder}")


def plan_table(plan: dict[str, Any]) -> Table:
    """Deliveries per network, the busiest 15 minutes of one account, YouTube's busiest day
    (quota units) and X's price."""
    table = Table(title=f"Plan: {plan['first'][:10]} to {plan['last'][:10]}", title_justify="left")
    for name, justify in (("network", "left"), ("deliveries", "right"),
                          ("peak / 15 min", "right"), ("quota", "left"), ("cost", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    networks = sorted(set(plan["by_network"]) | set(plan["live_setups"]))
    for network in networks:
        posts = plan["by_network"].get(network, 0)
        setups = plan["live_setups"].get(network, 0)
        count = str(posts) + (f" + {setups} live" if setups else "")
        peak = plan["peak_per_15_minutes"].get(network)
        quota, cost = _quota_cell(plan.get(network) or {}), ""
        if "cost_usd" in plan.get(network, {}):
            bill = plan[network]
            cost = (f"${bill['cost_usd']:,.2f} ({bill['posts']} posts, "
                    f"{bill['posts_with_url']} with URL)")
        table.add_row(network, count, "" if peak is None else str(peak), quota, cost)
    return table


def _quota_cell(summary: dict[str, Any]) -> str:
    """A network's quota summary (``templates/quotas.py``) in a few words: each rolling
    window's busiest count against its limit, the busiest day of each daily quota."""
    cells = []
    for key, groups in summary.items():
        if key.startswith("per_") and isinstance(groups, dict) and groups:
            number, unit = key.removeprefix("per_").split("_", 1)
            limit = next(iter(groups.values()))["limit"]
            busiest = max(group["peak"] for group in groups.values())
            cells.append(f"{busiest:,}/{limit:,} per {number} {unit[0] if unit == 'hours' else 'min'}")
    first = True
    for key, limit in summary.items():
        if not key.startswith("daily_"):
            continue
        unit = key.removeprefix("daily_")
        busiest = summary.get(f"peak_{unit}_per_day", 0)
        if first:  # the main quota always; the others (YouTube's uploads) when used
            cells.append(f"peak {busiest:,}/{limit:,} {unit}/day")
        elif busiest:
            cells.append(f"{unit} {busiest:,}/{limit:,} per day")
        first = False
    return ", ".join(cells)


def inbox_line(inbox: dict[str, Any]) -> str:
    """What the inbox's polling costs (docs/inbox.md), under the plan table."""
    text = (f"Inbox polling: X reads at most ${inbox['x_reads_usd_per_month']:,.2f} a month "
            f"(inbox.x_read_budget_usd ${inbox['x_read_budget_usd']:,.2f}; "
            f"${inbox['reads_most_usd_per_month']:,.2f} if every read returned a full page)")
    if inbox["youtube_units_per_day"] or inbox["youtube_live_chat_units"]:
        text += (f"; YouTube {inbox['youtube_units_per_day']} units a day, "
                 f"+{inbox['youtube_live_chat_units']} on a live day")
    return text


def _say(text: str) -> None:
    # Plain text: "schedules.yaml:100:19" must not become an emoji (Rich's ":100:"), nor markup.
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
