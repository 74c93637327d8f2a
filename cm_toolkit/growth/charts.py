"""Plotly figures as plain JSON-ready dicts (``{"data": [...], "layout": {...}, ...}``).

The same figures go into the HTML report (inlined) and the dashboard (JSON endpoints). Times are
written in the workspace's local time. A ``None`` in a series is a gap: Plotly breaks the line
there (``connectgaps`` is false), so a missing snapshot is never drawn as if it had been taken.

Each figure also carries ``title`` (shown by the page as a heading above the chart, not inside
it: on a phone Plotly's toolbar would sit on it), ``locale`` (Plotly's month names, date
formats and separators for the workspace language, ``Wording.plotly_locale``) and ``config``
(``Plotly.newPlot``'s: the locale, and no "share to Plotly's cloud" button). A channel has one colour on
every chart and page (``channel_colours``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.growth.activity import ActivityReport
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.engagement import NetworkEngagement, PostPerformance
from cm_toolkit.growth.metrics import value_at
from cm_toolkit.growth.wording import Wording
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.snapshot_reads import Point, channel_ids

Figure = dict[str, Any]

STATE_COLOURS = {
    "published": "#2e7d32", "planned": "#90a4ae", "sending": "#0288d1", "retry_wait": "#f9a825",
    "failed": "#c62828", "unknown": "#6a1b9a", "missed": "#ef6c00", "cancelled": "#bdbdbd",
    "awaiting_done": "#00838f",
}
CHANNEL_PALETTE = (  # Tableau 10: distinct from each other, readable on white
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
)
ENGAGEMENT_COLOURS = {"reactions": "#4e79a7", "comments": "#f28e2b", "shares": "#59a14f"}
LOCAL_FORMAT = "%Y-%m-%d %H:%M"


def channel_colours(channel_ids: Iterable[str]) -> dict[str, str]:
    """One colour per channel: the channels, sorted by id, take the palette's colours in turn.

    Every page and chart asks with the same ids (the workspace's channels and the ledger's),
    so a channel keeps its colour everywhere; sorting makes it independent of query order.
    """
    return {cid: CHANNEL_PALETTE[index % len(CHANNEL_PALETTE)]
            for index, cid in enumerate(sorted(set(channel_ids)))}


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(LOCAL_FORMAT)


def _figure(data: list[dict[str, Any]], title: str, y_title: str, words: Wording,
            *, counts: bool = True, **extra: Any) -> Figure:
    locale = words.plotly_locale()
    layout: dict[str, Any] = {
        "margin": {"l": 50, "r": 10, "t": 30, "b": 40},  # t: room for the toolbar, no title
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
        "xaxis": {"automargin": True},
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "closest",
        "autosize": True,
        "separators": locale["format"]["decimal"] + locale["format"]["thousands"],
    }
    layout.update(extra)
    if not any(y is not None for trace in data for y in trace.get("y", [])):
        # nothing to draw: Plotly's empty axes run from -1 to 6; say there is nothing instead
        layout["xaxis"].update(visible=False)
        layout["yaxis"].update(visible=False)
        layout["annotations"] = [{"text": words.charts.no_data, "showarrow": False,
                                  "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}]
    else:
        _fit_axes(data, layout, counts=counts)
    config = {"responsive": True, "displaylogo": False, "locale": locale["name"],
              # no upload to Plotly's cloud from a private report; no selection tools
              "modeBarButtonsToRemove": ["sendChartToCloud", "select2d", "lasso2d"]}
    return {"data": data, "layout": layout, "title": title, "locale": locale, "config": config}


def _fit_axes(data: Sequence[dict[str, Any]], layout: dict[str, Any], *, counts: bool) -> None:
    """Axes Plotly would get wrong with a single value: one instant (Plotly spans it over
    milliseconds, or years for a bar) gets a day either side; one value (Plotly centres it on
    ±1, below zero for a count) gets zero to a little above it. Counts get whole ticks."""
    xs = sorted({x for trace in data for x in trace.get("x", []) if x is not None})
    ys = [y for trace in data for y in trace.get("y", []) if y is not None]
    at = _instant(xs[0]) if len(xs) == 1 else None
    if at is not None:
        layout["xaxis"].update(type="date", range=[
            (at - timedelta(days=1)).strftime(LOCAL_FORMAT),
            (at + timedelta(days=1)).strftime(LOCAL_FORMAT)])
    if ys and min(ys) == max(ys):
        value = float(ys[0])
        top = max(value * 1.2, 1.0) if value >= 0 else 0.0
        bottom = 0.0 if value >= 0 else value * 1.2
        layout["yaxis"].update(range=[bottom, top], autorange=False)
    if counts and ys and max(abs(y) for y in ys) < 5:
        layout["yaxis"].update(dtick=1)  # 0, 1, 2 followers: never 0.5 of one
    if counts:
        layout["yaxis"].setdefault("tickformat", ",d")


def _instant(value: Any) -> datetime | None:
    """An x value of ours that is a date or a local time; None for a category (a network)."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def growth_figure(
    curves: Mapping[str, Sequence[Point | None]],
    zone: ZoneInfo,
    words: Wording,
    *,
    names: Mapping[str, str],
    colours: Mapping[str, str],
    posts: Mapping[str, Sequence[PostPerformance]] | None = None,
    reference: Mapping[str, int] | None = None,
) -> Figure:
    """One line per channel id (followers, or multiple of ``reference[id]`` when given), in
    the order of the ids, with the posts published on the channel as markers on its curve."""
    data: list[dict[str, Any]] = []
    says = words.charts
    for cid in sorted(curves):
        points = curves[cid]
        name = names.get(cid, cid)
        colour = colours.get(cid)
        base = reference.get(cid) if reference is not None else None
        if reference is not None and not base:
            continue
        xs: list[str | None] = []
        ys: list[float | None] = []
        for index, point in enumerate(points):
            if point is None:  # a gap: null y, at a time between its neighbours
                neighbour = points[index - 1] if index else None
                xs.append(_local(neighbour.at, zone) if neighbour else None)
                ys.append(None)
                continue
            xs.append(_local(point.at, zone))
            ys.append(round(point.followers / base, 4) if base else point.followers)
        data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": xs,
                     "y": ys, "connectgaps": False, "marker": {"size": 4, "color": colour},
                     "line": {"color": colour}, "legendgroup": cid,
                     "hovertemplate": "%{x}<br>%{y:,}<extra>" + name + "</extra>"})
        published = (posts or {}).get(cid, [])
        real = [p for p in points if p is not None]
        marks = [(post, value_at(real, post.published_at)) for post in published]
        marks = [(post, at) for post, at in marks if at is not None]
        if marks and reference is None:
            data.append({
                "type": "scatter", "mode": "markers", "name": says.posts_of.format(name=name),
                "x": [_local(post.published_at, zone) for post, _ in marks],
                "y": [at.followers for _, at in marks if at is not None],
                "text": [post.post_key for post, _ in marks], "legendgroup": cid,
                "marker": {"symbol": "triangle-up", "size": 9, "color": colour,
                           "line": {"color": "#1f2933", "width": 1}},
                "hovertemplate": "%{text}<br>%{x}<extra>" + says.published + "</extra>",
            })
    if reference is not None:
        return _figure(data, says.multiple_title, says.multiple, words, counts=False)
    return _figure(data, says.followers_title, says.followers, words)


def net_adds_figure(bars: Mapping[str, Sequence[tuple[date, int | None]]], words: Wording, *,
                    names: Mapping[str, str], colours: Mapping[str, str]) -> Figure:
    """Net adds per week, one bar colour per channel id."""
    data = [{"type": "bar", "name": names.get(cid, cid), "x": [d.isoformat() for d, _ in values],
             "y": [v for _, v in values], "marker": {"color": colours.get(cid)}}
            for cid, values in sorted(bars.items())]
    return _figure(data, words.charts.net_adds_title, words.charts.net_adds, words,
                   barmode="group")


def deliveries_figure(report: ActivityReport, words: Wording) -> Figure:
    """Deliveries per week, stacked by state."""
    weeks = sorted({line.week for line in report.deliveries})
    data = []
    for state in report.states_present():
        counts = [sum(1 for line in report.deliveries if line.week == week and line.state is state)
                  for week in weeks]
        data.append({"type": "bar", "name": words.state(state.value),
                     "x": [w.isoformat() for w in weeks], "y": counts,
                     "marker": {"color": STATE_COLOURS.get(state.value)}})
    return _figure(data, words.charts.deliveries_title, words.charts.deliveries, words,
                   barmode="stack")


def engagement_figure(rows: Sequence[NetworkEngagement], words: Wording) -> Figure:
    measured = [row for row in rows if row.measured]
    names = [row.network for row in measured]
    data = [
        {"type": "bar", "name": words.charts[attr], "x": names,
         "y": [getattr(row, attr) for row in measured],
         "marker": {"color": ENGAGEMENT_COLOURS[attr]}}
        for attr in ("reactions", "comments", "shares")
    ]
    return _figure(data, words.charts.engagement_title, words.charts.interactions, words,
                   barmode="stack")


def palette_for(ledger: Ledger, context: GrowthContext) -> dict[str, str]:
    """The colour of each channel of the workspace and of the ledger (``channel_colours``):
    the dashboard and the report ask the same question, so they answer the same colours."""
    with ledger.reading() as session:
        return channel_colours([*context.names, *channel_ids(session)])
