"""The Calendar emulator (Google Meet links), driven by google-api-python-client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.calendar import OWNER, REFRESH_TOKEN
from cm_toolkit.sandbox.server import Sandbox
from tests.sandbox.google_sdk import google_api, google_error

START = datetime(2027, 12, 1, 9, 0, tzinfo=UTC)
MEET_LINK = r"https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=5, clock=clock, epoch=START).running() as running:
        yield running


@pytest.fixture
def cal(sandbox: Sandbox) -> Any:
    return google_api(sandbox, "calendar", "v3", REFRESH_TOKEN)


def _event(**extra: Any) -> dict[str, Any]:
    return {
        "summary": "Live Q&A — module 3",
        "description": "Posez vos questions",
        "start": {"dateTime": "2027-12-09T17:00:00Z"},
        "end": {"dateTime": "2027-12-09T18:00:00Z"},
        "conferenceData": {
            "createRequest": {
                "requestId": "req-1",
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        },
        **extra,
    }


def test_insert_with_conference_data_gives_a_meet_link(sandbox: Sandbox, cal: Any) -> None:
    event = (
        cal.events().insert(calendarId="primary", conferenceDataVersion=1, body=_event()).execute()
    )
    assert event["kind"] == "calendar#event" and event["status"] == "confirmed"
    assert re.fullmatch(MEET_LINK, event["hangoutLink"])
    conference = event["conferenceData"]
    assert conference["createRequest"]["status"] == {"statusCode": "success"}
    assert conference["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    assert conference["entryPoints"][0] == {
        "entryPointType": "video",
        "uri": event["hangoutLink"],
        "label": event["hangoutLink"].removeprefix("https://"),
    }
    assert event["organizer"] == {"email": OWNER, "self": True}
    (entry,) = sandbox.journal.entries(network="meet", method="POST")
    assert entry.host == "www.googleapis.com"
    assert entry.path == "/calendar/v3/calendars/primary/events"
    assert "conferenceDataVersion=1" in entry.query
    assert entry.json_body()["conferenceData"]["createRequest"]["requestId"] == "req-1"


def test_without_conference_data_version_there_is_no_meet(cal: Any) -> None:
    event = cal.events().insert(calendarId="primary", body=_event()).execute()
    assert "hangoutLink" not in event and "conferenceData" not in event


def test_pending_conference_is_ready_on_the_next_read(sandbox: Sandbox, cal: Any) -> None:
    sandbox.emulator("meet").pending_fraction = 1.0  # type: ignore[attr-defined]
    event = (
        cal.events().insert(calendarId="primary", conferenceDataVersion=1, body=_event()).execute()
    )
    assert "hangoutLink" not in event
    assert event["conferenceData"]["createRequest"]["status"] == {"statusCode": "pending"}
    again = cal.events().get(calendarId="primary", eventId=event["id"]).execute()
    assert again["hangoutLink"].startswith("https://meet.google.com/")
    assert again["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"


def test_client_chosen_id_is_idempotent(cal: Any) -> None:
    body = _event(id="cmtoolkit0session42")
    cal.events().insert(calendarId="primary", conferenceDataVersion=1, body=body).execute()
    status, error = google_error(cal.events().insert(calendarId="primary", body=body))
    assert status == 409 and error["errors"][0]["reason"] == "duplicate"
    status, error = google_error(
        cal.events().insert(calendarId="primary", body=_event(id="Not_Base32"))
    )
    assert status == 400 and error["message"] == "Invalid resource id value."


def test_malformed_events_get_googles_400(cal: Any) -> None:
    body = _event()
    del body["end"]
    status, error = google_error(cal.events().insert(calendarId="primary", body=body))
    assert status == 400 and error["message"] == "Required field missing: end"
    body = _event(end={"dateTime": "2027-12-09T16:00:00Z"})
    status, error = google_error(cal.events().insert(calendarId="primary", body=body))
    assert status == 400 and error["errors"][0]["reason"] == "timeRangeEmpty"
    body = _event(start={"dateTime": "2027-12-09T17:00:00"})
    status, error = google_error(cal.events().insert(calendarId="primary", body=body))
    assert status == 400 and error["message"] == "Missing time zone definition for start time."
    body = _event(start={"dateTime": "jeudi 18h"})
    status, error = google_error(cal.events().insert(calendarId="primary", body=body))
    assert status == 400 and "google.protobuf.Timestamp" in error["message"]
    body = _event(
        conferenceData={
            "createRequest": {"requestId": "r", "conferenceSolutionKey": {"type": "zoom"}}
        }
    )
    status, error = google_error(
        cal.events().insert(calendarId="primary", conferenceDataVersion=1, body=body)
    )
    assert status == 400 and error["message"] == "Invalid conference type value."


def test_get_list_delete(cal: Any) -> None:
    first = cal.events().insert(calendarId="primary", body=_event()).execute()
    later = _event(
        start={"dateTime": "2027-12-16T17:00:00Z"}, end={"dateTime": "2027-12-16T18:00:00Z"}
    )
    second = cal.events().insert(calendarId="primary", body=later).execute()
    listed = cal.events().list(calendarId="primary", timeMin="2027-12-10T00:00:00Z").execute()
    assert listed["kind"] == "calendar#events" and listed["timeZone"] == "Europe/Paris"
    assert [e["id"] for e in listed["items"]] == [second["id"]]
    cal.events().delete(calendarId="primary", eventId=first["id"]).execute()
    assert [e["id"] for e in cal.events().list(calendarId="primary").execute()["items"]] == [
        second["id"]
    ]
    shown = cal.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert {e["id"]: e["status"] for e in shown}[first["id"]] == "cancelled"
    status, error = google_error(cal.events().delete(calendarId="primary", eventId=first["id"]))
    assert status == 410 and error["errors"][0]["reason"] == "deleted"
    status, error = google_error(cal.events().get(calendarId="primary", eventId="nothere"))
    assert status == 404 and error["errors"][0]["reason"] == "notFound"


def test_calendars_and_calendar_list(cal: Any) -> None:
    calendar = cal.calendars().get(calendarId="primary").execute()
    assert calendar["id"] == OWNER and calendar["kind"] == "calendar#calendar"
    assert calendar["conferenceProperties"]["allowedConferenceSolutionTypes"] == ["hangoutsMeet"]
    entries = cal.calendarList().list().execute()
    assert entries["kind"] == "calendar#calendarList"
    assert [(e["id"], e["primary"], e["accessRole"]) for e in entries["items"]] == [
        (OWNER, True, "owner")
    ]
    status, _ = google_error(cal.calendars().get(calendarId="someone-else@example.org"))
    assert status == 404


def test_unknown_query_parameter(sandbox: Sandbox) -> None:
    http = sandbox.transport().http_factory()
    token = f"meet-sandbox-access-{OWNER}"
    resp, body = http.request(
        "https://www.googleapis.com/calendar/v3/calendars/primary/events?colour=red",
        headers={"authorization": f"Bearer {token}"},
    )
    assert resp.status == 400
    assert json.loads(body)["error"]["message"].startswith(
        'Invalid JSON payload received. Unknown name "colour"'
    )


def test_youtube_tokens_do_not_open_the_calendar(sandbox: Sandbox) -> None:
    cal = google_api(
        sandbox, "calendar", "v3", token="youtube-sandbox-access-UCmanagerLeader20xxxxxxx"
    )
    status, error = google_error(cal.calendars().get(calendarId="primary"))
    assert status == 403 and error["errors"][0]["reason"] == "insufficientPermissions"


def test_per_minute_rate_limit(sandbox: Sandbox, clock: ManualClock, cal: Any) -> None:
    http = sandbox.transport().http_factory()
    headers = {"authorization": f"Bearer meet-sandbox-access-{OWNER}"}
    url = "https://www.googleapis.com/calendar/v3/calendars/primary"
    statuses = [http.request(url, headers=headers)[0].status for _ in range(600)]
    assert set(statuses) == {200}
    status, error = google_error(cal.calendars().get(calendarId="primary"))
    assert status == 429 and error["errors"][0]["reason"] == "rateLimitExceeded"
    clock.advance(timedelta(minutes=1))
    assert cal.calendars().get(calendarId="primary").execute()["id"] == OWNER


def test_faults_address_meet(sandbox: Sandbox, cal: Any) -> None:
    sandbox.faults.add("meet:500@once")
    status, error = google_error(cal.calendars().get(calendarId="primary"))
    assert status == 500 and error["errors"][0]["reason"] == "backendError"
    (entry,) = [e for e in sandbox.journal.entries(network="meet") if e.fault]
    assert entry.fault == "500"
