"""Writing the activity report (CSV or one self-contained HTML file) and the growth table.

The HTML report inlines Plotly's bundled JavaScript (``plotly.offline.get_plotlyjs()``): it
opens with no network access, from a mail attachment or a USB stick. Jinja2 renders it with
autoescaping on: post texts, titles and error messages are data, never markup.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from cm_toolkit.errors import CmError
from cm_toolkit.growth.activity import ActivityReport, build_activity
from cm_toolkit.growth.charts import (
    STATE_COLOURS,
    deliveries_figure,
    engagement_figure,
    growth_figure,
    net_adds_figure,
    palette_for,
)
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.display import install_filters
from cm_toolkit.growth.engagement import PostPerformance
from cm_toolkit.growth.metrics import GrowthTable, Period, net_adds, with_gaps
from cm_toolkit.growth.wording import Wording
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.snapshot_reads import Point, series

GROWTH_COLUMNS = ("channel", "name", "network", "start", "start_at", "end", "end_at", "net_adds",
                  "percent", "reference", "reference_at", "multiple", "net_7d", "net_30d")
INTERACTIVITY_COLUMNS = {  # CSV column (unit in the name) -> key of InteractivityRow.as_dict()
    "received_messages": "received", "question_messages": "questions",
    "answered_messages": "answered", "answered_share_percent": "answered_share_percent",
    "median_first_answer_minutes": "median_first_answer_minutes",
    "p90_first_answer_minutes": "p90_first_answer_minutes",
    "open_over_24h_messages": "open_over_24h",
    "auto_answered_share_percent": "auto_answered_share_percent",
}
GROWTH_ACTIVITY_COLUMNS = {  # CSV column (unit in the name) -> key of GrowthRow.as_dict()
    "followers_start": "start", "followers_start_at": "start_at", "followers_end": "end",
    "followers_end_at": "end_at", "net_adds_followers": "net_adds",
    "growth_percent": "percent", "followers_at_reference": "reference",
    "reference_at": "reference_at", "multiple_since_reference": "multiple",
    "net_adds_7d_followers": "net_7d", "net_adds_30d_followers": "net_30d",
}
ACTIVITY_COLUMNS = ("record", "id", "week", "due_at", "network", "channel", "campaign", "post",
                    "kind", "state", "attempts", "published_at", "url", "text",
                    "reactions", "comments", "shares", "views", "engagement_rate_percent",
                    *GROWTH_ACTIVITY_COLUMNS, "detail", *INTERACTIVITY_COLUMNS)


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """Plotly's bundled JavaScript (a few MB), read once."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def growth_csv(table: GrowthTable, context: GrowthContext) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=GROWTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in table.rows:
        writer.writerow(row.as_dict(context.zone))
    return out.getvalue()


def growth_json(table: GrowthTable, context: GrowthContext) -> str:
    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(context.zone).isoformat() if moment else None

    return json.dumps({
        "since": iso(table.since), "until": iso(table.until), "reference": iso(table.reference),
        "channels": [row.as_dict(context.zone) for row in table.rows],
    }, indent=2, ensure_ascii=False) + "\n"


def activity_csv(report: ActivityReport) -> str:
    """One file, one row per delivery, live session host and channel (``record`` says which),
    one column per figure with its unit in the name; ``text`` is the post as rendered."""
    zone = report.context.zone
    posts = {post.delivery_id: post for post in report.posts}

    def iso(moment: datetime | None) -> str:
        return moment.astimezone(zone).isoformat() if moment else ""

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ACTIVITY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for line in report.deliveries:
        post = posts.get(line.id)
        writer.writerow({
            "record": "delivery", "id": line.id, "week": line.week.isoformat(),
            "due_at": iso(line.due_at), "network": line.network,
            "channel": line.channel_id, "campaign": line.campaign_id, "post": line.post_key,
            "kind": line.kind.value, "state": line.state.value, "attempts": line.attempts,
            "published_at": iso(post.published_at) if post else "", "url": line.url or "",
            "text": line.text or "",
            "reactions": _blank(post.reactions if post else None),
            "comments": _blank(post.comments if post else None),
            "shares": _blank(post.shares if post else None),
            "views": _blank(post.views if post else None),
            "engagement_rate_percent": "" if post is None or post.rate is None
            else f"{post.rate:.3f}",
            "detail": line.error or "",
        })
    for session in report.sessions:
        for host in session.hosts:
            writer.writerow({
                "record": "live_session", "id": session.id, "due_at": iso(session.start),
                "network": host.network, "channel": host.channel_id,
                "post": session.title, "url": host.url or "",
                "detail": host.event_link or "",
            })
    for row in report.growth.rows:
        values = row.as_dict(zone)
        writer.writerow({
            "record": "growth", "id": row.channel_id,
            "network": values["network"] or "", "channel": row.channel_id,
            **{column: _blank(values[key]) for column, key in GROWTH_ACTIVITY_COLUMNS.items()},
        })
    interactivity = report.interactivity
    for record, rows in (("interactivity", interactivity.weeks if interactivity else []),
                         ("interactivity_total", interactivity.totals if interactivity else [])):
        for metrics in rows:
            figures = metrics.as_dict()
            writer.writerow({
                "record": record, "week": figures["week"] or "", "network": figures["network"],
                **{column: _blank(figures[key]) for column, key in INTERACTIVITY_COLUMNS.items()},
            })
    return out.getvalue()


def activity_json(report: ActivityReport) -> str:
    """The report's figures for programs: interactivity, growth, deliveries per week."""
    zone = report.context.zone

    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(zone).isoformat() if moment else None

    weekly = [{"week": week.isoformat(), "network": network,
               "deliveries": {state.value: n for state, n in counts.items()}}
              for week, network, counts in report.weekly_states()]
    interactivity = report.interactivity
    return json.dumps({
        "since": iso(report.since), "until": iso(report.until), "zone": zone.key,
        "generated_at": iso(report.generated_at),
        "interactivity": {
            "weeks": [row.as_dict() for row in interactivity.weeks] if interactivity else [],
            "totals": [row.as_dict() for row in interactivity.totals] if interactivity else [],
        },
        "deliveries_per_week": weekly,
        "failures": len(report.failures),
        "growth": [row.as_dict(zone) for row in report.growth.rows],
    }, indent=2, ensure_ascii=False) + "\n"


def _blank(value: object) -> object:
    return "" if value is None else value


def _environment(context: GrowthContext) -> Environment:
    environment = Environment(
        loader=PackageLoader("cm_toolkit.growth", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    install_filters(environment, context.zone, Wording(context.language))
    return environment


def _curves(ledger: Ledger, report: ActivityReport) -> dict[str, list[Point]]:
    with ledger.reading() as session:
        return {row.channel_id: series(session, row.channel_id, report.since, report.until)
                for row in report.growth.rows}


def report_figures(ledger: Ledger, report: ActivityReport) -> dict[str, dict[str, Any]]:
    context = report.context
    words = Wording(context.language)
    colours = palette_for(ledger, context)
    curves = _curves(ledger, report)
    names = {cid: context.name_of(cid) for cid in curves}
    posts_by_channel: dict[str, list[PostPerformance]] = {}
    for post in report.posts:
        posts_by_channel.setdefault(post.channel_id, []).append(post)
    gapped = {cid: with_gaps(points, context.gap_after) for cid, points in curves.items()}
    references = {row.channel_id: row.reference.followers for row in report.growth.rows
                  if row.reference is not None}
    return {
        "chart-growth": growth_figure(gapped, context.zone, words, names=names, colours=colours,
                                      posts=posts_by_channel),
        "chart-multiple": growth_figure(gapped, context.zone, words, names=names,
                                        colours=colours, reference=references),
        "chart-net-adds": net_adds_figure(
            {cid: net_adds(points, Period.WEEK, context.zone) for cid, points in curves.items()},
            words, names=names, colours=colours),
        "chart-deliveries": deliveries_figure(report, words),
        "chart-engagement": engagement_figure(report.engagement, words),
    }


def activity_html(ledger: Ledger, report: ActivityReport) -> str:
    context = report.context
    environment = _environment(context)
    words: Wording = environment.globals["words"]  # type: ignore[assignment]
    local = environment.filters["local"]
    says = words.report
    if report.since or report.until:
        period = f"{local(report.since) if report.since else says.beginning} → " \
                 f"{local(report.until) if report.until else says.now}"
    else:
        period = says.everything
    template = environment.get_template("activity.html.j2")
    return template.render(
        title=context.title,
        period=period,
        reference=local(context.reference) if context.reference else None,
        zone=context.zone.key,
        generated=local(report.generated_at),
        plotly_js=plotly_js(),
        growth=[row.as_dict(context.zone) for row in report.growth.rows],
        weekly=_weekly(report),
        states=[state.value for state in report.states_present()],
        engagement=report.engagement,
        top=report.top,
        failures=report.failures,
        sessions=report.sessions,
        deliveries=report.deliveries,
        figures=report_figures(ledger, report),
        colours=palette_for(ledger, context),
        state_colours=STATE_COLOURS,
        interactivity=report.interactivity,
        says=words.interactivity,
    )


def _weekly(report: ActivityReport) -> dict[str, Any]:
    """Weeks as rows, networks as columns, each cell the count of deliveries per state."""
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for week, network, counts in report.weekly_states():
        cells[(week.isoformat(), network)] = {
            state.value: counts[state] for state in report.states_present() if counts[state]
        }
    return {
        "weeks": sorted({week for week, _ in cells}),
        "networks": sorted({network for _, network in cells}),
        "cells": cells,
    }


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_demo_report(ledger: Ledger, demo_dir: Path) -> Path:
    """The HTML activity report of a replayed season (``cm demo``): DEMO_DIR/activity.html.

    The demo folder is WORKSPACE/.cm/demo, so the workspace gives names and the time zone.
    """
    from cm_toolkit.workspace.loader import load_workspace

    root = demo_dir.parent.parent
    try:
        workspace, _warnings = load_workspace(root)
        context = GrowthContext.from_workspace(workspace, ledger)
    except CmError:  # the ledger alone still makes a report (UTC, channel ids as names)
        context = GrowthContext.bare(ledger)
    report = build_activity(ledger, context, now=datetime.now(UTC))
    return write_text(demo_dir / "activity.html", activity_html(ledger, report))
