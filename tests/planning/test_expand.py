from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cm_toolkit.errors import WorkspaceError
from cm_toolkit.planning import DeliveryKind, PlannedDelivery, plan_workspace


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def one_campaign(posts: list[dict[str, Any]], **campaign: Any) -> dict[str, Any]:
    return {"campaigns": [{"id": "mooc", "name": "MOOC", "posts": posts, **campaign}]}


def due_times(deliveries: list[PlannedDelivery], channel: str | None = None) -> list[datetime]:
    return [d.due_at for d in deliveries if channel is None or d.channel_id == channel]


def test_weekly_post_stays_at_nine_local_across_dst(workspace_of: Any) -> None:
    # 2027-03-28 is the last Sunday of March: Paris moves from UTC+1 to UTC+2.
    ws = workspace_of(one_campaign(
        [{"id": "weekly", "template": "t", "channels": ["x-mooc"], "every": "0 9 * * 1",
          "count": 3}],
        start=datetime(2027, 3, 15),
    ))
    plan = plan_workspace(ws)
    assert due_times(plan.deliveries) == [utc(2027, 3, 15, 8), utc(2027, 3, 22, 8),
                                          utc(2027, 3, 29, 7)]
    assert [d.occurrence for d in plan.deliveries] == [1, 2, 3]


def test_skip_pauses_a_weekly_post_for_a_holiday_week(workspace_of: Any) -> None:
    from datetime import date

    ws = workspace_of(one_campaign(
        [{"id": "weekly", "template": "t", "channels": ["x-mooc"], "every": "0 9 * * 1",
          "count": 3, "skip": [date(2027, 3, 22)]}],
        start=datetime(2027, 3, 15),
    ))
    plan = plan_workspace(ws)
    # the series pauses on the 22nd: three posts still, the last one week later
    assert due_times(plan.deliveries) == [utc(2027, 3, 15, 8), utc(2027, 3, 29, 7),
                                          utc(2027, 4, 5, 7)]
    assert [d.occurrence for d in plan.deliveries] == [1, 2, 3]


def test_day_of_week_numbers_follow_classic_cron(workspace_of: Any) -> None:
    # 0 and 7 are Sunday in classic cron (APScheduler alone would read 0 as Monday).
    for expression in ("0 9 * * 0", "0 9 * * 7", "0 9 * * sun"):
        ws = workspace_of(one_campaign(
            [{"id": "sunday", "template": "t", "channels": ["x-mooc"], "every": expression,
              "count": 2}],
            start=datetime(2027, 3, 20),
        ))
        # 2027-03-21 is a Sunday in winter time, 2027-03-28 the first in summer time.
        assert due_times(plan_workspace(ws).deliveries) == [utc(2027, 3, 21, 8),
                                                             utc(2027, 3, 28, 7)]


def test_weekday_range_and_until_inclusive(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign(
        [{"id": "daily", "template": "t", "channels": ["x-mooc"], "every": "30 18 * * 1-5",
          "until": datetime(2027, 1, 6, 18, 30)}],
        start=datetime(2027, 1, 1),  # a Friday
    ))
    assert due_times(plan_workspace(ws).deliveries) == [
        utc(2027, 1, 1, 17, 30), utc(2027, 1, 4, 17, 30), utc(2027, 1, 5, 17, 30),
        utc(2027, 1, 6, 17, 30),
    ]


def test_count_and_until_stop_at_the_first_reached(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign(
        [{"id": "daily", "template": "t", "channels": ["x-mooc"], "every": "0 12 * * *",
          "count": 10, "until": datetime(2027, 1, 3, 23, 0)}],
        start=datetime(2027, 1, 1, 12, 0),  # a fire time at the start itself counts
    ))
    assert len(plan_workspace(ws).deliveries) == 3


def test_at_naive_is_workspace_time_aware_is_kept(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign([
        {"id": "naive", "template": "t", "channels": ["x-mooc"], "at": datetime(2027, 7, 1, 10)},
        {"id": "aware", "template": "t", "channels": ["x-mooc"],
         "at": datetime(2027, 7, 1, 10, tzinfo=timezone(timedelta(hours=-4)))},
    ]))
    by_post = {d.post_id: d for d in plan_workspace(ws).deliveries}
    assert by_post["naive"].due_at == utc(2027, 7, 1, 8)
    assert by_post["aware"].due_at == utc(2027, 7, 1, 14)
    assert by_post["naive"].due_at.tzinfo is UTC


def test_past_deliveries_are_planned_too(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign(
        [{"id": "old", "template": "t", "channels": ["x-mooc"], "at": datetime(2001, 1, 1)}]
    ))
    assert due_times(plan_workspace(ws).deliveries) == [utc(2000, 12, 31, 23)]


SESSION = {
    "id": "live1", "title": "Q&A", "start": datetime(2027, 12, 9, 18, 0),
    "duration": timedelta(hours=1), "hosted_on": ["youtube", "meet"],
    "announce_on": ["x-mooc", "facebook-page"],
    "announcements": [
        {"template": "reminder", "before": timedelta(days=7)},
        {"template": "reminder", "before": timedelta(hours=1), "channels": ["linkedin-page"]},
        {"template": "now-live"},
    ],
}


def test_session_relative_posts(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign(
        [
            {"id": "before", "template": "t", "channels": ["x-mooc"], "session": "live1",
             "before": timedelta(days=1)},
            {"id": "after", "template": "t", "channels": ["x-mooc"], "session": "live1",
             "after": timedelta(hours=2)},
            {"id": "at-start", "template": "t", "channels": ["x-mooc"], "session": "live1"},
        ],
        live_sessions=[SESSION],
    ))
    by_post = {d.post_id: d for d in plan_workspace(ws).deliveries if d.post_id}
    assert by_post["before"].due_at == utc(2027, 12, 8, 17)
    assert by_post["after"].due_at == utc(2027, 12, 9, 19)
    assert by_post["at-start"].due_at == utc(2027, 12, 9, 17)
    assert by_post["before"].session_id == "live1"


def test_announcements_and_live_setup(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign([], live_sessions=[SESSION]))
    deliveries = plan_workspace(ws).deliveries
    announcements = {(d.post_key, d.channel_id): d.due_at for d in deliveries
                     if d.kind is DeliveryKind.ANNOUNCEMENT}
    assert announcements == {
        ("live1/announce/0", "x-mooc"): utc(2027, 12, 2, 17),
        ("live1/announce/0", "facebook-page"): utc(2027, 12, 2, 17),
        ("live1/announce/1", "linkedin-page"): utc(2027, 12, 9, 16),
        ("live1/announce/2", "x-mooc"): utc(2027, 12, 9, 17),
        ("live1/announce/2", "facebook-page"): utc(2027, 12, 9, 17),
    }
    setups = [d for d in deliveries if d.kind is DeliveryKind.LIVE_SETUP]
    assert {d.channel_id for d in setups} == {"youtube", "meet"}
    assert all(d.post_key == "live1/live" and d.due_at == utc(2027, 12, 1, 17) for d in setups)
    assert all(d.grace == timedelta(days=8) and d.template is None for d in setups)


def test_skip_overrides_by_network_and_channel_id_wins(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign([
        {"id": "p", "template": "t", "at": datetime(2027, 5, 1, 9),
         "channels": ["x-mooc", "facebook-page", "linkedin-page", "linkedin-group"],
         "overrides": {
             "facebook": {"skip": True},
             "linkedin": {"skip": True},
             "linkedin-page": {"template": "debate", "variables": {"tone": "formal"}},
         }},
    ]))
    deliveries = {d.channel_id: d for d in plan_workspace(ws).deliveries}
    # facebook skipped by network; linkedin-page keeps its own override (channel id wins).
    assert set(deliveries) == {"x-mooc", "linkedin-page", "linkedin-group"}
    assert deliveries["linkedin-page"].template == "debate"
    assert deliveries["linkedin-page"].content["variables"] == {"tone": "formal"}
    assert deliveries["x-mooc"].template == "t"


def test_fingerprint_ignores_time_and_follows_content(workspace_of: Any) -> None:
    def fingerprint_of(**changes: Any) -> str:
        post = {"id": "p", "template": "t", "channels": ["x-mooc"],
                "at": datetime(2027, 5, 1, 9), "variables": {"a": 1}, **changes}
        return plan_workspace(workspace_of(one_campaign([post]))).deliveries[0].fingerprint

    base = fingerprint_of()
    assert fingerprint_of(at=datetime(2027, 6, 1, 9)) == base
    assert fingerprint_of(variables={"a": 2}) != base
    assert fingerprint_of(link="https://example.org") != base
    assert fingerprint_of(media=["img/a.png"]) != base
    assert fingerprint_of(thread=True) != base
    assert fingerprint_of(template="other") != base


def test_grace_from_post_or_defaults(workspace_of: Any) -> None:
    ws = workspace_of({**one_campaign([
        {"id": "a", "template": "t", "channels": ["x-mooc"], "at": datetime(2027, 5, 1)},
        {"id": "b", "template": "t", "channels": ["x-mooc"], "at": datetime(2027, 5, 1),
         "grace": timedelta(minutes=10)},
    ]), "defaults": {"grace": timedelta(hours=3)}})
    grace = {d.post_id: d.grace for d in plan_workspace(ws).deliveries}
    assert grace == {"a": timedelta(hours=3), "b": timedelta(minutes=10)}


@pytest.mark.parametrize(
    ("post", "campaign", "expected"),
    [
        ({"every": "0 9 * * 1", "count": 2}, {}, "has no start"),
        ({"every": "0 9 * * 1"}, {"start": datetime(2027, 1, 1)}, "repeats forever"),
        ({"every": "0 9 * *", "count": 2}, {"start": datetime(2027, 1, 1)}, "has 4 fields"),
        ({"every": "0 9 * * 9", "count": 2}, {"start": datetime(2027, 1, 1)}, "not between"),
        ({"every": "0 99 * * *", "count": 2}, {"start": datetime(2027, 1, 1)}, "99"),
        ({"every": "0 9 * * 1", "count": 2, "skip": ["2027-01-05"]},
         {"start": datetime(2027, 1, 1)}, "skip: 2027-01-05 is not a date of this post"),
        ({"session": "nope"}, {}, "unknown live session 'nope'"),
        ({}, {}, "0 time rules"),
        ({"at": datetime(2027, 1, 1), "channels": ["x-moc"]}, {}, "channel 'x-moc'"),
    ],
)
def test_problems_are_reported(
    workspace_of: Any, post: dict[str, Any], campaign: dict[str, Any], expected: str
) -> None:
    ws = workspace_of(one_campaign(
        [{"id": "p", "template": "t", "channels": ["x-mooc"], **post}], **campaign
    ))
    with pytest.raises(WorkspaceError) as raised:
        plan_workspace(ws)
    assert any(expected in p.message for p in raised.value.problems), raised.value.problems
    assert all(p.fix for p in raised.value.problems)


def test_duplicate_post_ids_are_a_problem(workspace_of: Any) -> None:
    post = {"id": "p", "template": "t", "channels": ["x-mooc"], "at": datetime(2027, 1, 1)}
    ws = workspace_of({"campaigns": [
        {"id": "a", "name": "A", "posts": [post]}, {"id": "b", "name": "B", "posts": [post]},
    ]})
    with pytest.raises(WorkspaceError, match="share the id .p."):
        plan_workspace(ws)


def test_plan_is_sorted_and_carries_catalogue(workspace_of: Any) -> None:
    ws = workspace_of(one_campaign(
        [{"id": "late", "template": "t", "channels": ["x-mooc"], "at": datetime(2028, 1, 1)},
         {"id": "early", "template": "t", "channels": ["x-mooc"], "at": datetime(2027, 1, 1)}],
        live_sessions=[SESSION],
    ))
    plan = plan_workspace(ws)
    assert plan.deliveries == sorted(plan.deliveries, key=lambda d: d.due_at)
    assert [c.id for c in plan.campaigns] == ["mooc"]
    assert {h.channel_id for h in plan.sessions[0].hosts} == {"youtube", "meet"}
    assert {i.post_key for i in plan.items} >= {"late", "early", "live1/live",
                                                 "live1/announce/0"}


def test_whole_day_offsets_keep_the_local_time_across_dst() -> None:
    """7 days before a Thursday 18:00 (summer time) session is 18:00 (winter time) a week
    earlier, not 17:00; an hour before is elapsed time."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from cm_toolkit.workspace.times import shift

    paris = ZoneInfo("Europe/Paris")
    start = datetime(2027, 4, 1, 18, 0, tzinfo=paris).astimezone(UTC)  # 16:00 UTC (CEST)
    week_before = shift(start, -timedelta(days=7), paris)
    assert week_before.astimezone(paris).replace(tzinfo=None) == datetime(2027, 3, 25, 18, 0)
    assert week_before == datetime(2027, 3, 25, 17, 0, tzinfo=UTC)  # CET: UTC+1
    assert shift(start, -timedelta(hours=1), paris) == datetime(2027, 4, 1, 15, 0, tzinfo=UTC)
    mixed = shift(start, -timedelta(days=1, hours=2), paris)
    assert mixed == datetime(2027, 3, 31, 14, 0, tzinfo=UTC)
    assert shift(start, timedelta(days=1), paris) == datetime(2027, 4, 2, 16, 0, tzinfo=UTC)


def test_content_is_the_canonical_merge_of_workspace_campaign_post_and_override(
    workspace_of: Any,
) -> None:
    # The planner makes the campaign's variables canonical once for all its posts: the content
    # and its fingerprint must stay those of the whole merge made canonical at once.
    from cm_toolkit.planning.fingerprint import canonical_content, fingerprint

    ws = workspace_of({
        **one_campaign(
            [{"id": "p", "template": "t", "at": datetime(2027, 5, 1, 9),
              "channels": ["x-mooc", "linkedin-page"], "link": "https://example.org",
              "variables": {"b": {"z": [1, {"y": 2}]}, "a": "post"},
              "overrides": {"linkedin": {"variables": {"c": [3], "a": "override"}}}},
             {"id": "q", "template": "t", "at": datetime(2027, 5, 2, 9),
              "channels": ["x-mooc"]}],
            variables={"a": "campaign", "tags": ["x", "y"]},
        ),
        "variables": {"w": {"n": 1}, "a": "workspace"},
    })
    plan = plan_workspace(ws)
    utm = ws.schedules.defaults.utm.model_dump()
    expected = {
        ("p", "x-mooc"): {"w": {"n": 1}, "a": "post", "tags": ["x", "y"],
                          "b": {"z": [1, {"y": 2}]}},
        ("p", "linkedin-page"): {"w": {"n": 1}, "a": "override", "tags": ["x", "y"],
                                 "b": {"z": [1, {"y": 2}]}, "c": [3]},
        ("q", "x-mooc"): {"w": {"n": 1}, "a": "campaign", "tags": ["x", "y"]},
    }
    assert {(d.post_id, d.channel_id) for d in plan.deliveries} == set(expected)
    for d in plan.deliveries:
        raw = {"kind": d.kind, "network": d.network, "template": "t",
               "variables": expected[d.post_id, d.channel_id],
               "link": "https://example.org" if d.post_id == "p" else None, "media": [],
               "thread": False, "language": ws.schedules.defaults.language, "utm": utm,
               "session": None}
        assert d.content == canonical_content(raw)
        assert list(d.content) == list(raw) and list(d.content["variables"]) == list(
            expected[d.post_id, d.channel_id])
        assert d.fingerprint == fingerprint(raw)
