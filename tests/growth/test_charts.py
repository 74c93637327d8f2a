"""The figures' axes with one point or none, and one colour per channel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cm_toolkit.growth.charts import (
    CHANNEL_PALETTE,
    channel_colours,
    growth_figure,
    net_adds_figure,
)
from cm_toolkit.growth.wording import Wording
from cm_toolkit.ledger.snapshot_reads import Point

PARIS = ZoneInfo("Europe/Paris")
WORDS = Wording("fr")


def test_one_point_gets_a_day_either_side_and_zero_to_above_it() -> None:
    at = datetime(2027, 2, 1, 5, tzinfo=UTC)
    figure = growth_figure({"x-mooc": [Point(at, 3000)]}, PARIS, WORDS, names={},
                           colours={"x-mooc": "#4e79a7"})
    layout = figure["layout"]
    assert layout["xaxis"]["range"] == ["2027-01-31 06:00", "2027-02-02 06:00"]
    bottom, top = layout["yaxis"]["range"]
    assert bottom == 0 and 3000 < top <= 3600 and layout["yaxis"]["autorange"] is False
    assert layout["yaxis"]["tickformat"] == ",d"


def test_one_small_count_gets_whole_ticks_and_a_negative_one_stays_visible() -> None:
    figure = net_adds_figure({"x-mooc": [(date(2027, 2, 1), 2)]}, WORDS, names={},
                             colours={})
    assert figure["layout"]["yaxis"]["dtick"] == 1
    assert figure["layout"]["yaxis"]["range"][0] == 0
    figure = net_adds_figure({"x-mooc": [(date(2027, 2, 1), -40)]}, WORDS, names={},
                             colours={})
    bottom, top = figure["layout"]["yaxis"]["range"]
    assert bottom < -40 and top == 0


def test_several_points_keep_plotly_autorange() -> None:
    points = [Point(datetime(2027, 2, d, tzinfo=UTC), 100 + d) for d in (1, 2, 3)]
    layout = growth_figure({"x": points}, PARIS, WORDS, names={}, colours={})["layout"]
    assert "range" not in layout["xaxis"] and "range" not in layout["yaxis"]


def test_no_data_says_so_instead_of_empty_axes() -> None:
    figure = net_adds_figure({"x-mooc": []}, WORDS, names={}, colours={})
    assert figure["layout"]["xaxis"]["visible"] is False
    assert figure["layout"]["annotations"][0]["text"] == WORDS.charts.no_data


def test_channel_colours_are_stable_whatever_the_order_asked() -> None:
    first = channel_colours(["youtube", "x-mooc", "facebook-page", "x-mooc"])
    second = channel_colours(["facebook-page", "youtube", "x-mooc"])
    assert first == second == {"facebook-page": CHANNEL_PALETTE[0], "x-mooc": CHANNEL_PALETTE[1],
                                "youtube": CHANNEL_PALETTE[2]}
