"""Plotly figures as plain JSON-ready dicts (``{"data": [...], "layout": {...}}``).

The same figures go into the HTML report (inlined) and the dashboard (JSON endpoints). Times are
written in the workspace's local time. A ``None`` in a series is a gap: Plotly breaks the line
there (``connectgaps`` is false), so a missing snapshot is never drawn as if it had been taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.growth.activity import ActivityReport
from cm_toolkit.growth.engagement import NetworkEngagement, PostPerformance
from cm_toolkit.growth.metrics import value_at
from cm_toolkit.growth.series import Point

Figure = dict[str, Any]

STATE_COLOURS = {
    "published": "#2e7d32", "planned": "#90a4ae", "sending": "#0288d1", "retry_wait": "#f9a825",
    "failed": "#c62828", "unknown": "#6a1b9a", "missed": "#ef6c00", "cancelled": "#bdbdbd",
    "awaiting_done": "#00838f",
}


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _layout(title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "font": {"size": 15}},
        "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
        "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
        "xaxis": {"automargin": True},
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "closest",
        "autosize": True,
    }
    layout.update(extra)
    return layout


def growth_figure(
    curves: Mapping[str, Sequence[Point | None]],
    zone: ZoneInfo,
    *,
    posts: Mapping[str, Sequence[PostPerformance]] | None = None,
    reference: Mapping[str, int] | None = None,
    title: str = "Followers",
) -> Figure:
    """One line per channel (followers, or multiple of ``reference[name]`` when given), with
    the posts published on the channel as markers on its curve."""
    data: list[dict[str, Any]] = []
    for name, points in curves.items():
        base = reference.get(name) if reference is not None else None
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
        if reference is not None and not base:
            continue
        data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": xs,
                     "y": ys, "connectgaps": False, "marker": {"size": 4},
                     "hovertemplate": "%{x}<br>%{y:,}<extra>" + name + "</extra>"})
        published = (posts or {}).get(name, [])
        real = [p for p in points if p is not None]
        marks = [(post, value_at(real, post.published_at)) for post in published]
        marks = [(post, at) for post, at in marks if at is not None]
        if marks and reference is None:
            data.append({
                "type": "scatter", "mode": "markers", "name": f"{name}: posts",
                "x": [_local(post.published_at, zone) for post, _ in marks],
                "y": [at.followers for _, at in marks if at is not None],
                "text": [post.post_key for post, _ in marks],
                "marker": {"symbol": "triangle-up", "size": 9},
                "hovertemplate": "%{text}<br>%{x}<extra>published</extra>",
            })
    y_title = "multiple since reference" if reference is not None else "followers"
    return {"data": data, "layout": _layout(title, y_title)}


def net_adds_figure(bars: Mapping[str, Sequence[tuple[date, int | None]]], period: str) -> Figure:
    data = [{"type": "bar", "name": name, "x": [d.isoformat() for d, _ in values],
             "y": [v for _, v in values]} for name, values in bars.items()]
    return {"data": data, "layout": _layout(f"Net adds per {period}", "net adds",
                                            barmode="group")}


def deliveries_figure(report: ActivityReport) -> Figure:
    """Deliveries per week, stacked by state."""
    weeks = sorted({line.week for line in report.deliveries})
    data = []
    for state in report.states_present():
        counts = [sum(1 for line in report.deliveries if line.week == week and line.state is state)
                  for week in weeks]
        data.append({"type": "bar", "name": state.value, "x": [w.isoformat() for w in weeks],
                     "y": counts, "marker": {"color": STATE_COLOURS.get(state.value)}})
    return {"data": data, "layout": _layout("Deliveries per week and state", "deliveries",
                                            barmode="stack")}


def engagement_figure(rows: Sequence[NetworkEngagement]) -> Figure:
    measured = [row for row in rows if row.measured]
    names = [row.network for row in measured]
    data = [
        {"type": "bar", "name": label, "x": names, "y": [getattr(row, attr) for row in measured]}
        for label, attr in (("reactions", "reactions"), ("comments", "comments"),
                            ("shares", "shares"))
    ]
    return {"data": data, "layout": _layout("Engagement per network", "interactions",
                                            barmode="stack")}
