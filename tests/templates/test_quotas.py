"""Quota, rate-limit, burst and cost arithmetic on small synthetic plans (exact numbers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.channels.base import Channel
from cm_toolkit.channels.bluesky import BlueskyChannel
from cm_toolkit.channels.facebook import FacebookChannel
from cm_toolkit.channels.registry import channel_class, list_networks
from cm_toolkit.channels.x import XChannel
from cm_toolkit.channels.youtube import YouTubeChannel
from cm_toolkit.errors import Severity
from cm_toolkit.templates.quotas import (
    BURST_POSTS,
    Send,
    SendKind,
    check_quotas,
    cost_usd,
    rolling_window,
    send_cost,
)
from cm_toolkit.workspace.models import Network

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def posts(channel: str, network: Network, minutes: list[float], parts: int = 1,
          with_url: int = 0, start: datetime = T0) -> list[Send]:
    return [Send(start + timedelta(minutes=m), channel, network, SendKind.POST, parts, with_url,
                 f"{channel}-{i}") for i, m in enumerate(minutes)]


def setups(channel: str, moments: list[datetime]) -> list[Send]:
    return [Send(m, channel, "youtube", SendKind.LIVE_SETUP, ref=f"live-{i}")
            for i, m in enumerate(moments)]


def per_15_minutes(sends: list[Send]) -> list[str]:
    """The warnings of X's 15-minute rule (a busy account is also a burst)."""
    return [p.message for p in check_quotas(sends).problems if "per 15 minutes" in p.message]


def rule(cls: type[Channel], key: str) -> float:
    return next(r.limit for r in cls.quota_rules if r.key == key)


def test_the_numbers_are_those_of_the_api_facts() -> None:
    assert rule(XChannel, "x_posts_per_15_minutes") == 100
    assert rule(XChannel, "x_posts_per_24_hours") == 10_000
    assert rule(YouTubeChannel, "youtube_units_per_day") == 10_000
    assert rule(YouTubeChannel, "youtube_uploads_per_day") == 100
    assert XChannel.pricing is not None
    assert (XChannel.pricing.post_usd, XChannel.pricing.post_with_url_usd) == (0.015, 0.2)
    # liveBroadcasts.list (1) + liveBroadcasts.insert + liveStreams.insert + bind (50 each).
    units = next(r for r in YouTubeChannel.quota_rules if r.key == "youtube_units_per_day")
    assert send_cost(units, setups("yt", [T0])[0]) == 151


def test_x_cost() -> None:
    assert XChannel.pricing is not None
    assert cost_usd(XChannel.pricing, 10, 3) == pytest.approx(7 * 0.015 + 3 * 0.200) == 0.705
    plan = posts("x-a", "x", [0, 60], parts=3, with_url=1)  # two threads of 3
    summary = check_quotas(plan).summary["x"]
    assert (summary["posts"], summary["posts_with_url"], summary["cost_usd"]) == (6, 2, 0.46)


def test_rolling_window_counts_the_window_ending_at_each_send() -> None:
    times = [T0 + timedelta(minutes=m) for m in (0, 5, 10, 15, 16)]
    counted = rolling_window(times, [1] * 5, timedelta(minutes=15), limit=2)
    # (t-15, t]: at 10 -> {0, 5, 10} = 3; at 15 -> {5, 10, 15}; at 16 -> {5, 10, 15, 16}.
    assert counted.peak == 4 and counted.peak_end == times[4]
    assert counted.over == [2, 3, 4]


def test_x_100_posts_per_15_minutes_per_account() -> None:
    fits = posts("x-a", "x", [i * 0.1 for i in range(100)])
    assert per_15_minutes(fits) == []
    # The 101st exactly 15 minutes after the first: the first has left the window.
    assert per_15_minutes(fits + posts("x-a", "x", [15])) == []
    over = fits + posts("x-a", "x", [14.9, 14.95])
    (warning,) = [p for p in check_quotas(over).problems if "per 15 minutes" in p.message]
    assert warning.severity is Severity.WARNING
    assert warning.message.startswith(
        "x-a: up to 102 posts within 15 minutes (busiest window ends 2027-03-01 09:14); "
        "POST /2/tweets per user is limited to 100 per account per 15 minutes")
    assert warning.message.endswith("(x-a-0, and 1 other post over the limit)")
    # Another account has its own window.
    assert per_15_minutes(fits + posts("x-b", "x", [14.9, 14.95])) == []


def test_thread_parts_count_as_posts() -> None:
    plan = posts("x-a", "x", [0, 5, 10, 14], parts=25)  # 100 posts: fits
    assert check_quotas(plan).summary["x"]["per_15_minutes"]["x-a"]["peak"] == 100
    assert per_15_minutes(plan) == []
    assert len(per_15_minutes(plan + posts("x-a", "x", [14.5]))) == 1


def test_x_10000_posts_per_24_hours_per_app() -> None:
    # 5,001 posts on each of two accounts within 23 hours (about 54 per 15 minutes each).
    minutes = [i * 23 * 60 / 5001 for i in range(5001)]
    plan = posts("x-a", "x", minutes) + posts("x-b", "x", minutes)
    own_apps = check_quotas(plan, groups={"x-a": "app-1", "x-b": "app-2"})
    assert not [p for p in own_apps.problems if "per app" in p.message]
    shared = check_quotas(plan, groups={"x-a": "app-1", "x-b": "app-1"})
    per_app = [p for p in shared.problems if "per app" in p.message]
    assert len(per_app) == 1
    assert per_app[0].message.startswith("X app of x-a, x-b: up to 10002 posts within 24 hours")
    assert shared.summary["x"]["per_24_hours"]["app-1"]["over"] == 2
    assert not [p for p in shared.problems if "per 15 minutes" in p.message]


def test_youtube_units_per_pacific_day() -> None:
    # March 1st 2027, Pacific Standard Time (UTC-8): the Pacific day ends at 08:00 UTC.
    before = datetime(2027, 3, 1, 7, 59, tzinfo=UTC)  # still February 28 in Los Angeles
    after = datetime(2027, 3, 1, 8, 1, tzinfo=UTC)
    plan = setups("yt", [before] * 40 + [after] * 40)
    result = check_quotas(plan)
    assert result.problems == []
    youtube = result.summary["youtube"]
    assert youtube["peak_units_per_day"] == 40 * 151 == 6040
    assert youtube["projects"]["yt"]["peak_day"] == "2027-02-28"
    # 66 setups a day fit (9,966 units), the 67th is refused (10,117).
    assert check_quotas(setups("yt", [after] * 66)).problems == []
    (warning,) = check_quotas(setups("yt", [after] * 67 + [after + timedelta(days=1)] * 67)).problems
    assert warning.message.startswith(
        "yt: 10117 units planned on 2027-03-01 (America/Los_Angeles time); YouTube Data API "
        "quota is limited to 10000 units a day per app")
    assert warning.message.endswith("(live-66, and 1 other day over the quota)")


def test_youtube_channels_of_one_project_share_the_quota() -> None:
    moment = datetime(2027, 3, 1, 18, tzinfo=UTC)
    plan = setups("yt-1", [moment] * 40) + setups("yt-2", [moment] * 40)
    assert check_quotas(plan).problems == []
    assert len(check_quotas(plan, groups={"yt-1": "p", "yt-2": "p"}).problems) == 1


def test_youtube_uploads_have_their_own_bucket() -> None:
    uploads = posts("yt", "youtube", [i * 11 for i in range(101)])  # 101 in 18.5 hours
    result = check_quotas(uploads, timezone=ZoneInfo("Europe/Paris"))
    messages = [p.message for p in result.problems]
    assert len(messages) == 1 and "101 uploads planned on 2027-03-01" in messages[0]
    assert result.summary["youtube"]["peak_units_per_day"] == 0
    assert result.summary["youtube"]["peak_uploads_per_day"] == 101


@pytest.mark.parametrize(
    ("minutes", "flagged"),
    [([0, 3, 6, 9], 1), ([0, 4, 8, 12], 0), ([0, 0, 0, 10], 0), ([0, 1, 2, 3, 4, 5], 3)],
)
def test_bursts_more_than_3_posts_within_10_minutes(minutes: list[float], flagged: int) -> None:
    result = check_quotas(posts("fb", "facebook", minutes))
    assert result.summary["bursts"]["posts_over"] == ({"fb": flagged} if flagged else {})
    assert len(result.problems) == (1 if flagged else 0)


def test_a_thread_is_one_post_for_bursts() -> None:
    assert check_quotas(posts("x-a", "x", [0, 1, 2], parts=5)).problems == []


def test_facebook_native_scheduling_window_is_information_only() -> None:
    now = T0
    plan = posts("fb", "facebook", [5, 10, 60 * 24 * 30, 60 * 24 * 30 + 1])
    result = check_quotas(plan, now=now)
    assert result.problems == []
    assert result.summary["facebook"] == {"posts": 4, "natively_schedulable_now": 2,
                                          "sooner_than_10_minutes": 1, "later_than_30_days": 1}


def test_peaks_per_network() -> None:
    plan = posts("x-a", "x", [0, 5], parts=2) + posts("fb", "facebook", [0, 20])
    assert check_quotas(plan).summary["peak_per_15_minutes"] == {"facebook": 1, "x": 4}


DOCUMENTED = {
    "x_posts_per_15_minutes": "100 per 15 minutes",
    "x_posts_per_24_hours": "10,000 per 24 hours",
    "x_price_post": "$0.015 a post",
    "x_price_post_with_url": "$0.200 a post containing a URL",
    "youtube_units_per_day": "10,000 a day",
    "youtube_list_cost": "list 1",
    "youtube_write_cost": "insert, update, delete, bind, transition 50",
    "youtube_uploads_per_day": "100 a day per project",
    "facebook_schedule_min": "10 minutes to 30 days ahead",
    "facebook_schedule_max": "10 minutes to 30 days ahead",
    "burst_posts": "more than 3 posts within 10 minutes",
}


def _declared() -> dict[str, float]:
    """Every number the plan check counts, by name, from the adapters of the registry."""
    found: dict[str, float] = {"burst_posts": BURST_POSTS}
    for info in list_networks():
        if not info.available:
            continue
        cls = channel_class(info.network)
        found |= {r.key: r.limit for r in cls.quota_rules if r.key in DOCUMENTED}
        if cls.pricing is not None and info.network == "x":
            found["x_price_post"] = cls.pricing.post_usd
            found["x_price_post_with_url"] = cls.pricing.post_with_url_usd or 0
    assert FacebookChannel.native_schedule is not None
    found["facebook_schedule_min"] = FacebookChannel.native_schedule.earliest.seconds // 60
    found["facebook_schedule_max"] = FacebookChannel.native_schedule.latest.days
    units = next(r for r in YouTubeChannel.quota_rules if r.key == "youtube_units_per_day")
    found["youtube_list_cost"], found["youtube_write_cost"] = 1, (units.costs["live_setup"] - 1) / 3
    return found


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_number_is_documented(name: str) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "templates.md").read_text("utf-8")
    assert DOCUMENTED[name] in doc
    assert f"{_declared()[name]:,g}" in DOCUMENTED[name].replace("$", "")


def test_a_bluesky_plan_over_its_hourly_points_is_warned() -> None:
    # 5,000 points an hour, a post costing 3: 1,666 posts fit in any hour, the 1,667th does not
    minutes = [i * 59 / 1667 for i in range(1667)]
    fits = check_quotas(posts("bsky", "bluesky", minutes[:1666]))
    assert not [p for p in fits.problems if "points" in p.message]
    assert fits.summary["bluesky"]["per_60_minutes"]["bsky"]["peak"] == 1666 * 3
    over = check_quotas(posts("bsky", "bluesky", minutes))
    (warning,) = [p for p in over.problems if "points" in p.message]
    assert warning.severity is Severity.WARNING
    assert warning.message.startswith("bsky: up to 5001 points within 60 minutes")
    assert "record-creation points per account per hour" in warning.message
    assert warning.message.endswith("(bsky-1666)")
    assert over.summary["bluesky"]["per_60_minutes"]["bsky"]["over"] == 1


def test_a_bluesky_thread_spends_points_for_every_part() -> None:
    hourly = next(r for r in BlueskyChannel.quota_rules if r.window == timedelta(hours=1))
    assert send_cost(hourly, posts("bsky", "bluesky", [0], parts=4)[0]) == 12


def test_a_network_declaring_no_quota_is_only_counted_for_bursts() -> None:
    result = check_quotas(posts("m", "manual", [0, 1, 2, 3]))
    assert "manual" not in result.summary
    assert result.summary["bursts"]["posts_over"] == {"m": 1}
