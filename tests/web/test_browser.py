"""The dashboard and the HTML report in a real browser (Chromium through Playwright), at desktop
and phone sizes, on the ledger of a replayed season of the sample workspace (in French). Numbers
are checked against the ledger read directly with sqlite3, not through cm-toolkit's own queries,
and written as French writes them (Babel's CLDR data, not cm-toolkit's formatting)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from babel.numbers import format_decimal

from cm_toolkit.clock import ManualClock
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.server import serving

from .conftest import Season, shot_path

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
REFERENCE = datetime(2027, 2, 21, 23, 0, tzinfo=UTC)  # growth.reference: 2027-02-22 00:00 Paris
REVIEW_STATES = ("unknown", "failed", "missed", "awaiting_done")


def fr(value: int) -> str:
    """A count as the French pages write it: ``12 472`` (narrow no-break space)."""
    return format_decimal(value, locale="fr")


def fr_signed(value: int | None) -> str:
    return "—" if value is None else format_decimal(value, "+#,##0;-#,##0", locale="fr")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def expected_cards(season: Season) -> dict[str, dict[str, Any]]:
    """Each channel's card, computed from the raw snapshot rows as docs/growth.md defines it."""
    with sqlite3.connect(season.result.database) as db:
        rows = db.execute("SELECT channel_id, taken_at, followers FROM follower_snapshots "
                          "ORDER BY channel_id, taken_at").fetchall()
    series: dict[str, list[tuple[datetime, int]]] = {}
    for channel, taken_at, followers in rows:
        series.setdefault(channel, []).append((_utc(taken_at), followers))
    latest = max(at for points in series.values() for at, _ in points)

    def at_or_before(points: list[tuple[datetime, int]], moment: datetime) -> int | None:
        found = [f for at, f in points if at <= moment]
        return found[-1] if found else None

    cards = {}
    for channel, points in series.items():
        end_at, end = points[-1]
        reference = at_or_before(points, REFERENCE) or next(f for at, f in points if at >= REFERENCE)
        nets = {}
        for days in (7, 30):
            start = latest - timedelta(days=days)
            base = at_or_before(points, start)
            nets[days] = end - base if base is not None and end_at > start else None
        cards[channel] = {"followers": end, "multiple": f"x{end / reference:.2f}".replace(".", ","),
                          "net_7d": nets[7], "net_30d": nets[30]}
    return cards


@contextmanager
def opened(browser: Any, viewport: dict[str, int]) -> Iterator[tuple[Any, list[str]]]:
    """A fresh browser context and page; fails the test on any console error."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page, errors
    finally:
        context.close()
    assert errors == []


def charts_of(page: Any) -> dict[str, list[int]]:
    """Each rendered Plotly chart: the number of non-null points of each trace."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-figure]')]"
        ".every(e => e.dataset.rendered === 'true' || e.dataset.rendered === 'error')")
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('.js-plotly-plot')].map(div => [div.id,
            div.data.map(trace => (trace.y || []).filter(v => v !== null).length)]))""")


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways: {width}"


@pytest.mark.parametrize("viewport", SIZES)
def test_overview_cards_and_chart(browser: Any, dashboard_url: str, season: Season,
                                  viewport: dict[str, int]) -> None:
    expected = expected_cards(season)
    assert {"x-mooc", "facebook-page", "linkedin-page", "youtube"} <= set(expected)
    with opened(browser, viewport) as (page, _errors):
        page.goto(dashboard_url + "/")
        cards = page.locator("article.card")
        assert cards.count() == len(expected)
        for channel, values in expected.items():
            card = page.locator(f'article.card[data-channel="{channel}"]')
            assert card.locator(".followers").get_attribute("data-value") == str(values["followers"])
            assert card.locator(".followers").inner_text() == fr(values["followers"])
            assert card.locator(".multiple").inner_text() == values["multiple"]
            for key, css in (("net_7d", ".net-7d"), ("net_30d", ".net-30d")):
                assert card.locator(css).inner_text() == fr_signed(values[key])
        # a long handle (@ManagerLeader20@campus.fr) wraps inside its card, never across the next
        spilled = page.locator("article.card h3").evaluate_all(
            "titles => titles.filter(t => t.scrollWidth > t.clientWidth).map(t => t.innerText)")
        assert spilled == []
        charts = charts_of(page)
        assert len(charts["overview-chart"]) == len(expected)
        assert all(points > 10 for points in charts["overview-chart"])
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"overview-{viewport['width']}")), full_page=True)


@pytest.mark.parametrize("viewport", SIZES)
def test_navigation_channel_calendar_posts_review(browser: Any, dashboard_url: str,
                                                  season: Season, viewport: dict[str, int]) -> None:
    with sqlite3.connect(season.result.database) as db:
        upcoming = [row[0] for row in db.execute(
            "SELECT id FROM deliveries WHERE due_at >= ? AND state != 'cancelled' "
            "ORDER BY due_at, id LIMIT 10",
            (season.now.replace(tzinfo=None).isoformat(" "),))]
        review = db.execute("SELECT count(*) FROM deliveries WHERE state IN (?, ?, ?, ?)",
                            REVIEW_STATES).fetchone()[0]
        x_posts = db.execute("SELECT count(*) FROM deliveries WHERE channel_id = 'x-mooc' "
                             "AND state = 'published'").fetchone()[0]
    assert upcoming, "the season must have deliveries after mid-season"
    width = viewport["width"]
    with opened(browser, viewport) as (page, _errors):
        page.goto(dashboard_url + "/")
        page.locator('article.card[data-channel="x-mooc"] h3 a').click()
        page.wait_for_url("**/channel/x-mooc")
        charts = charts_of(page)
        growth = charts["growth-chart"]
        assert growth[0] > 10  # the follower curve
        assert len(growth) == 2 and growth[1] > 0  # the posts, as markers on the curve
        assert sum(charts["net-adds-chart"]) > 0
        assert page.locator("table.posts tbody tr").count() == min(x_posts, 50)
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"channel-{width}")), full_page=True)

        page.locator('nav a[data-nav="calendar"]').click()
        page.wait_for_url("**/calendar")
        assert page.locator("h1").inner_text() == "Calendrier"
        shown = [int(i) for i in page.locator(".calendar-item").evaluate_all(
            "items => items.map(i => i.dataset.delivery)")]
        assert shown[:len(upcoming)] == upcoming
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"calendar-{width}")), full_page=True)

        page.locator('nav a[data-nav="posts"]').click()
        page.wait_for_url("**/posts")
        assert page.locator("#networks tbody tr").count() >= 3
        assert page.locator("#top-posts tbody tr").count() == 10

        page.locator('nav a[data-nav="review"]').click()
        page.wait_for_url("**/review")
        assert page.locator("#review tbody tr[data-delivery]").count() == review
        assert page.locator('nav a[aria-current="page"]').inner_text() == "À vérifier"
        no_sideways_scroll(page)
        page.screenshot(path=str(shot_path(f"review-{width}")), full_page=True)


def test_token_in_the_address_once_then_a_cookie(browser: Any, season: Season) -> None:
    token = "a-long-enough-secret-token-42"
    app = Dashboard(season.ledger, season.context, ManualClock(season.now), token=token)
    with serving(app) as url, opened(browser, DESKTOP) as (page, _errors):
        answer = page.goto(url + f"/channel/x-mooc?token={token}")
        assert answer is not None and answer.status == 200
        assert page.url == url + "/channel/x-mooc"  # the token left the address bar
        assert charts_of(page)["growth-chart"][0] > 10  # chart JSON fetched with the cookie
        [cookie] = page.context.cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        stranger = browser.new_context()
        try:
            refused = stranger.new_page().goto(url + "/")
            assert refused is not None and refused.status == 401
        finally:
            stranger.close()


@pytest.mark.parametrize("viewport", SIZES)
def test_html_report_opens_offline(browser: Any, season: Season, viewport: dict[str, int]) -> None:
    report = season.result.report
    assert report is not None and report.name == "activity.html" and report.exists()
    expected = expected_cards(season)
    with opened(browser, viewport) as (page, _errors):
        page.route("http*://**", lambda route: route.abort())  # nothing may come from a network
        page.goto(report.as_uri())
        rows = page.locator("#growth-table tbody tr[data-channel]")
        assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.channel)")) == sorted(expected)
        x_row = page.locator('#growth-table tr[data-channel="x-mooc"]').inner_text()
        assert fr(expected["x-mooc"]["followers"]) in x_row
        assert expected["x-mooc"]["multiple"] in x_row
        charts = page.evaluate("""() => Object.fromEntries(
            [...document.querySelectorAll('.js-plotly-plot')].map(div => [div.id,
                div.data.map(trace => (trace.y || []).filter(v => v !== null).length)]))""")
        assert set(charts) == {"chart-growth", "chart-multiple", "chart-net-adds",
                               "chart-deliveries", "chart-engagement"}
        assert all(sum(points) > 0 for points in charts.values())
        assert page.locator("#sessions-table a[href^='https://meet.google.com/']").count() >= 1
        page.screenshot(path=str(shot_path(f"report-{viewport['width']}")), full_page=False)


Box = dict[str, float]


def box_of(locator: Any) -> Box:
    found = locator.bounding_box()
    assert found is not None, "not displayed"
    return dict(found)


def overlaps(a: Box, b: Box) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def readable(page: Any, locator: Any, width: int) -> None:
    """Inside the viewport's width, not clipped by a scrolling parent, and on top at its
    centre (nothing drawn over it)."""
    locator.scroll_into_view_if_needed()
    box = box_of(locator)
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (box, locator)
    on_top = locator.evaluate("""element => {
        const r = element.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return hit !== null && (hit === element || element.contains(hit));
    }""")
    assert on_top, f"something covers {locator}"


def titles_clear_of_the_toolbar(page: Any, width: int) -> int:
    """Each chart's title readable, and clear of Plotly's toolbar shown by a hover."""
    checked = 0
    for chart in page.locator(".js-plotly-plot").all():
        title = page.locator(f'#{chart.get_attribute("id")}-title')
        readable(page, title, width)
        chart.hover()
        bar = chart.locator(".modebar")
        if bar.count():
            assert not overlaps(box_of(title), box_of(bar)), chart.get_attribute("id")
        checked += 1
    return checked


def test_phone_report_shows_the_multiple_column_and_chart_titles(browser: Any,
                                                                 season: Season) -> None:
    report = season.result.report
    assert report is not None
    expected = expected_cards(season)
    with opened(browser, PHONE) as (page, _errors):
        page.route("http*://**", lambda route: route.abort())
        page.goto(report.as_uri())
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length == 5")
        header = page.locator("#growth-table th.col-multiple")
        assert header.inner_text() == "multiple"
        readable(page, header, PHONE["width"])
        for channel, values in expected.items():
            cell = page.locator(f'#growth-table tr[data-channel="{channel}"] td.multiple')
            assert cell.inner_text() == values["multiple"]
            readable(page, cell, PHONE["width"])
        assert titles_clear_of_the_toolbar(page, PHONE["width"]) == 5
        assert page.locator("#chart-growth-title").inner_text() == "Abonnés (▲ publications)"
        page.locator("#growth").screenshot(path=str(shot_path("report-growth-390")))


def test_phone_dashboard_chart_titles_clear_of_the_toolbar(browser: Any, dashboard_url: str,
                                                           season: Season) -> None:
    with opened(browser, PHONE) as (page, _errors):
        for path, charts in (("/", 1), ("/channel/x-mooc", 2)):
            page.goto(dashboard_url + path)
            charts_of(page)
            assert titles_clear_of_the_toolbar(page, PHONE["width"]) == charts
            no_sideways_scroll(page)
        # French on the chart itself: month names on the date axis, the toolbar's words,
        # and no button that would upload the chart to Plotly's cloud
        ticks = page.locator("#growth-chart .xtick text").all_text_contents()
        assert any(re.match(r"(\d{1,2} )?(févr\.|mars|avr\.|mai) ", tick) for tick in ticks), ticks
        page.locator("#growth-chart").hover()
        buttons = page.locator("#growth-chart .modebar-btn").evaluate_all(
            "bs => bs.map(b => b.getAttribute('data-title'))")
        assert "Réinitialiser les axes" in buttons and "Zoom avant" in buttons, buttons
        assert not any("Share" in title or "Download plot" in title for title in buttons)
        page.goto(dashboard_url + "/")
        for card in page.locator("article.card .multiple").all():
            readable(page, card, PHONE["width"])


def test_one_snapshot_draws_sane_axes(browser: Any, tmp_path: Any) -> None:
    from zoneinfo import ZoneInfo

    from cm_toolkit.growth.context import GrowthContext
    from cm_toolkit.ledger import open_ledger
    from cm_toolkit.ledger.models import FollowerSnapshot
    
    ledger = open_ledger(f"sqlite:///{tmp_path / 'one.db'}", tmp_path)
    taken = datetime(2027, 2, 1, 5, tzinfo=UTC)
    with ledger.writing() as session:
        session.add(FollowerSnapshot(channel_id="x-mooc", network="x", taken_at=taken,
                                     followers=3))
    context = GrowthContext(zone=ZoneInfo("Europe/Paris"), reference=taken, language="fr")
    try:
        with serving(Dashboard(ledger, context, ManualClock(taken))) as url, \
                opened(browser, PHONE) as (page, _errors):
            page.goto(url + "/channel/x-mooc")
            charts_of(page)
            axes = page.evaluate("""() => {
                const layout = document.getElementById('growth-chart')._fullLayout;
                const ticks = [...document.querySelectorAll('#growth-chart .ytick text')]
                    .map(t => t.textContent);
                return {x: layout.xaxis.range, y: layout.yaxis.range, ticks: ticks};
            }""")
            start, end = (datetime.fromisoformat(v[:16]) for v in axes["x"])
            assert timedelta(hours=12) <= end - start <= timedelta(days=3), axes
            bottom, top = axes["y"]
            assert bottom == 0 and 3 < top <= 4, axes
            assert axes["ticks"] and all(t.isdigit() for t in axes["ticks"]), axes
            days = page.locator("#growth-chart .xtick text").all_text_contents()
            # "1 févr. 2027" (day, then month) under the hour; English writes "Feb 1, 2027"
            assert any(re.search(r"\d (janv|févr)\. 2027$", day) for day in days), days
            net_adds = page.locator("#net-adds-chart .annotation-text")
            assert net_adds.text_content() == "Pas encore de données sur cette période."
    finally:
        ledger.close()
