"""The YouTube adapter against the sandbox: the official client, the sandbox transport, no patch."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.channels.base import LiveSessionRequest, Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.youtube import YouTubeChannel, YouTubeSettings
from cm_toolkit.errors import (
    AuthExpired,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.youtube import CHANNEL_ID, YouTubeEmulator, three_significant
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.cases.youtube import tiny_video
from tests.channels.youtube_fixtures import (  # noqa: F401 (fixtures)
    START,
    youtube_channel,
    youtube_channel_fixture,
    youtube_clock,
    youtube_credentials,
    youtube_sandbox,
)

SESSION = LiveSessionRequest(
    session_id="live-3",
    title="Live Q&A — module 3",
    description="Posez vos questions à l'équipe pédagogique.",
    start=datetime(2027, 12, 9, 17, 0, tzinfo=UTC),
    duration=timedelta(minutes=90),
)


@pytest.fixture
def post(tmp_path: Path) -> RenderedPost:
    return RenderedPost(
        text="Le replay du live & les ressources du module 3 🎯",
        title="Replay — module 3",
        link="https://mooc.example.org/module-3",
        media=(Media(tiny_video(tmp_path), "video/mp4"),),
    )


def _creates(sandbox: Sandbox, path: str) -> list[Any]:
    return [
        e
        for e in sandbox.journal.entries(network="youtube", path=path)
        if e.method in ("POST", "PUT")
    ]


# -- publishing --------------------------------------------------------------------------------


def test_publish_uploads_the_replay(
    sandbox: Sandbox, channel: YouTubeChannel, post: RenderedPost
) -> None:
    result = channel.publish(post)
    assert result.url == f"https://www.youtube.com/watch?v={result.remote_id}"
    assert result.extra == {"privacy": "public"}
    start, chunk = _creates(sandbox, "/upload/youtube/v3/videos")
    assert start.method == "POST" and "uploadType=resumable" in start.query
    assert start.json_body() == {
        "snippet": {
            "title": "Replay — module 3",
            "description": "Le replay du live & les ressources du module 3 🎯\n\n"
            "https://mooc.example.org/module-3",
            "categoryId": "22",
        },
        "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
    }
    size = post.media[0].path.stat().st_size
    assert chunk.method == "PUT" and chunk.headers["content-range"] == f"bytes 0-{size - 1}/{size}"
    assert chunk.status == 200
    (video,) = sandbox.state()["networks"]["youtube"]["videos"]
    assert video["id"] == result.remote_id


def test_title_defaults_to_the_first_line(channel: YouTubeChannel, post: RenderedPost) -> None:
    untitled = replace(post, title=None, text="Replay du live\nDétails...")
    assert channel.title_of(untitled) == "Replay du live"
    long = replace(post, title=None, text="x" * 150)
    assert len(channel.title_of(long)) == 100


def test_validate_reports_every_problem(
    channel: YouTubeChannel, post: RenderedPost, tmp_path: Path
) -> None:
    bad = replace(
        post,
        title="<b>" + "t" * 120,
        description="a > b",
        media=(Media(tmp_path / "missing.png", "image/png"),) * 2,
    )
    messages = [p.message for p in channel.validate(bad)]
    assert len(messages) == 6
    assert any("more than 100" in m for m in messages)
    assert any("one video per post" in m for m in messages)
    assert any("not a video" in m for m in messages)
    assert any("does not exist" in m for m in messages)
    assert all(p.file == "youtube" for p in channel.validate(bad))
    assert [p.message for p in channel.validate(replace(post, media=()))] == [
        "a YouTube post is a video upload, and this post has no video"
    ]


def test_an_invalid_post_is_rejected_before_any_call(
    sandbox: Sandbox, channel: YouTubeChannel, post: RenderedPost
) -> None:
    with pytest.raises(Rejected):
        channel.publish(replace(post, media=()))
    assert len(sandbox.journal) == 0


def test_delete(sandbox: Sandbox, channel: YouTubeChannel, post: RenderedPost) -> None:
    result = channel.publish(post)
    channel.delete(result.remote_id)
    channel.delete(result.remote_id)  # already gone: done
    deletes = sandbox.journal.entries(method="DELETE")
    assert [e.status for e in deletes] == [204, 404]
    assert sandbox.state()["networks"]["youtube"]["videos"] == []


# -- audience ----------------------------------------------------------------------------------


def test_followers_and_check(sandbox: Sandbox, clock: ManualClock, channel: YouTubeChannel) -> None:
    clock.advance(timedelta(days=12))
    expected = three_significant(sandbox.audience.followers("youtube", CHANNEL_ID, clock.now()))
    assert channel.followers() == expected
    assert channel.check() == "YouTube channel Du Manager au Leader 2.0 (UCmanagerLeader20xxxxxxx)"


def test_check_notices_another_channel(sandbox: Sandbox, credentials: MemoryCredentials) -> None:
    other = YouTubeChannel(
        "youtube", YouTubeSettings(channel_id="UCsomeoneElse"), credentials, sandbox.transport()
    )
    with pytest.raises(Rejected) as caught:
        other.check()
    assert "UCmanagerLeader20xxxxxxx" in str(caught.value)


def test_engagement(clock: ManualClock, channel: YouTubeChannel, post: RenderedPost) -> None:
    first = channel.publish(post)
    clock.advance(timedelta(hours=20))  # past the access token's hour: refreshed on the way
    (engagement,) = channel.engagement([first.remote_id, "gone-video"])
    assert engagement.remote_id == first.remote_id
    assert engagement.views and engagement.views > 0 and engagement.reactions >= 0


# -- live sessions -----------------------------------------------------------------------------


def test_schedule_live_creates_binds_and_links(sandbox: Sandbox, channel: YouTubeChannel) -> None:
    result = channel.schedule_live(SESSION)
    assert result.url == f"https://www.youtube.com/watch?v={result.remote_id}"
    calls = [(e.method, e.path) for e in sandbox.journal.entries(network="youtube")]
    assert calls == [
        ("GET", "/youtube/v3/liveBroadcasts"),
        ("POST", "/youtube/v3/liveBroadcasts"),
        ("POST", "/youtube/v3/liveStreams"),
        ("POST", "/youtube/v3/liveBroadcasts/bind"),
    ]
    insert = sandbox.journal.entries(method="POST", path="/youtube/v3/liveBroadcasts")[0]
    assert insert.json_body()["snippet"] == {
        "title": "Live Q&A — module 3",
        "description": "Posez vos questions à l'équipe pédagogique.",
        "scheduledStartTime": "2027-12-09T17:00:00Z",
        "scheduledEndTime": "2027-12-09T18:30:00Z",
    }
    (broadcast,) = sandbox.state()["networks"]["youtube"]["broadcasts"]
    assert broadcast["status"]["lifeCycleStatus"] == "ready"
    assert broadcast["contentDetails"]["boundStreamId"] == result.extra["stream_id"]
    assert "stream_key" not in result.extra


def test_schedule_live_again_reuses_the_broadcast(
    sandbox: Sandbox, channel: YouTubeChannel
) -> None:
    first = channel.schedule_live(SESSION)
    again = channel.schedule_live(SESSION)
    assert again == first
    assert len(sandbox.state()["networks"]["youtube"]["broadcasts"]) == 1


def test_schedule_live_finishes_a_half_made_session(
    sandbox: Sandbox, channel: YouTubeChannel
) -> None:
    sandbox.faults.add("youtube:500@once/youtube/v3/liveStreams")
    with pytest.raises(TransientError):
        channel.schedule_live(SESSION)
    result = channel.schedule_live(SESSION)
    (broadcast,) = sandbox.state()["networks"]["youtube"]["broadcasts"]
    assert broadcast["id"] == result.remote_id
    assert broadcast["contentDetails"]["boundStreamId"] == result.extra["stream_id"]


# -- errors ------------------------------------------------------------------------------------


def test_rate_limit_resets_from_googles_date(sandbox: Sandbox, channel: YouTubeChannel) -> None:
    sandbox.faults.add("youtube:429@1")
    with pytest.raises(RateLimited) as caught:
        channel.followers()
    assert caught.value.reset_at == START + timedelta(seconds=60)
    assert caught.value.info.code == "rateLimitExceeded"


def test_quota_exceeded_waits_for_midnight_pacific(
    sandbox: Sandbox, channel: YouTubeChannel, post: RenderedPost
) -> None:
    sandbox.emulator_of(YouTubeEmulator).quota.daily_uploads = 0
    with pytest.raises(RateLimited) as caught:
        channel.publish(post)
    assert caught.value.reset_at == datetime(2027, 12, 2, 8, 0, tzinfo=UTC)  # 00:00 PST
    assert caught.value.info.network_message and "quota" in caught.value.info.network_message


def test_server_error_is_transient(
    sandbox: Sandbox, channel: YouTubeChannel, post: RenderedPost
) -> None:
    sandbox.faults.add("youtube:503@1")
    with pytest.raises(TransientError) as caught:
        channel.publish(post)
    assert caught.value.retryable and caught.value.info.code == "backendError"


def test_401_refreshes_once_then_is_auth_expired(sandbox: Sandbox, channel: YouTubeChannel) -> None:
    sandbox.faults.add("youtube:401@1")
    with pytest.raises(AuthExpired) as caught:
        channel.followers()
    assert caught.value.fix == "run `cm auth youtube`"
    calls = [(e.network, e.path) for e in sandbox.journal.entries()]
    assert calls == [
        ("google", "/token"),
        ("youtube", "/youtube/v3/channels"),
        ("google", "/token"),
        ("youtube", "/youtube/v3/channels"),
    ]


def test_an_expired_token_is_refreshed_and_stored(
    sandbox: Sandbox, clock: ManualClock, channel: YouTubeChannel, credentials: MemoryCredentials
) -> None:
    channel.followers()
    first = credentials.find("access_token")
    assert first and first.startswith("youtube-sandbox-access-")
    clock.advance(timedelta(hours=2))
    channel.followers()  # 401, refresh, retry
    assert credentials.find("access_token") not in (None, first)
    # a new process starts from the stored token
    fresh = youtube_channel(sandbox, credentials)
    sandbox.journal.clear()
    fresh.followers()
    assert [e.network for e in sandbox.journal.entries()] == ["youtube"]


def test_a_revoked_refresh_token_is_auth_expired(
    sandbox: Sandbox, credentials: MemoryCredentials
) -> None:
    credentials.update({"refresh_token": "youtube-sandbox-refresh-revoked"})
    with pytest.raises(AuthExpired) as caught:
        youtube_channel(sandbox, credentials).followers()
    assert caught.value.info.network_message == "invalid_grant: Token has been expired or revoked."
    assert "revoked" not in str(caught.value).replace("expired or revoked", "")


def test_timeout_on_upload_is_outcome_unknown(
    sandbox: Sandbox, credentials: MemoryCredentials, post: RenderedPost
) -> None:
    channel = youtube_channel(sandbox, credentials, timeout=0.2)
    channel.check()  # token first: the timeout must hit the upload itself
    sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    sandbox.faults.add("youtube:timeout@once/upload/")
    with pytest.raises(OutcomeUnknown) as caught:
        channel.publish(post)
    assert not caught.value.retryable


def test_timeout_on_a_read_is_transient(sandbox: Sandbox, credentials: MemoryCredentials) -> None:
    channel = youtube_channel(sandbox, credentials, timeout=0.2)
    sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    sandbox.faults.add("youtube:timeout@once")
    with pytest.raises(TransientError):
        channel.followers()


def test_dropped_create_is_unknown_and_never_resent(
    sandbox: Sandbox, channel: YouTubeChannel
) -> None:
    """httplib2 re-sends a request whose connection closed: the adapter must refuse."""
    sandbox.faults.add("youtube:drop-after-commit@once/youtube/v3/liveStreams")
    with pytest.raises(OutcomeUnknown):
        channel.schedule_live(SESSION)
    (insert,) = sandbox.journal.entries(method="POST", path="/youtube/v3/liveStreams")
    assert insert.status is None and insert.fault == "drop-after-commit"
    assert len(sandbox.state()["networks"]["youtube"]["streams"]) == 1


def test_dropped_before_processing_is_unknown_too(
    sandbox: Sandbox, channel: YouTubeChannel
) -> None:
    sandbox.faults.add("youtube:drop@once/youtube/v3/liveStreams")
    with pytest.raises(OutcomeUnknown):  # the client cannot tell it from a drop after commit
        channel.schedule_live(SESSION)
    assert sandbox.state()["networks"]["youtube"]["streams"] == []
    result = channel.schedule_live(SESSION)  # the next attempt finishes the same broadcast
    (broadcast,) = sandbox.state()["networks"]["youtube"]["broadcasts"]
    assert broadcast["id"] == result.remote_id


def test_a_read_whose_connection_drops_is_retried_by_httplib2(
    sandbox: Sandbox, channel: YouTubeChannel
) -> None:
    sandbox.faults.add("youtube:drop@once/youtube/v3/channels")
    assert channel.followers() > 0  # a GET may be re-sent: nothing is created twice


def test_sandbox_down_is_transient(sandbox: Sandbox, credentials: MemoryCredentials) -> None:
    channel = youtube_channel(sandbox, credentials)
    sandbox.stop()
    with pytest.raises(TransientError):
        channel.followers()


def test_errors_and_repr_never_show_secrets(
    sandbox: Sandbox, channel: YouTubeChannel, post: RenderedPost
) -> None:
    sandbox.faults.add("youtube:401@1")
    with pytest.raises(AuthExpired) as caught:
        channel.publish(post)
    shown = f"{caught.value} {caught.value!r} {channel!r} {json.dumps(caught.value.info.details)}"
    assert not [v for v in sandbox.env().values() if v in shown]
