from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from cm_toolkit.workspace.datetimes import DateTimeError, is_date_only, parse_datetime
from cm_toolkit.workspace.durations import DurationError, format_duration, parse_duration
from cm_toolkit.workspace.models import LiveSession


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("1d 2h", timedelta(days=1, hours=2)),
        ("0m", timedelta(0)),
        ("PT1H", timedelta(hours=1)),
        ("P1DT30M", timedelta(days=1, minutes=30)),
        ("P2W", timedelta(weeks=2)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_durations_people_write(text: str | timedelta, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "1x", "h", "1m1h", "-1h", "P", "PT", "P1Y", "soon"])
def test_not_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


@pytest.mark.parametrize("number", [7, 1.5, True])
def test_bare_numbers_need_a_unit(number: object) -> None:
    with pytest.raises(DurationError, match="needs a unit"):
        parse_duration(number)


def test_format_duration_round_trips() -> None:
    for text in ("1h30m", "7d", "45s", "1d2h3m4s"):
        assert format_duration(parse_duration(text)) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2027-01-14 18:00", datetime(2027, 1, 14, 18, 0)),
        ("2027-01-14T18:00", datetime(2027, 1, 14, 18, 0)),
        ("2027-01-14 18:00:30", datetime(2027, 1, 14, 18, 0, 30)),
        ("2027-01-14", datetime(2027, 1, 14)),
        (date(2027, 1, 14), datetime(2027, 1, 14)),
        ("2027-01-14T18:00+01:00", datetime(2027, 1, 14, 18, tzinfo=timezone(timedelta(hours=1)))),
        ("2027-01-14 18:00 +01:00", datetime(2027, 1, 14, 18, tzinfo=timezone(timedelta(hours=1)))),
        ("2027-01-14 17:00Z", datetime(2027, 1, 14, 17, tzinfo=UTC)),
    ],
)
def test_datetimes_people_write(value: object, expected: datetime) -> None:
    assert parse_datetime(value) == expected
    assert parse_datetime(value).tzinfo == expected.tzinfo


@pytest.mark.parametrize("value", ["tomorrow", "2027-02-30 10:00", "14/01/2027 18:00", 1700000000])
def test_not_datetimes(value: object) -> None:
    with pytest.raises(DateTimeError):
        parse_datetime(value)


def test_date_only_is_detected() -> None:
    assert is_date_only("2027-01-14") and is_date_only(date(2027, 1, 14))
    assert not is_date_only("2027-01-14 18:00") and not is_date_only(datetime(2027, 1, 14))


def _session(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "s",
        "title": "t",
        "start": "2027-03-28 18:00",
        "duration": "1h30m",
        "hosted_on": ["youtube"],
    }
    return {**data, **changes}


def test_models_accept_durations_and_localize_with_the_workspace_zone() -> None:
    paris = ZoneInfo("Europe/Paris")
    session = LiveSession.model_validate(_session(), context={"timezone": paris})
    # 2027-03-28 is the day clocks go forward in Paris: 18:00 is then UTC+2.
    assert session.start.utcoffset() == timedelta(hours=2)
    assert session.duration == timedelta(minutes=90)
    assert session.create_before == timedelta(days=8)
    explicit = LiveSession.model_validate(
        _session(start="2027-03-28T18:00+00:00"), context={"timezone": paris}
    )
    assert explicit.start.utcoffset() == timedelta(0)
    naive = LiveSession.model_validate(_session())
    assert naive.start.tzinfo is None


def test_models_refuse_a_duration_without_unit() -> None:
    with pytest.raises(ValidationError, match="needs a unit"):
        LiveSession.model_validate(_session(duration=90))
