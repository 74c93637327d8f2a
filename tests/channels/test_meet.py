"""The Google Meet adapter (Calendar events with a Meet link) against the sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from cm_toolkit.channels.base import LiveSessionRequest, MemoryCredentials, RenderedPost
from cm_toolkit.channels.meet import MeetChannel, MeetSettings, event_id_for
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.calendar import OWNER, CalendarEmulator
from cm_toolkit.sandbox.server import Sandbox
from tests.waiting import faulted

START = datetime(2027, 12, 1, 9, 0, tzinfo=UTC)
SESSION = LiveSessionRequest(
    session_id="live-3",
    title="Live Q&A — module 3",
    description="Posez vos questions à l'équipe pédagogique.",
    start=datetime(2027, 12, 9, 17, 0, tzinfo=UTC),
    duration=timedelta(hours=1),
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=4, clock=clock, epoch=START).running() as running:
        yield running


def _channel(sandbox: Sandbox, timeout: float = 5, **settings: object) -> MeetChannel:
    env = sandbox.env()
    credentials = MemoryCredentials(
        "meet",
        {
            "client_id": env["CM_GOOGLE_CLIENT_ID"],
            "client_secret": env["CM_GOOGLE_CLIENT_SECRET"],
            "refresh_token": env["CM_MEET_REFRESH_TOKEN"],
        },
    )
    return MeetChannel(
        "meet",
        MeetSettings(**settings),
        credentials,  # type: ignore[arg-type]
        sandbox.transport(timeout=timeout),
    )


@pytest.fixture
def channel(sandbox: Sandbox) -> MeetChannel:
    return _channel(sandbox)


def _events(sandbox: Sandbox) -> list[dict[str, object]]:
    return list(sandbox.state()["networks"]["meet"][OWNER]["events"])


def test_schedule_live_returns_the_meet_link(sandbox: Sandbox, channel: MeetChannel) -> None:
    result = channel.schedule_live(SESSION)
    assert re.fullmatch(r"https://meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}", result.url)
    assert result.remote_id == event_id_for("meet", "live-3")
    assert result.extra["conference_id"] == result.url.rsplit("/", 1)[1]
    (insert,) = sandbox.journal.entries(network="meet", method="POST")
    assert "conferenceDataVersion=1" in insert.query and "sendUpdates=none" in insert.query
    assert insert.json_body() == {
        "id": result.remote_id,
        "summary": "Live Q&A — module 3",
        "description": "Posez vos questions à l'équipe pédagogique.",
        "start": {"dateTime": "2027-12-09T17:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2027-12-09T18:00:00Z", "timeZone": "UTC"},
        "conferenceData": {
            "createRequest": {
                "requestId": result.remote_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }
        },
    }


def test_event_ids_are_base32hex_and_stable() -> None:
    first = event_id_for("meet", "live-3")
    assert re.fullmatch(r"[0-9a-v]{32}", first)
    assert first == event_id_for("meet", "live-3") != event_id_for("meet", "live-4")


def test_schedule_live_twice_gives_the_same_event(sandbox: Sandbox, channel: MeetChannel) -> None:
    first = channel.schedule_live(SESSION)
    again = channel.schedule_live(SESSION)
    assert again == first and len(_events(sandbox)) == 1
    statuses = [e.status for e in sandbox.journal.entries(network="meet")]
    assert statuses == [200, 409, 200]  # insert, duplicate, get


def test_a_pending_conference_is_awaited(sandbox: Sandbox, channel: MeetChannel) -> None:
    sandbox.emulator_of(CalendarEmulator).pending_fraction = 1.0
    result = channel.schedule_live(SESSION)
    assert result.url.startswith("https://meet.google.com/")
    methods = [e.method for e in sandbox.journal.entries(network="meet")]
    assert methods == ["POST", "GET"]


def test_attendees_are_invited(sandbox: Sandbox) -> None:
    channel = _channel(sandbox, attendees=("awa@example.org",), send_updates="all")
    channel.schedule_live(SESSION)
    (event,) = _events(sandbox)
    assert event["attendees"] == [{"email": "awa@example.org", "responseStatus": "needsAction"}]
    (insert,) = sandbox.journal.entries(network="meet", method="POST")
    assert "sendUpdates=all" in insert.query


def test_check_and_delete(sandbox: Sandbox, channel: MeetChannel) -> None:
    assert (
        channel.check() == "Google Calendar Du Manager au Leader 2.0 — équipe pédagogique "
        "(Europe/Paris)"
    )
    result = channel.schedule_live(SESSION)
    channel.delete(result.remote_id)
    channel.delete(result.remote_id)  # already cancelled: done
    assert [e.status for e in sandbox.journal.entries(method="DELETE")] == [204, 410]


def test_meet_has_no_posts(channel: MeetChannel) -> None:
    assert channel.validate(RenderedPost(text="Bienvenue")) == []
    (problem,) = channel.validate(RenderedPost(text="x" * 9000))
    assert problem.file == "meet" and "8192" in problem.message
    with pytest.raises(NotImplementedError):
        channel.publish(RenderedPost(text="Bienvenue"))
    with pytest.raises(NotImplementedError):
        channel.followers()


def test_401_is_auth_expired(sandbox: Sandbox, channel: MeetChannel) -> None:
    sandbox.faults.add("meet:401@1")
    with pytest.raises(AuthExpired) as caught:
        channel.schedule_live(SESSION)
    assert caught.value.fix == "run `cm auth meet`"
    assert _events(sandbox) == []


def test_rate_limited(sandbox: Sandbox, channel: MeetChannel) -> None:
    sandbox.faults.add("meet:429@1")
    with pytest.raises(RateLimited) as caught:
        channel.schedule_live(SESSION)
    assert caught.value.reset_at == START + timedelta(seconds=60)


def test_timeout_on_insert_is_unknown_and_a_rerun_is_safe(sandbox: Sandbox) -> None:
    channel = _channel(sandbox, timeout=0.2)
    channel.check()
    sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    sandbox.faults.add("meet:timeout@once/events$")
    with pytest.raises(OutcomeUnknown):
        channel.schedule_live(SESSION)
    faulted(sandbox)  # processed (the client gives up first, on a busy machine)
    assert len(_events(sandbox)) == 1  # it was created after all
    result = channel.schedule_live(SESSION)  # the same session: the same event, no second one
    assert len(_events(sandbox)) == 1 and result.url.startswith("https://meet.google.com/")


def test_server_error_is_transient(sandbox: Sandbox, channel: MeetChannel) -> None:
    sandbox.faults.add("meet:500@1")
    with pytest.raises(TransientError):
        channel.check()
