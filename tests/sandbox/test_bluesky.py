"""The Bluesky emulator over HTTP (httpx through the sandbox's transport, as atproto sends):
lexicon checks, XRPC errors and limits, sessions, idempotent record keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from cm_toolkit.sandbox.bluesky import BlueskyEmulator, lexicon
from cm_toolkit.sandbox.bluesky.base import MOOC_HANDLE, PDS_HOST
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PDS = f"https://{PDS_HOST}/xrpc"
NOW = "2027-03-01T09:00:00.000Z"


class Env:
    def __init__(self, sandbox: Sandbox, clock: ManualClock) -> None:
        self.sandbox, self.clock = sandbox, clock
        self.http = httpx.Client(transport=sandbox.transport(timeout=5).httpx_transport)
        self.password = sandbox.env()["CM_BLUESKY_APP_PASSWORD"]
        session = self.sign_in().json()
        self.did, self.access, self.refresh = (session["did"], session["accessJwt"],
                                               session["refreshJwt"])

    def sign_in(self, password: str | None = None) -> httpx.Response:
        return self.http.post("https://bsky.social/xrpc/com.atproto.server.createSession",
                              json={"identifier": MOOC_HANDLE,
                                    "password": password or self.password})

    def call(self, method: str, nsid: str, token: str | None = "", **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.access}"
        return self.http.request(method, f"{PDS}/{nsid}", headers=headers, **kwargs)

    def create(self, record: dict[str, Any], **extra: Any) -> httpx.Response:
        body = {"repo": self.did, "collection": "app.bsky.feed.post", "record": record, **extra}
        return self.call("POST", "com.atproto.repo.createRecord", json=body)

    @property
    def emulator(self) -> BlueskyEmulator:
        return self.sandbox.emulator_of(BlueskyEmulator)


@pytest.fixture
def env() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=7, clock=clock).running() as sandbox:
        env = Env(sandbox, clock)
        yield env
        env.http.close()


def post(text: str, **extra: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": NOW, **extra}


def test_a_valid_post_is_created_with_the_lexicon_s_answer(env: Env) -> None:
    answer = env.create(post("Bonjour 👋🏽 https://mooc.example.org", facets=[{
        "index": {"byteStart": 15, "byteEnd": 38},
        "features": [{"$type": "app.bsky.richtext.facet#link",
                      "uri": "https://mooc.example.org"}]}]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["uri"].startswith(f"at://{env.did}/app.bsky.feed.post/")
    assert lexicon.check_body("com.atproto.repo.createRecord", body, "output") == []
    assert body["uri"] in [p["uri"] for p in env.sandbox.state()["networks"]["bluesky"][
        "accounts"][MOOC_HANDLE]["posts"]]


@pytest.mark.parametrize(("record", "said"), [
    (post("é" * 301), "record/text: more than 300 graphemes"),
    ({"$type": "app.bsky.feed.post", "text": "no date"}, "record/createdAt: required"),
    (post("x", createdAt="yesterday"), "record/createdAt: not a valid datetime"),
    (post("x", langs=["fr", "en", "de", "it"]), "record/langs: more than 3 items"),
    (post("x", facets=[{"index": {"byteStart": 0, "byteEnd": 9},
                        "features": [{"$type": "app.bsky.richtext.facet#mention",
                                      "did": "not-a-did"}]}]),
     "record/facets/0/features/0/did: not a valid did"),
    (post("abc", facets=[{"index": {"byteStart": 1, "byteEnd": 9},
                          "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "a"}]}]),
     "record/facets/0/index: bytes 1..9 are not inside the text's 3 bytes"),
    (post("x", embed={"$type": "app.bsky.embed.external",
                      "external": {"uri": "https://a.example", "title": "t"}}),
     "record/embed/external/description: required"),
    (post("x", embed={"$type": "app.bsky.embed.images", "images": [{
        "alt": "", "image": {"$type": "blob", "ref": {"$link": "bafkreinope"},
                             "mimeType": "image/png", "size": 3}}]}),
     "record/embed/images/0/image: could not find blob bafkreinope"),
])
def test_records_that_break_the_lexicon_are_invalid_requests(
    env: Env, record: dict[str, Any], said: str
) -> None:
    answer = env.create(record)
    assert answer.status_code == 400
    assert answer.json()["error"] == "InvalidRequest"
    assert said in answer.json()["message"]
    assert env.sandbox.state()["networks"]["bluesky"]["accounts"][MOOC_HANDLE]["posts"] == []


def test_record_keys_must_be_tids_and_a_key_is_written_once(env: Env) -> None:
    bad = env.create(post("x"), rkey="my-post")
    assert bad.status_code == 400 and "is not a TID" in bad.json()["message"]
    first = env.create(post("once"), rkey="3kabcdefghijk")
    assert first.status_code == 200, first.text
    again = env.create(post("once"), rkey="3kabcdefghijk")  # as the reference PDS answers today
    assert again.status_code == 500 and again.json()["error"] == "InternalServerError"
    got = env.call("GET", "com.atproto.repo.getRecord", params={
        "repo": env.did, "collection": "app.bsky.feed.post", "rkey": "3kabcdefghijk"})
    assert got.json()["value"]["text"] == "once"
    missing = env.call("GET", "com.atproto.repo.getRecord", params={
        "repo": env.did, "collection": "app.bsky.feed.post", "rkey": "3kaaaaaaaaaaa"})
    assert missing.status_code == 400 and missing.json()["error"] == "RecordNotFound"


def test_tokens_missing_unknown_and_expired(env: Env) -> None:
    none = env.call("POST", "com.atproto.repo.deleteRecord", token=None, json={})
    assert (none.status_code, none.json()["error"]) == (401, "AuthenticationRequired")
    unknown = env.call("POST", "com.atproto.repo.createRecord", token="e30.e30.e30", json={})
    assert (unknown.status_code, unknown.json()["error"]) == (400, "InvalidToken")
    env.clock.advance(timedelta(hours=2, seconds=1))
    expired = env.create(post("late"))
    assert (expired.status_code, expired.json()["error"]) == (400, "ExpiredToken")
    fresh = env.http.post("https://bsky.social/xrpc/com.atproto.server.refreshSession",
                          headers={"Authorization": f"Bearer {env.refresh}"})
    assert fresh.status_code == 200
    assert env.create(post("late")).status_code == 400  # the old access token stays expired
    env.access = fresh.json()["accessJwt"]
    assert env.create(post("late")).status_code == 200
    spent = env.http.post("https://bsky.social/xrpc/com.atproto.server.refreshSession",
                          headers={"Authorization": f"Bearer {env.refresh}"})
    assert (spent.status_code, spent.json()["error"]) == (400, "InvalidToken")  # rotated


def test_sign_in_is_limited_to_30_per_5_minutes_with_ratelimit_headers(env: Env) -> None:
    wrong = env.sign_in("not-the-password")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "AuthenticationRequired")
    for _ in range(28):  # 2 sign-ins so far
        assert env.sign_in().status_code == 200
    refused = env.sign_in()
    assert (refused.status_code, refused.json()["error"]) == (429, "RateLimitExceeded")
    assert refused.headers["ratelimit-limit"] == "30"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == "30;w=300"
    reset = datetime.fromtimestamp(int(refused.headers["ratelimit-reset"]), UTC)
    assert START < reset <= START + timedelta(minutes=5)
    env.clock.advance(timedelta(minutes=5, seconds=1))
    assert env.sign_in().status_code == 200


def test_record_creation_points_5000_an_hour_a_create_costs_3(env: Env) -> None:
    ok = env.create(post("one"))
    assert ok.headers["ratelimit-policy"] == "5000;w=3600"
    assert ok.headers["ratelimit-remaining"] == "4997"
    # the hour's points nearly spent (as 1,665 more creates would): one more create is refused
    env.emulator.limit_state[(f"points:{env.did}", "points-hour")][0] = (START, 4998)
    refused = env.create(post("two"))
    assert (refused.status_code, refused.json()["error"]) == (429, "RateLimitExceeded")
    assert refused.headers["ratelimit-remaining"] == "0"


def test_blobs_must_be_what_they_say_and_an_unknown_method_is_not_implemented(env: Env) -> None:
    lying = env.call("POST", "com.atproto.repo.uploadBlob", content=b"GIF89a...",
                     headers={"Content-Type": "image/png"})
    assert lying.status_code == 400 and "not image/png" in lying.json()["message"]
    nope = env.call("GET", "app.bsky.feed.getTimeline")
    assert (nope.status_code, nope.json()["error"]) == (501, "MethodNotImplemented")


def test_query_parameters_are_checked(env: Env) -> None:
    many = env.call("GET", "app.bsky.feed.getPosts",
                    params=[("uris", f"at://{env.did}/app.bsky.feed.post/3k{n:011d}")
                            for n in range(26)])
    assert many.status_code == 400 and "params/uris: more than 25 items" in many.json()["message"]
    bad = env.call("GET", "app.bsky.actor.getProfile", params={"actor": "not a handle"})
    assert bad.status_code == 400 and "params/actor: not a valid at-identifier" in bad.text


def test_provisioning_serves_the_handle_a_workspace_names(env: Env) -> None:
    given = env.sandbox.provision([{"network": "bluesky",
                                    "account": {"handle": "labo-rh.example.org"},
                                    "secrets": {"app_password": "LABO_BSKY"}}])
    signed = env.http.post("https://bsky.social/xrpc/com.atproto.server.createSession",
                           json={"identifier": "labo-rh.example.org",
                                 "password": given["LABO_BSKY"]})
    assert signed.status_code == 200 and signed.json()["handle"] == "labo-rh.example.org"
    doc = signed.json()["didDoc"]
    assert doc["service"][0]["serviceEndpoint"] == f"https://{PDS_HOST}"
