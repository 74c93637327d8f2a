"""The dashboard's pages and JSON charts, built from the ledger on every request.

Each view returns a ``Response``; nothing here writes to the ledger.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any, TypeVar, cast

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cm_toolkit.clock import Clock
from cm_toolkit.growth.activity import NEEDS_REVIEW, DeliveryLine, delivery_lines, session_lines
from cm_toolkit.growth.charts import STATE_COLOURS, growth_figure, net_adds_figure, palette_for
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.display import install_filters
from cm_toolkit.growth.engagement import per_network, post_performance, top_posts
from cm_toolkit.growth.metrics import (
    GrowthRow,
    GrowthTable,
    Period,
    growth_table,
    net_adds,
    with_gaps,
)
from cm_toolkit.growth.report import plotly_js
from cm_toolkit.growth.wording import Wording
from cm_toolkit.ledger.report_reads import change_stamp
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.snapshot_reads import Point, channel_ids, series
from cm_toolkit.ledger.states import DeliveryState

OVERVIEW_CURVES = 10  # the overview chart shows the largest channels; each has its own page
CALENDAR_ITEMS = 60
CALENDAR_STATES = (DeliveryState.PLANNED, DeliveryState.RETRY_WAIT, DeliveryState.SENDING,
                   DeliveryState.AWAITING_DONE, DeliveryState.PUBLISHED, DeliveryState.FAILED,
                   DeliveryState.UNKNOWN, DeliveryState.MISSED)  # everything but cancelled
TO_SEND = (DeliveryState.PLANNED, DeliveryState.RETRY_WAIT, DeliveryState.SENDING,
           DeliveryState.AWAITING_DONE)
""""Next up": what is still to go out (a manual task waiting for a person counts); a published,
failed, unknown, missed or cancelled delivery is done with, whatever its due time."""
T = TypeVar("T")
STATIC_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


class NotFound(Exception):
    """The page or channel does not exist (404)."""


def _json(payload: Any) -> Response:
    return Response(200, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                    "application/json; charset=utf-8", [("Cache-Control", "no-store")])


STATIC_NAME_LENGTH = 100
"""Longer names are not ours (and the file system refuses names past 255 bytes)."""


@lru_cache(maxsize=8)
def static_file(name: str) -> tuple[bytes, str]:
    if name == "plotly.min.js":
        return plotly_js().encode("utf-8"), STATIC_TYPES["js"]
    suffix = name.rsplit(".", 1)[-1]
    if "/" in name or suffix not in STATIC_TYPES or len(name) > STATIC_NAME_LENGTH:
        raise NotFound(name)
    resource = files("cm_toolkit.web").joinpath("static", name)
    try:
        return resource.read_bytes(), STATIC_TYPES[suffix]
    except OSError:  # not there, or not a name this system can hold: nothing here
        raise NotFound(name) from None


class LedgerMemo:
    """Results computed from the ledger, kept until the ledger changes.

    The stamp is the highest id of snapshots, journal events and engagement measures (each a
    seek on a primary key): any new snapshot, state change or plan change moves it. So the
    overview of a thousand channels is computed once per change, not once per visitor.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._values: dict[str, tuple[tuple[int | None, ...], Any]] = {}
        self._lock = threading.Lock()

    def stamp(self) -> tuple[int | None, ...]:
        return change_stamp(self.ledger)

    def get(self, key: str, compute: Callable[[], T]) -> T:
        stamp = self.stamp()
        with self._lock:
            kept = self._values.get(key)
        if kept is not None and kept[0] == stamp:
            return cast(T, kept[1])
        value = compute()
        with self._lock:
            self._values[key] = (stamp, value)
        return value


class DashboardViews:
    """The pages and charts; ``words``: their language (the workspace's, English otherwise)."""

    def __init__(self, ledger: Ledger, context: GrowthContext, clock: Clock,
                 words: Wording) -> None:
        self.ledger = ledger
        self.context = context
        self.clock = clock
        self.words = words
        self.memo = LedgerMemo(ledger)
        self.templates = Environment(
            loader=PackageLoader("cm_toolkit.web", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
            trim_blocks=True, lstrip_blocks=True,
        )
        install_filters(self.templates, context.zone, words)

    def _page(self, template: str, active: str, **values: Any) -> Response:
        page = self.templates.get_template(template).render(
            title=self.context.title, active=active, zone=self.context.zone.key,
            state_colours=STATE_COLOURS, colours=self._colours(), **values)
        return Response(200, page.encode("utf-8"), headers=[("Cache-Control", "no-store")])

    # -- pages ---------------------------------------------------------------------------------

    def _growth(self) -> GrowthTable:
        return self.memo.get("growth", lambda: growth_table(self.ledger, self.context))

    def overview(self) -> Response:
        table = self._growth()
        review = delivery_lines(self.ledger, self.context, states=NEEDS_REVIEW)
        upcoming = self._upcoming(limit=5, states=TO_SEND)
        return self._page(
            "overview.html.j2", "overview", cards=self.memo.get("cards", self._cards),
            as_of=table.until, reference=self.context.reference, review_count=len(review),
            upcoming=upcoming)

    def channel(self, channel_id: str) -> Response:
        table = self._growth()
        row = next((r for r in table.rows if r.channel_id == channel_id), None)
        if row is None:
            if channel_id not in self.context.names:
                raise NotFound(channel_id)
            row = GrowthRow(channel_id, self.context.name_of(channel_id), None, None, None,
                            None, None, None)
        posts = post_performance(self.ledger, channel_id=channel_id)
        return self._page("channel.html.j2", "overview", card=self._card(row), posts=posts[:50],
                          post_count=len(posts), as_of=table.until)

    def calendar(self) -> Response:
        now = self.clock.now()
        items = self._upcoming(limit=CALENDAR_ITEMS, states=CALENDAR_STATES)
        sessions = session_lines(self.ledger, since=now - timedelta(hours=12), limit=20)
        days: dict[date, list[DeliveryLine]] = {}
        for line in items:
            days.setdefault(line.due_at.astimezone(self.context.zone).date(), []).append(line)
        return self._page("calendar.html.j2", "calendar", days=sorted(days.items()),
                          sessions=sessions, now=now)

    def posts(self) -> Response:
        performance = post_performance(self.ledger)
        return self._page("posts.html.j2", "posts", networks=per_network(performance),
                          top=top_posts(performance), recent=performance[:50])

    def review(self) -> Response:
        lines = delivery_lines(self.ledger, self.context, states=NEEDS_REVIEW)
        return self._page("review.html.j2", "review", lines=lines)

    # -- JSON charts ---------------------------------------------------------------------------

    def overview_growth(self) -> Response:
        """Multiple since the reference date of the largest channels (one curve each)."""
        return _json(self.memo.get("overview-growth", self._overview_figure))

    def _overview_figure(self) -> dict[str, Any]:
        table = self._growth()
        chosen = sorted((r for r in table.rows if r.end is not None and r.reference),
                        key=lambda r: -(r.end.followers if r.end else 0))[:OVERVIEW_CURVES]
        with self.ledger.reading() as session:
            curves = {r.channel_id: with_gaps(series(session, r.channel_id),
                                              self.context.gap_after) for r in chosen}
        references = {r.channel_id: r.reference.followers
                      for r in chosen if r.reference is not None}
        return growth_figure(curves, self.context.zone, self.words, names=self._names(curves),
                             colours=self._colours(), reference=references)

    def channel_growth(self, channel_id: str) -> Response:
        points = self._series(channel_id)
        posts = post_performance(self.ledger, channel_id=channel_id)
        return _json(growth_figure({channel_id: with_gaps(points, self.context.gap_after)},
                                   self.context.zone, self.words,
                                   names=self._names([channel_id]), colours=self._colours(),
                                   posts={channel_id: posts}))

    def channel_net_adds(self, channel_id: str) -> Response:
        points = self._series(channel_id)
        return _json(net_adds_figure(
            {channel_id: net_adds(points, Period.WEEK, self.context.zone)}, self.words,
            names=self._names([channel_id]), colours=self._colours()))

    def static(self, name: str) -> Response:
        body, content_type = static_file(name)
        return Response(200, body, content_type, [("Cache-Control", "public, max-age=3600")])

    # -- pieces --------------------------------------------------------------------------------

    def _names(self, channel_ids: Iterable[str]) -> dict[str, str]:
        return {cid: self.context.name_of(cid) for cid in channel_ids}

    def _colours(self) -> dict[str, str]:
        """Each channel's colour on every chart and page (``charts.channel_colours``)."""
        return self.memo.get("colours", lambda: palette_for(self.ledger, self.context))

    def _series(self, channel_id: str) -> list[Point]:
        with self.ledger.reading() as session:
            points = series(session, channel_id)
            if not points and channel_id not in self.context.names \
                    and channel_id not in channel_ids(session):
                raise NotFound(channel_id)
        return points

    def _upcoming(self, limit: int, states: tuple[DeliveryState, ...]) -> list[DeliveryLine]:
        return delivery_lines(self.ledger, self.context, since=self.clock.now(), states=states,
                              limit=limit)

    def _cards(self) -> Markup:
        """Every channel's card, rendered once per ledger change (a thousand cards take a
        while in Jinja2)."""
        macro = self.templates.get_template("_card.html.j2").module.card_of  # type: ignore[attr-defined]
        return Markup("").join(macro(self._card(row)) for row in self._growth().rows)

    def _card(self, row: GrowthRow) -> dict[str, Any]:
        values = row.as_dict(self.context.zone)
        values["end_point"] = row.end
        values["colour"] = self._colours().get(row.channel_id)
        return values
