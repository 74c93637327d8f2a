"""The X emulator, driven by tweepy (and plain requests for what tweepy lacks) over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import tweepy

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.x import XEmulator
from cm_toolkit.sandbox.x.base import MOOC_USER_ID

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
API = "https://api.x.com"
OAUTH1 = {
    "consumer_key": "x-sandbox-consumer-key",
    "consumer_secret": "x-sandbox-consumer-secret",
    "access_token": f"{MOOC_USER_ID}-x-sandbox-oauth1-managerleader20",
    "access_token_secret": "x-sandbox-oauth1-secret-managerleader20",
}


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class Env:
    def __init__(self, sandbox: Sandbox, clock: ManualClock) -> None:
        self.sandbox, self.clock = sandbox, clock
        self.transport = sandbox.transport(timeout=5)
        self.token = sandbox.env()["CM_X_ACCESS_TOKEN"]

    def client(self, token: str | None = None, **keys: str) -> Any:
        client = tweepy.Client(bearer_token=token or self.token, return_type=dict, **keys)
        client.session.mount("https://", self.transport.requests_adapter)
        return client

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount("https://", self.transport.requests_adapter)
        session.mount("http://", self.transport.requests_adapter)
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def refresh(self) -> None:
        """A new access token (the seeded one lives 2 hours on the sandbox clock)."""
        refresh_token = self.sandbox.env()["CM_X_REFRESH_TOKEN"]
        answer = _token(
            self,
            grant_type="refresh_token",
            refresh_token=refresh_token,
            client_id="x-sandbox-client-id",
        )
        self.token = answer.json()["access_token"]

    @property
    def x(self) -> XEmulator:
        return self.sandbox.emulator_of(XEmulator)


@pytest.fixture
def env() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=7, clock=clock).running() as sandbox:
        yield Env(sandbox, clock)


def error_of(call: Any) -> tuple[int, dict[str, Any], Any]:
    with pytest.raises(tweepy.HTTPException) as caught:
        call()
    response = caught.value.response
    return response.status_code, response.json(), response.headers


# -- posts ------------------------------------------------------------------------------------


def test_create_answers_201_with_x_shape_and_rate_headers(env: Env) -> None:
    client = env.client()
    answer = client.create_tweet(
        text="Bonjour « tous » & 🎉 https://mooc.example.org/a?b=1&c=2", user_auth=False
    )
    data = answer["data"]
    assert set(data) == {"id", "text", "edit_history_tweet_ids"}
    assert data["edit_history_tweet_ids"] == [data["id"]] and len(data["id"]) == 19
    assert data["text"] == "Bonjour « tous » & 🎉 https://mooc.example.org/a?b=1&c=2"
    [entry] = env.sandbox.journal.entries(network="x", method="POST", path="/2/tweets")
    assert entry.status == 201 and entry.host == "api.twitter.com"
    assert entry.json_body() == {"text": data["text"]}
    assert entry.headers["authorization"] == "***"
    response = env.session().post(f"{API}/2/tweets", json={"text": "second"})
    assert response.status_code == 201
    assert response.headers["x-rate-limit-limit"] == "100"
    assert response.headers["x-rate-limit-remaining"] == "98"
    reset = int(response.headers["x-rate-limit-reset"])
    assert reset == int((START + timedelta(minutes=15)).timestamp())
    assert response.headers["x-app-limit-24hour-limit"] == "10000"


def test_duplicate_text_is_a_403_problem(env: Env) -> None:
    client = env.client()
    client.create_tweet(text="Même texte", user_auth=False)
    status, body, _ = error_of(lambda: client.create_tweet(text="Même texte", user_auth=False))
    assert status == 403
    assert body == {
        "title": "Forbidden",
        "type": "about:blank",
        "status": 403,
        "detail": "You are not allowed to create a Tweet with duplicate content.",
    }


def test_text_over_280_weighted_is_a_400_but_urls_count_23(env: Env) -> None:
    client = env.client()
    url = "https://mooc.example.org/" + "x" * 200
    client.create_tweet(text="a" * 256 + " " + url, user_auth=False)  # 256 + 1 + 23 = 280
    status, body, _ = error_of(lambda: client.create_tweet(text="é" * 141 * 2, user_auth=False))
    assert status == 400
    assert body["type"] == "https://api.x.com/2/problems/invalid-request"
    assert body["title"] == "Invalid Request"
    assert body["errors"][0]["message"].startswith("Your Tweet text is too long.")
    status, _, _ = error_of(lambda: client.create_tweet(text="🎉" * 141, user_auth=False))
    assert status == 400  # emoji weigh 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"text": "a", "colour": "red"},
            "$.colour: is not defined in the schema and the schema does not allow additional properties",
        ),
        ({"text": 12}, "$.text: integer found, string expected"),
        ({"text": "a", "reply": {}}, "$.reply.in_reply_to_tweet_id: is missing but it is required"),
        (
            {"text": "a", "reply_settings": "all"},
            "$.reply_settings: does not have a value in the enumeration [following, mentionedUsers, subscribers, verified]",
        ),
        (
            {"text": "a", "media": {"media_ids": ["1", "2", "3", "4", "5"]}},
            "$.media.media_ids: there must be a maximum of 4 items in the array",
        ),
        (
            {"text": "a", "quote_tweet_id": "abc"},
            "$.quote_tweet_id: does not match the regex pattern ^[0-9]{1,19}$",
        ),
    ],
)
def test_malformed_bodies_get_x_invalid_request(
    env: Env, body: dict[str, Any], message: str
) -> None:
    response = env.session().post(f"{API}/2/tweets", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"parameters": {}, "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    }
    assert env.x.tweets == {}


def test_media_poll_and_quote_are_mutually_exclusive(env: Env) -> None:
    body = {
        "text": "sondage",
        "poll": {"options": ["oui", "non"], "duration_minutes": 60},
        "quote_tweet_id": "1",
    }
    response = env.session().post(f"{API}/2/tweets", json=body)
    assert response.status_code == 400
    assert "mutually exclusive" in response.json()["errors"][0]["message"]


def test_query_parameters_are_validated(env: Env) -> None:
    client = env.client()
    status, body, _ = error_of(lambda: client.get_me(user_fields=["followers"], user_auth=False))
    assert status == 400
    assert body["errors"][0]["parameters"] == {"user.fields": ["followers"]}
    assert body["errors"][0]["message"].startswith(
        "The `user.fields` query parameter value [followers] is not one of [affiliation,"
    )
    response = env.session().get(f"{API}/2/tweets", params={"ids": "1", "colour": "red"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(
        "The query parameter [colour] is not one of [ids,"
    )
    response = env.session().get(f"{API}/2/tweets")
    assert response.json()["errors"][0]["message"] == "The `ids` query parameter can not be empty"


def test_delete_then_lookup_reports_not_found(env: Env) -> None:
    client = env.client()
    tweet_id = client.create_tweet(text="à supprimer", user_auth=False)["data"]["id"]
    assert client.delete_tweet(tweet_id, user_auth=False) == {"data": {"deleted": True}}
    status, body, _ = error_of(lambda: client.delete_tweet(tweet_id, user_auth=False))
    assert status == 404
    assert body["errors"][0]["type"] == "https://api.x.com/2/problems/resource-not-found"
    answer = client.get_tweets([tweet_id], user_auth=False)
    assert "data" not in answer
    assert answer["errors"][0]["detail"] == f"Could not find tweet with ids: [{tweet_id}]."


def test_rate_limit_429_always_carries_the_reset_headers(env: Env) -> None:
    session = env.session()
    for n in range(100):
        assert session.post(f"{API}/2/tweets", json={"text": f"post {n}"}).status_code == 201
    response = session.post(f"{API}/2/tweets", json={"text": "one too many"})
    assert response.status_code == 429
    assert response.json()["errors"] == [{"code": 88, "message": "Rate limit exceeded"}]
    assert response.json()["title"] == "Too Many Requests"
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert int(response.headers["x-rate-limit-reset"]) == int(
        (START + timedelta(minutes=15)).timestamp()
    )
    env.clock.advance(timedelta(minutes=15, seconds=1))
    assert session.post(f"{API}/2/tweets", json={"text": "after the window"}).status_code == 201


def test_injected_429_and_500_have_x_bodies_and_headers(env: Env) -> None:
    env.sandbox.faults.add("x:429@once")
    client = env.client()
    with pytest.raises(tweepy.TooManyRequests) as caught:
        client.get_me(user_auth=False)
    assert caught.value.response.headers["x-rate-limit-limit"] == "75"
    assert int(caught.value.response.headers["x-rate-limit-reset"]) == int(START.timestamp()) + 60
    env.sandbox.faults.add("x:503@once")
    status, body, headers = error_of(lambda: client.get_me(user_auth=False))
    assert (status, body["title"], body["status"]) == (503, "Service Unavailable", 503)
    assert "x-rate-limit-reset" in headers


def test_unknown_or_expired_tokens_get_401(env: Env) -> None:
    expected = {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    status, body, headers = error_of(lambda: env.client("not-a-token").get_me(user_auth=False))
    assert (status, body) == (401, expected) and "x-rate-limit-limit" in headers
    env.clock.advance(timedelta(hours=2))  # X access tokens live 2 hours
    status, body, _ = error_of(lambda: env.client().get_me(user_auth=False))
    assert (status, body) == (401, expected)


def test_unknown_path_is_x_page_does_not_exist(env: Env) -> None:
    response = env.session().get(f"{API}/2/nowhere")
    assert response.status_code == 404
    assert response.json() == {
        "errors": [{"message": "Sorry, that page does not exist", "code": 34}]
    }


# -- users, metrics, mentions -----------------------------------------------------------------


def test_users_me_followers_come_from_the_audience(env: Env) -> None:
    env.clock.advance(timedelta(days=10))
    env.refresh()
    data = env.client().get_me(user_fields=["public_metrics", "created_at"], user_auth=False)[
        "data"
    ]
    assert data["username"] == "ManagerLeader20" and data["id"] == MOOC_USER_ID
    expected = env.sandbox.audience.followers("x", MOOC_USER_ID, START + timedelta(days=10))
    assert data["public_metrics"]["followers_count"] == expected
    assert set(data["public_metrics"]) >= {"following_count", "tweet_count", "listed_count"}
    assert data["created_at"].endswith("Z")


def test_lookup_public_metrics_grow_from_the_audience(env: Env) -> None:
    client = env.client()
    tweet_id = client.create_tweet(text="Article https://mooc.example.org/a", user_auth=False)[
        "data"
    ]["id"]
    env.clock.advance(timedelta(days=2))
    env.refresh()
    client = env.client()
    [data] = client.get_tweets(
        [tweet_id], tweet_fields=["public_metrics", "created_at"], user_auth=False
    )["data"]
    seen = env.sandbox.audience.engagement("x", tweet_id, START, START + timedelta(days=2))
    assert data["public_metrics"]["impression_count"] == seen["views"] > 0
    assert data["public_metrics"]["like_count"] == seen["reactions"]
    assert data["public_metrics"]["retweet_count"] == seen["shares"]
    assert data["created_at"] == "2027-03-01T09:00:00.000Z"


def test_mentions_are_learners_replies_with_since_id_and_pages(env: Env) -> None:
    client = env.client()
    client.create_tweet(text="Vos questions sur le module 1 ?", user_auth=False)
    env.clock.advance(timedelta(days=3))
    env.refresh()
    client = env.client()
    first = client.get_users_mentions(
        MOOC_USER_ID, max_results=5, expansions=["author_id"], user_auth=False
    )
    assert first["meta"]["result_count"] == 5 and "next_token" in first["meta"]
    assert all(t["text"].startswith("@ManagerLeader20 ") for t in first["data"])
    assert {u["id"] for u in first["includes"]["users"]} <= {
        str(1460000000000000100 + i) for i in range(20)
    }
    ids = [int(t["id"]) for t in first["data"]]
    assert ids == sorted(ids, reverse=True)
    second = client.get_users_mentions(
        MOOC_USER_ID, max_results=5, pagination_token=first["meta"]["next_token"], user_auth=False
    )
    assert int(second["data"][0]["id"]) < ids[-1]
    newer = client.get_users_mentions(MOOC_USER_ID, since_id=str(ids[1]), user_auth=False)
    assert [t["id"] for t in newer["data"]] == [str(ids[0])]
    reply = client.create_tweet(text="Merci !", in_reply_to_tweet_id=str(ids[0]), user_auth=False)
    assert reply["data"]["id"]


# -- media ------------------------------------------------------------------------------------


def test_one_shot_image_upload_then_attach(env: Env) -> None:
    session = env.session()
    response = session.post(
        f"{API}/2/media/upload",
        files={"media": ("visuel.png", png(), "image/png")},
        data={"media_category": "tweet_image"},
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["media_key"] == f"3_{data['id']}" and data["size"] == len(png())
    assert data["expires_after_secs"] == 86400
    assert data["image"] == {"image_type": "image/png", "w": 3, "h": 2}
    entry = env.sandbox.journal.entries(path="/2/media/upload")[0]
    assert 'name="media_category"' in entry.body and "tweet_image" in entry.body
    answer = env.client().create_tweet(text="Visuel", media_ids=[data["id"]], user_auth=False)
    tweet = env.x.tweets[answer["data"]["id"]]
    assert tweet.media_keys == [data["media_key"]]


def test_upload_refuses_what_is_not_an_image_and_unknown_ids(env: Env) -> None:
    session = env.session()
    response = session.post(
        f"{API}/2/media/upload",
        files={"media": ("notes.txt", b"hello", "text/plain")},
        data={"media_category": "tweet_image"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "media type unrecognized."
    response = session.post(
        f"{API}/2/media/upload",
        files={"media": ("v.png", png(), "image/png")},
        data={"media_category": "poster"},
    )
    assert response.status_code == 400
    assert "$.media_category: does not have a value in the enumeration" in response.text
    response = session.post(f"{API}/2/tweets", json={"text": "x", "media": {"media_ids": ["123"]}})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Your media IDs are invalid."


def test_chunked_video_upload_is_processed_then_attachable(env: Env) -> None:
    session = env.session()
    video = b"\x00\x00\x00\x18ftypmp42" + b"v" * 3000
    init = session.post(
        f"{API}/2/media/upload/initialize",
        json={
            "media_type": "video/mp4",
            "total_bytes": len(video),
            "media_category": "tweet_video",
        },
    ).json()["data"]
    media_id = init["id"]
    assert init["media_key"] == f"7_{media_id}"
    for index, start in enumerate(range(0, len(video), 1024)):
        response = session.post(
            f"{API}/2/media/upload/{media_id}/append",
            files={"media": ("chunk", video[start : start + 1024], "application/octet-stream")},
            data={"segment_index": str(index)},
        )
        assert response.status_code == 200 and "expires_at" in response.json()["data"]
    final = session.post(f"{API}/2/media/upload/{media_id}/finalize").json()["data"]
    assert final["size"] == len(video)
    assert final["processing_info"]["state"] == "pending"
    not_ready = session.post(
        f"{API}/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}}
    )
    assert not_ready.status_code == 400
    states = [
        session.get(
            f"{API}/2/media/upload", params={"command": "STATUS", "media_id": media_id}
        ).json()["data"]["processing_info"]["state"]
        for _ in range(2)
    ]
    assert states == ["in_progress", "succeeded"]
    posted = session.post(f"{API}/2/tweets", json={"text": "v", "media": {"media_ids": [media_id]}})
    assert posted.status_code == 201


def test_finalize_checks_the_announced_size(env: Env) -> None:
    session = env.session()
    media_id = session.post(
        f"{API}/2/media/upload/initialize",
        json={"media_type": "video/mp4", "total_bytes": 100, "media_category": "tweet_video"},
    ).json()["data"]["id"]
    session.post(
        f"{API}/2/media/upload/{media_id}/append",
        files={"media": ("c", b"abc", "application/octet-stream")},
        data={"segment_index": "0"},
    )
    response = session.post(f"{API}/2/media/upload/{media_id}/finalize")
    assert response.status_code == 400 and "expected 100" in response.text


# -- authentication ---------------------------------------------------------------------------


def test_oauth1_signed_calls_are_accepted_and_bad_signatures_are_not(env: Env) -> None:
    client = tweepy.Client(return_type=dict, **OAUTH1)
    client.session.mount("https://", env.transport.requests_adapter)
    assert client.get_me(user_auth=True)["data"]["username"] == "ManagerLeader20"
    assert client.create_tweet(text="signé OAuth 1.0a", user_auth=True)["data"]["id"]
    forged = tweepy.Client(return_type=dict, **{**OAUTH1, "consumer_secret": "guess"})
    forged.session.mount("https://", env.transport.requests_adapter)
    with pytest.raises(tweepy.Unauthorized):
        forged.get_me(user_auth=True)


def _authorize(
    env: Env, verifier: str, scope: str = "tweet.read tweet.write users.read offline.access"
) -> str:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    session = env.session()
    response = session.get(
        "https://x.com/i/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "x-sandbox-client-id",
            "redirect_uri": "http://127.0.0.1:8765/callback",
            "scope": scope,
            "state": "s-42",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:8765/callback"
    )
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]
    return query["code"][0]


def _token(env: Env, **form: str) -> requests.Response:
    session = requests.Session()
    session.mount("https://", env.transport.requests_adapter)
    return session.post(f"{API}/2/oauth2/token", data=form)


def test_authorization_code_with_pkce_then_refresh_rotation(env: Env) -> None:
    verifier = "v" * 64
    code = _authorize(env, verifier)
    common = {"client_id": "x-sandbox-client-id", "redirect_uri": "http://127.0.0.1:8765/callback"}
    wrong = _token(
        env, grant_type="authorization_code", code=code, code_verifier="w" * 64, **common
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_request"
    response = _token(
        env, grant_type="authorization_code", code=code, code_verifier=verifier, **common
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 7200
    assert body["scope"] == "tweet.read tweet.write users.read offline.access"
    assert env.client(body["access_token"]).get_me(user_auth=False)["data"]["id"] == MOOC_USER_ID
    again = _token(
        env, grant_type="authorization_code", code=code, code_verifier=verifier, **common
    )
    assert again.status_code == 400  # a code is used once
    refreshed = _token(
        env,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        client_id="x-sandbox-client-id",
    ).json()
    assert refreshed["refresh_token"] != body["refresh_token"]
    with pytest.raises(tweepy.Unauthorized):  # the replaced access token stops working
        env.client(body["access_token"]).get_me(user_auth=False)
    spent = _token(
        env,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        client_id="x-sandbox-client-id",
    )
    assert spent.status_code == 400
    assert spent.json() == {
        "error": "invalid_request",
        "error_description": "Value passed for the token was invalid.",
    }


def test_scopes_are_enforced_and_codes_expire(env: Env) -> None:
    code = _authorize(env, "a" * 50, scope="tweet.read users.read")
    common = {"client_id": "x-sandbox-client-id", "redirect_uri": "http://127.0.0.1:8765/callback"}
    body = _token(
        env, grant_type="authorization_code", code=code, code_verifier="a" * 50, **common
    ).json()
    assert "refresh_token" not in body  # no offline.access
    with pytest.raises(tweepy.Forbidden):
        env.client(body["access_token"]).create_tweet(text="sans tweet.write", user_auth=False)
    late = _authorize(env, "b" * 50)
    env.clock.advance(timedelta(seconds=31))
    response = _token(
        env, grant_type="authorization_code", code=late, code_verifier="b" * 50, **common
    )
    assert response.status_code == 400


def test_seeded_refresh_token_keeps_working_for_the_sample_workspace(env: Env) -> None:
    seeded = env.sandbox.env()["CM_X_REFRESH_TOKEN"]
    for _ in range(2):
        response = _token(
            env, grant_type="refresh_token", refresh_token=seeded, client_id="x-sandbox-client-id"
        )
        assert response.status_code == 200
    earlier_run = "x-sandbox-refresh-managerleader20-99"
    assert (
        _token(
            env,
            grant_type="refresh_token",
            refresh_token=earlier_run,
            client_id="x-sandbox-client-id",
        ).status_code
        == 200
    )
    assert (
        _token(
            env,
            grant_type="refresh_token",
            refresh_token=earlier_run,
            client_id="x-sandbox-client-id",
        ).status_code
        == 400
    )


def test_confidential_clients_must_use_basic_auth(env: Env) -> None:
    seeded = env.sandbox.env()["CM_X_REFRESH_TOKEN"]
    response = _token(
        env,
        grant_type="refresh_token",
        refresh_token=seeded,
        client_id="x-sandbox-confidential-client-id",
    )
    assert response.status_code == 401 and response.json()["error"] == "unauthorized_client"


def test_state_and_environment(env: Env) -> None:
    env.client().create_tweet(text="pour l'état", user_auth=False)
    state = env.sandbox.state()["networks"]["x"]["accounts"]["ManagerLeader20"]
    assert state["id"] == MOOC_USER_ID and state["tweets"][0]["text"] == "pour l'état"
    assert set(env.sandbox.env()) >= {"CM_X_ACCESS_TOKEN", "CM_X_REFRESH_TOKEN", "CM_X_CLIENT_ID"}
    assert "x-sandbox-access" not in json.dumps(state)
