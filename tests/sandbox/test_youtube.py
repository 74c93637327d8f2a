"""The YouTube emulator, driven by google-api-python-client through the sandbox transport."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from googleapiclient.http import MediaIoBaseUpload

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.youtube import (
    ACCESS_TOKEN,
    CHANNEL_ID,
    REFRESH_TOKEN,
    three_significant,
)
from cm_toolkit.sandbox.server import Sandbox
from tests.sandbox.google_sdk import google_api, google_error

START = datetime(2027, 12, 1, 9, 0, tzinfo=UTC)  # 01:00 in Los Angeles
LIVE_BODY = {
    "snippet": {
        "title": "Live Q&A — module 3",
        "description": "Questions & réponses en direct",
        "scheduledStartTime": "2027-12-09T17:00:00Z",
    },
    "status": {"privacyStatus": "public"},
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=11, clock=clock, epoch=START).running() as running:
        yield running


@pytest.fixture
def yt(sandbox: Sandbox) -> Any:
    return google_api(sandbox, "youtube", "v3", REFRESH_TOKEN)


def _broadcast(yt: Any, **snippet: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(LIVE_BODY))
    body["snippet"].update(snippet)
    return dict(
        yt.liveBroadcasts().insert(part="snippet,status,contentDetails", body=body).execute()
    )


def _stream(yt: Any) -> dict[str, Any]:
    body = {
        "snippet": {"title": "Encoder"},
        "cdn": {"ingestionType": "rtmp", "resolution": "variable", "frameRate": "variable"},
    }
    return dict(yt.liveStreams().insert(part="snippet,cdn,status", body=body).execute())


def _upload(yt: Any, data: bytes, *, chunksize: int = -1, **status: Any) -> Any:
    media = MediaIoBaseUpload(
        io.BytesIO(data), mimetype="video/mp4", chunksize=chunksize, resumable=True
    )
    body = {
        "snippet": {"title": "Replay", "description": "Le replay"},
        "status": {"privacyStatus": "public", **status},
    }
    return yt.videos().insert(part="snippet,status", body=body, media_body=media)


# -- live broadcasts ---------------------------------------------------------------------------


def test_broadcast_insert_answers_youtube_resource(sandbox: Sandbox, yt: Any) -> None:
    broadcast = _broadcast(yt)
    assert broadcast["kind"] == "youtube#liveBroadcast"
    assert len(broadcast["id"]) == 11 and broadcast["etag"]
    assert broadcast["snippet"]["channelId"] == CHANNEL_ID
    assert broadcast["snippet"]["scheduledStartTime"] == "2027-12-09T17:00:00Z"
    assert broadcast["snippet"]["publishedAt"] == "2027-12-01T09:00:00Z"
    assert broadcast["status"] == {
        "lifeCycleStatus": "created",
        "privacyStatus": "public",
        "recordingStatus": "notRecording",
        "madeForKids": False,
        "selfDeclaredMadeForKids": False,
    }
    assert broadcast["contentDetails"]["monitorStream"]["enableMonitorStream"] is True
    (entry,) = sandbox.journal.entries(
        network="youtube", method="POST", path="/youtube/v3/liveBroadcasts"
    )
    assert entry.host == "youtube.googleapis.com"
    assert (
        "part=snippet%2Cstatus%2CcontentDetails" in entry.query
        or "part=snippet,status,contentDetails" in entry.query
    )
    assert entry.json_body()["snippet"]["title"] == "Live Q&A — module 3"
    assert entry.headers["authorization"] == "***"
    # the session's follower bump is dated at its scheduled start
    (pub,) = [p for p in sandbox.audience._publications if p.remote_id == broadcast["id"]]
    assert pub.kind == "live" and pub.at == datetime(2027, 12, 9, 17, tzinfo=UTC)


def test_only_the_asked_parts_come_back(yt: Any) -> None:
    broadcast = yt.liveBroadcasts().insert(part="id,snippet", body=LIVE_BODY).execute()
    assert set(broadcast) == {"kind", "etag", "id", "snippet"}


def test_lifecycle_created_ready_testing_live_complete(yt: Any) -> None:
    broadcast, stream = _broadcast(yt), _stream(yt)
    assert stream["cdn"]["ingestionInfo"]["ingestionAddress"] == "rtmp://a.rtmp.youtube.com/live2"
    bound = (
        yt.liveBroadcasts()
        .bind(part="status,contentDetails", id=broadcast["id"], streamId=stream["id"])
        .execute()
    )
    assert bound["status"]["lifeCycleStatus"] == "ready"
    assert bound["contentDetails"]["boundStreamId"] == stream["id"]
    states = []
    for target in ("testing", "live", "complete"):
        answer = (
            yt.liveBroadcasts()
            .transition(part="status,snippet", id=broadcast["id"], broadcastStatus=target)
            .execute()
        )
        states.append(answer["status"]["lifeCycleStatus"])
    assert states == ["testing", "live", "complete"]
    assert answer["snippet"]["actualStartTime"] and answer["snippet"]["actualEndTime"]
    assert answer["status"]["recordingStatus"] == "recorded"


def test_transition_errors_are_youtubes(yt: Any) -> None:
    broadcast = _broadcast(yt)
    status, error = google_error(
        yt.liveBroadcasts().transition(part="status", id=broadcast["id"], broadcastStatus="testing")
    )
    assert status == 403 and error["errors"][0]["reason"] == "errorStreamInactive"
    yt.liveBroadcasts().bind(part="id", id=broadcast["id"], streamId=_stream(yt)["id"]).execute()
    status, error = google_error(
        yt.liveBroadcasts().transition(part="status", id=broadcast["id"], broadcastStatus="live")
    )  # monitor stream: test first
    assert status == 403 and error["errors"][0] == {
        "message": "Invalid transition",
        "domain": "youtube.liveBroadcast",
        "reason": "invalidTransition",
    }
    yt.liveBroadcasts().transition(
        part="status", id=broadcast["id"], broadcastStatus="testing"
    ).execute()
    status, error = google_error(
        yt.liveBroadcasts().transition(part="status", id=broadcast["id"], broadcastStatus="testing")
    )
    assert status == 403 and error["errors"][0]["reason"] == "redundantTransition"
    status, error = google_error(
        yt.liveBroadcasts().transition(part="status", id="nope", broadcastStatus="live")
    )
    assert status == 404 and error["errors"][0]["reason"] == "liveBroadcastNotFound"


def test_broadcast_list_filters(yt: Any) -> None:
    first, second = _broadcast(yt), _broadcast(yt, title="Deuxième live")
    listed = yt.liveBroadcasts().list(part="snippet", broadcastStatus="upcoming").execute()
    assert listed["kind"] == "youtube#liveBroadcastListResponse"
    assert [b["id"] for b in listed["items"]] == [first["id"], second["id"]]
    assert listed["pageInfo"] == {"totalResults": 2, "resultsPerPage": 5}
    by_id = yt.liveBroadcasts().list(part="id", id=second["id"]).execute()
    assert [b["id"] for b in by_id["items"]] == [second["id"]]
    assert yt.liveBroadcasts().list(part="id", broadcastStatus="completed").execute()["items"] == []
    status, error = google_error(yt.liveBroadcasts().list(part="id"))
    assert status == 400 and error["errors"][0]["reason"] == "missingRequiredParameter"


def test_deleting_a_broadcast_takes_back_its_audience(sandbox: Sandbox, yt: Any) -> None:
    broadcast = _broadcast(yt)
    yt.liveBroadcasts().delete(id=broadcast["id"]).execute()
    assert sandbox.state()["networks"]["youtube"]["broadcasts"] == []
    assert not [p for p in sandbox.audience._publications if p.remote_id == broadcast["id"]]


# -- uploads -----------------------------------------------------------------------------------


def test_resumable_upload_in_chunks(sandbox: Sandbox, yt: Any) -> None:
    data = bytes(range(256)) * 1536  # 384 KiB: two chunks of 256 KiB
    request = _upload(yt, data, chunksize=256 * 1024)
    progress, video = request.next_chunk()
    assert video is None and progress.resumable_progress == 256 * 1024
    progress, video = request.next_chunk()
    assert video["kind"] == "youtube#video" and video["snippet"]["title"] == "Replay"
    assert video["status"]["privacyStatus"] == "public"
    start, *chunks = sandbox.journal.entries(network="youtube", path="/upload/youtube/v3/videos")
    assert start.method == "POST" and "uploadType=resumable" in start.query
    assert start.headers["x-upload-content-type"] == "video/mp4"
    assert start.headers["x-upload-content-length"] == str(len(data))
    assert start.json_body()["snippet"]["description"] == "Le replay"
    assert [c.status for c in chunks] == [308, 200]
    assert chunks[0].headers["content-range"] == f"bytes 0-262143/{len(data)}"
    assert chunks[1].headers["content-range"] == f"bytes 262144-{len(data) - 1}/{len(data)}"
    assert chunks[0].body == "<262144 bytes>"
    (stored,) = sandbox.state()["networks"]["youtube"]["videos"]
    assert stored["url"] == f"https://www.youtube.com/watch?v={video['id']}"


def test_resumable_protocol_by_hand(sandbox: Sandbox) -> None:
    http = sandbox.transport().http_factory()
    http.redirect_codes = http.redirect_codes - {308}
    auth = {"authorization": f"Bearer {ACCESS_TOKEN}", "content-type": "application/json"}
    url = "https://www.googleapis.com/upload/youtube/v3/videos?uploadType=resumable&part=snippet"
    resp, _ = http.request(
        url,
        "POST",
        json.dumps({"snippet": {"title": "T"}}),
        {**auth, "x-upload-content-length": "10", "x-upload-content-type": "video/mp4"},
    )
    assert resp.status == 200
    session = resp["location"]
    assert session.startswith("https://www.googleapis.com/upload/youtube/v3/videos?")
    assert "upload_id=" in session
    resp, _ = http.request(session, "PUT", b"", {**auth, "content-range": "bytes */10"})
    assert resp.status == 308 and "range" not in resp
    resp, _ = http.request(session, "PUT", b"01234", {**auth, "content-range": "bytes 0-4/10"})
    assert resp.status == 308 and resp["range"] == "bytes=0-4"
    resp, body = http.request(session, "PUT", b"56789", {**auth, "content-range": "bytes 5-9/10"})
    assert resp.status == 200
    video = json.loads(body)
    # re-sending the last chunk answers the same video: no second one
    resp, again = http.request(session, "PUT", b"56789", {**auth, "content-range": "bytes 5-9/10"})
    assert resp.status == 200 and json.loads(again)["id"] == video["id"]
    assert len(sandbox.state()["networks"]["youtube"]["videos"]) == 1


def test_multipart_upload(sandbox: Sandbox, yt: Any) -> None:
    media = MediaIoBaseUpload(io.BytesIO(b"\x00video-bytes"), mimetype="video/mp4", resumable=False)
    video = (
        yt.videos()
        .insert(part="snippet", body={"snippet": {"title": "Court"}}, media_body=media)
        .execute()
    )
    assert video["snippet"]["title"] == "Court" and "status" not in video
    (entry,) = sandbox.journal.entries(network="youtube", path="/upload/youtube/v3/videos")
    assert "uploadType=multipart" in entry.query
    assert entry.headers["content-type"].startswith("multipart/related")


def test_upload_metadata_is_checked(yt: Any) -> None:
    status, error = google_error(_upload(yt, b"x", publishAt="2027-12-24T09:00:00Z"))
    assert status == 400 and error["errors"][0]["reason"] == "invalidPublishAt"
    request = yt.videos().insert(
        part="snippet",
        body={"snippet": {"title": "<b>Replay</b>"}},
        media_body=MediaIoBaseUpload(io.BytesIO(b"x"), mimetype="video/mp4", resumable=True),
    )
    status, error = google_error(request)
    assert status == 400 and error["errors"][0] == {
        "message": "The request metadata specifies an invalid or empty title.",
        "domain": "youtube.video",
        "reason": "invalidTitle",
    }


def test_unaudited_projects_upload_private(sandbox: Sandbox, yt: Any) -> None:
    sandbox.emulator("youtube").project_audited = False  # type: ignore[attr-defined]
    video = _upload(yt, b"bytes").execute()
    assert video["status"]["privacyStatus"] == "private"


# -- reads -------------------------------------------------------------------------------------


def test_video_statistics_are_strings_that_grow(clock: ManualClock, yt: Any) -> None:
    video = _upload(yt, b"bytes").execute()
    clock.advance(timedelta(hours=30))
    answer = yt.videos().list(part="statistics,snippet", id=f"{video['id']},unknown").execute()
    (item,) = answer["items"]
    stats = item["statistics"]
    assert set(stats) == {"viewCount", "likeCount", "favoriteCount", "commentCount"}
    assert all(isinstance(v, str) for v in stats.values()) and int(stats["viewCount"]) > 0


def test_channel_statistics(sandbox: Sandbox, clock: ManualClock, yt: Any) -> None:
    clock.advance(timedelta(days=20))
    answer = yt.channels().list(part="statistics,snippet", mine=True).execute()
    (channel,) = answer["items"]
    assert channel["id"] == CHANNEL_ID and channel["kind"] == "youtube#channel"
    exact = sandbox.audience.followers("youtube", CHANNEL_ID, clock.now())
    assert channel["statistics"]["subscriberCount"] == str(three_significant(exact))
    assert channel["statistics"]["hiddenSubscriberCount"] is False
    assert channel["snippet"]["customUrl"] == "@managerleader20"


def test_three_significant_figures() -> None:
    assert [three_significant(n) for n in (999, 2437, 12_345, 1_234_567)] == [
        999,
        2430,
        12_300,
        1_230_000,
    ]


def test_comment_threads(clock: ManualClock, yt: Any) -> None:
    video = _upload(yt, b"bytes").execute()
    clock.advance(timedelta(days=3))
    answer = yt.commentThreads().list(part="snippet", videoId=video["id"], maxResults=5).execute()
    assert answer["kind"] == "youtube#commentThreadListResponse"
    assert len(answer["items"]) == 5 and answer["pageInfo"]["totalResults"] >= 5
    top = answer["items"][0]["snippet"]["topLevelComment"]["snippet"]
    assert top["videoId"] == video["id"] and top["textOriginal"] and top["authorDisplayName"]
    status, error = google_error(yt.commentThreads().list(part="snippet", videoId="missing"))
    assert status == 404 and error["errors"][0]["reason"] == "videoNotFound"


def test_delete_video(sandbox: Sandbox, yt: Any) -> None:
    video = _upload(yt, b"bytes").execute()
    yt.videos().delete(id=video["id"]).execute()
    (entry,) = sandbox.journal.entries(method="DELETE")
    assert entry.status == 204
    status, error = google_error(yt.videos().delete(id=video["id"]))
    assert status == 404 and error["errors"][0]["reason"] == "videoNotFound"


def test_served_on_www_googleapis_com_too(sandbox: Sandbox) -> None:
    http = sandbox.transport().http_factory()
    resp, body = http.request(
        "https://www.googleapis.com/youtube/v3/channels?part=id&mine=true",
        headers={"authorization": f"Bearer {ACCESS_TOKEN}"},
    )
    assert resp.status == 200 and json.loads(body)["items"][0]["id"] == CHANNEL_ID
    (entry,) = sandbox.journal.entries(network="youtube")
    assert entry.host == "www.googleapis.com"


# -- malformed requests ------------------------------------------------------------------------


def test_unknown_part_is_unknownPart(yt: Any) -> None:
    status, error = google_error(yt.videos().list(part="snipet", id="x"))
    assert status == 400
    assert error == {
        "code": 400,
        "message": "'snipet'",
        "errors": [
            {
                "message": "'snipet'",
                "domain": "youtube.part",
                "reason": "unknownPart",
                "location": "part",
                "locationType": "parameter",
            }
        ],
    }


def test_missing_required_field_and_unknown_field(yt: Any) -> None:
    body = {
        "snippet": {"scheduledStartTime": "2027-12-09T17:00:00Z"},
        "status": {"privacyStatus": "public"},
    }
    status, error = google_error(yt.liveBroadcasts().insert(part="snippet,status", body=body))
    assert status == 400 and error["message"] == "Required field missing: snippet.title"
    body = json.loads(json.dumps(LIVE_BODY))
    body["snippet"]["titel"] = "typo"
    status, error = google_error(yt.liveBroadcasts().insert(part="snippet,status", body=body))
    assert status == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        "Invalid JSON payload received. Unknown name \"titel\" at 'resource.snippet': "
        "Cannot find field."
    )
    body = json.loads(json.dumps(LIVE_BODY))
    body["status"]["privacyStatus"] = "everyone"
    status, error = google_error(yt.liveBroadcasts().insert(part="snippet,status", body=body))
    assert status == 400 and "TYPE_ENUM" in error["message"]


def test_missing_required_parameter(sandbox: Sandbox) -> None:
    http = sandbox.transport().http_factory()
    resp, body = http.request(
        "https://youtube.googleapis.com/youtube/v3/videos?id=x",
        headers={"authorization": f"Bearer {ACCESS_TOKEN}"},
    )
    assert resp.status == 400
    assert json.loads(body)["error"]["errors"][0] == {
        "message": "Required parameter: part",
        "domain": "global",
        "reason": "required",
        "location": "part",
        "locationType": "parameter",
    }


def test_unknown_path_is_a_google_404(sandbox: Sandbox) -> None:
    http = sandbox.transport().http_factory()
    resp, body = http.request("https://www.googleapis.com/youtube/v3/nothing-here")
    assert resp.status == 404 and json.loads(body)["error"]["status"] == "NOT_FOUND"


# -- auth, quota, faults -----------------------------------------------------------------------


def test_tokens_last_one_hour_and_401_is_googles(sandbox: Sandbox, clock: ManualClock) -> None:
    assert _raw(sandbox, "/youtube/v3/channels?part=id&mine=true")[0].status == 200
    clock.advance(timedelta(minutes=61))
    resp, body = _raw(sandbox, "/youtube/v3/channels?part=id&mine=true")
    error = json.loads(body)["error"]
    assert resp.status == 401 and error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"
    assert error["message"].startswith("Request had invalid authentication credentials.")
    assert 'error="invalid_token"' in resp["www-authenticate"]
    resp, body = _raw(sandbox, "/youtube/v3/channels?part=id&mine=true", token=None)
    assert resp.status == 401 and json.loads(body)["error"]["errors"][0]["reason"] == "required"


def test_refresh_gives_a_working_token(sandbox: Sandbox, clock: ManualClock, yt: Any) -> None:
    clock.advance(timedelta(hours=5))
    assert yt.channels().list(part="id", mine=True).execute()["items"]
    (refresh,) = sandbox.journal.entries(network="google", path="/token")
    assert "refresh_token=***" in refresh.body and "client_secret=***" in refresh.body


def test_a_calendar_token_lacks_youtube_scope(sandbox: Sandbox) -> None:
    yt = google_api(
        sandbox,
        "youtube",
        "v3",
        token="meet-sandbox-access-equipe-pedagogique@managerleader20.example",
    )
    status, error = google_error(yt.channels().list(part="id", mine=True))
    assert status == 403 and error["errors"][0]["reason"] == "insufficientPermissions"


def test_quota_exhaustion_and_pacific_midnight_reset(
    sandbox: Sandbox, clock: ManualClock, yt: Any
) -> None:
    emulator: Any = sandbox.emulator("youtube")
    emulator.quota.daily_units = 102
    _broadcast(yt)  # 50
    google_error(yt.videos().list(part="nope", id="x"))  # invalid: 1
    yt.videos().list(part="id", id="x").execute()  # 1
    assert sandbox.state()["networks"]["youtube"]["quota"]["used"] == 52
    _broadcast(yt, title="Deuxième live")  # 52 + 50 = 102: exactly the day's units
    status, error = google_error(yt.videos().list(part="id", id="x"))
    assert status == 403 and error["errors"][0]["domain"] == "youtube.quota"
    assert error["errors"][0]["reason"] == "quotaExceeded"
    clock.set(datetime(2027, 12, 1, 7, 59, tzinfo=UTC) + timedelta(days=1))  # 23:59 PST
    assert google_error(yt.videos().list(part="id", id="x"))[0] == 403
    clock.advance(timedelta(minutes=1))  # midnight in Los Angeles
    assert yt.videos().list(part="id", id="x").execute()["items"] == []


def test_upload_bucket_of_the_day(sandbox: Sandbox, yt: Any) -> None:
    sandbox.emulator("youtube").quota.daily_uploads = 1  # type: ignore[attr-defined]
    _upload(yt, b"one").execute()
    status, error = google_error(_upload(yt, b"two"))
    assert status == 403 and error["errors"][0]["reason"] == "quotaExceeded"
    assert "videos.insert" in error["message"]


def test_faults_are_rendered_the_google_way(sandbox: Sandbox, yt: Any) -> None:
    sandbox.faults.add("youtube:429@once,youtube:503@once")
    resp, body = _raw(sandbox, "/youtube/v3/channels?part=id&mine=true")
    assert resp.status == 429 and resp["retry-after"] == "60"
    assert json.loads(body)["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    assert resp["date"] == "Wed, 01 Dec 2027 09:00:00 GMT"  # the sandbox clock
    resp, body = _raw(sandbox, "/youtube/v3/channels?part=id&mine=true")
    assert resp.status == 503 and json.loads(body)["error"]["errors"][0]["reason"] == "backendError"


def _raw(sandbox: Sandbox, path: str, token: str | None = ACCESS_TOKEN) -> Any:
    http = sandbox.transport().http_factory()
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return http.request(f"https://youtube.googleapis.com{path}", headers=headers)


def test_environment_and_state(sandbox: Sandbox) -> None:
    env = sandbox.env()
    assert env["CM_YOUTUBE_REFRESH_TOKEN"] == REFRESH_TOKEN
    assert env["CM_GOOGLE_CLIENT_ID"].endswith(".apps.googleusercontent.com")
    state = sandbox.state()["networks"]["youtube"]
    assert state["channels"][CHANNEL_ID]["title"] == "Du Manager au Leader 2.0"
    assert state["quota"]["daily_units"] == 10_000
