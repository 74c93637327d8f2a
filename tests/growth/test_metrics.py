"""Growth metrics on a known series: values are snapshots, gaps stay gaps."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.engagement import per_network, post_performance, top_posts
from cm_toolkit.growth.metrics import Period, growth_table, net_adds, with_gaps
from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.snapshot_reads import Point, channel_ids, latest_instant, series

from .conftest import T0, add_published, add_snapshots

DAY = timedelta(days=1)
PARIS = ZoneInfo("Europe/Paris")


def daily(start: int, step: int, days: int, skip: set[int] = frozenset()) -> list[tuple[datetime, int]]:  # type: ignore[assignment]
    return [(T0 + day * DAY, start + step * day) for day in range(days) if day not in skip]


@pytest.fixture
def filled(ledger: Ledger) -> Ledger:
    # x: 1000 + 10/day for 60 days, days 20-24 missing; fb: 500 + 5/day for 10 days only.
    add_snapshots(ledger, "x-mooc", "x", daily(1000, 10, 60, skip={20, 21, 22, 23, 24}))
    add_snapshots(ledger, "fb", "facebook", daily(500, 5, 10))
    return ledger


def test_growth_table_takes_real_snapshots_only(filled: Ledger) -> None:
    context = GrowthContext(zone=PARIS, reference=T0 + 10 * DAY + timedelta(hours=3))
    table = growth_table(filled, context)
    assert table.until == T0 + 59 * DAY  # the latest snapshot of any channel
    x, fb = {row.channel_id: row for row in table.rows}["x-mooc"], table.rows[0]
    assert [row.channel_id for row in table.rows] == ["fb", "x-mooc"]
    assert (x.start, x.end) == (Point(T0, 1000), Point(T0 + 59 * DAY, 1590))
    assert x.net_adds == 590 and x.percent == pytest.approx(59.0)
    assert x.reference == Point(T0 + 10 * DAY, 1100)  # last snapshot at or before the reference
    assert x.multiple == pytest.approx(1590 / 1100)
    assert x.net_7d == 70 and x.net_30d == 300
    # fb stopped after 10 days: its end value is older than both windows, so no window figure.
    assert fb.end == Point(T0 + 9 * DAY, 545)
    assert fb.net_7d is None and fb.net_30d is None
    assert fb.multiple == pytest.approx(545 / 545)


def test_reference_before_the_first_snapshot_uses_the_first_one_after(filled: Ledger) -> None:
    table = growth_table(filled, GrowthContext(reference=T0 - 30 * DAY))
    x = {row.channel_id: row for row in table.rows}["x-mooc"]
    assert x.reference == Point(T0, 1000) and x.multiple == pytest.approx(1.59)


def test_period_since_and_until(filled: Ledger) -> None:
    table = growth_table(filled, GrowthContext(), since=T0 + 22 * DAY, until=T0 + 40 * DAY)
    x = {row.channel_id: row for row in table.rows}["x-mooc"]
    # 22 is in the gap: the period starts from the last value known before it (day 19).
    assert x.start == Point(T0 + 19 * DAY, 1190) and x.end == Point(T0 + 40 * DAY, 1400)
    assert x.net_adds == 210
    assert x.net_7d == 70  # day 40 - day 33
    assert x.net_30d == 300  # day 40 - day 10

def test_window_across_a_gap_compares_with_the_last_value_before_it(filled: Ledger) -> None:
    table = growth_table(filled, GrowthContext(), until=T0 + 27 * DAY)
    x = {row.channel_id: row for row in table.rows}["x-mooc"]
    # 7 days before day 27 is day 20 (missing): the base is day 19, never an invented day 20.
    assert x.end == Point(T0 + 27 * DAY, 1270) and x.net_7d == 1270 - 1190


def test_net_adds_per_period_leave_gaps(filled: Ledger) -> None:
    with filled.reading() as session:
        points = series(session, "x-mooc")
        assert channel_ids(session) == ["fb", "x-mooc"]
        assert latest_instant(session) == T0 + 59 * DAY
    per_day = dict(net_adds(points, Period.DAY, PARIS))
    assert per_day[(T0 + DAY).astimezone(PARIS).date()] == 10
    for missing in range(20, 26):  # 20-24 have no value; 25 has no previous value
        assert per_day[(T0 + missing * DAY).astimezone(PARIS).date()] is None
    assert per_day[(T0 + 26 * DAY).astimezone(PARIS).date()] == 10
    weeks = net_adds(points, Period.WEEK, PARIS)
    # weeks start on Monday 1 February; the third week's last snapshot is Saturday the 20th
    assert [value for _, value in weeks[:4]] == [70, 60, 80, 70]
    months = dict(net_adds(points, Period.MONTH, PARIS))
    assert months[datetime(2027, 3, 1).date()] == (1000 + 10 * 58) - (1000 + 10 * 27)  # 31 March - 28 Feb


def test_with_gaps_breaks_between_distant_snapshots() -> None:
    points = [Point(T0, 1), Point(T0 + DAY, 2), Point(T0 + 4 * DAY, 3), Point(T0 + 5 * DAY, 4)]
    assert with_gaps(points, DAY * 1.5) == [points[0], points[1], None, points[2], points[3]]
    assert with_gaps(points, DAY * 5) == points


def test_engagement_per_post_network_and_top(ledger: Ledger) -> None:
    add_snapshots(ledger, "x-mooc", "x", [(T0, 1000), (T0 + 2 * DAY, 2000)])
    first = add_published(ledger, "a", "x-mooc", "x", T0 + DAY, (40, 5, 5))
    add_published(ledger, "b", "x-mooc", "x", T0 + 3 * DAY, (100, 0, 0))
    add_published(ledger, "c", "x-mooc", "x", T0 + 3 * DAY, None)
    posts = post_performance(ledger)
    by_key = {post.post_key: post for post in posts}
    a = by_key["a"]
    assert a.delivery_id == first
    assert (a.reactions, a.comments, a.shares) == (40, 5, 5)  # the latest measure, not the first
    assert a.followers == 1000 and a.rate == pytest.approx(5.0)
    assert by_key["b"].followers == 2000 and by_key["b"].rate == pytest.approx(5.0)
    assert by_key["c"].interactions is None
    [network] = per_network(posts)
    assert (network.posts, network.measured, network.interactions) == (3, 2, 150)
    assert network.rate == pytest.approx(100 * 150 / 3000)
    assert [p.post_key for p in top_posts(posts)] == ["b", "a"]
    assert post_performance(ledger, since=T0 + 2 * DAY, channel_id="x-mooc")[0].post_key in "bc"


def test_growth_context_reference_from_ledger_campaigns(ledger: Ledger) -> None:
    add_published(ledger, "a", "x-mooc", "x", T0 + DAY, None)
    assert GrowthContext.bare(ledger).reference == T0
    assert GrowthContext.bare(ledger).with_reference(T0 + DAY).reference == T0 + DAY


def test_empty_ledger(ledger: Ledger) -> None:
    table = growth_table(ledger, GrowthContext())
    assert table.rows == [] and table.until is None
    assert post_performance(ledger) == []
