"""The Graph API emulator, driven by the real facebook-sdk through the sandbox transport."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.facebook import FacebookEmulator
from cm_toolkit.sandbox.server import Sandbox

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # its compile-time escape warning; see channels/facebook.py
    import facebook

START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
PAGE = "104857600123456"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


class Env:
    def __init__(self, sandbox: Sandbox, clock: ManualClock) -> None:
        self.sandbox, self.clock = sandbox, clock
        transport = sandbox.transport(timeout=5)
        self.session = requests.Session()
        self.session.mount("https://", transport.requests_adapter)
        self.session.mount("http://", transport.requests_adapter)
        self.env = sandbox.env()
        self.page = self.graph(self.env["CM_FACEBOOK_PAGE_TOKEN"])
        self.user = self.graph(self.env["CM_FACEBOOK_USER_TOKEN"])

    def graph(self, token: str | None) -> facebook.GraphAPI:
        client = facebook.GraphAPI(token, timeout=5, session=self.session)
        client.version = "v24.0"
        return client

    @property
    def emulator(self) -> FacebookEmulator:
        return self.sandbox.emulator_of(FacebookEmulator)

    def error(self, call: object) -> dict[str, object]:
        with pytest.raises(facebook.GraphAPIError) as caught:
            call()  # type: ignore[operator]
        body = caught.value.result["error"]
        assert isinstance(body, dict) and body["fbtrace_id"]
        return body

    def last(self) -> object:
        return self.sandbox.journal.entries(network="facebook")[-1]

    def raw(self, method: str, path: str, **kwargs: object) -> requests.Response:
        return self.session.request(method, f"https://graph.facebook.com{path}", **kwargs)


@pytest.fixture
def fb() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=11, clock=clock, epoch=START).running() as sandbox:
        yield Env(sandbox, clock)


# -- publishing ------------------------------------------------------------------------------


def test_feed_post_returns_page_scoped_id_and_journal_keeps_the_escaped_form(fb: Env) -> None:
    answer = fb.page.put_object(
        PAGE, "feed", message="Q&A: 100% = ça ?", link="https://e.org/a?b=c"
    )
    assert answer == {"id": f"{PAGE}_122100000000000001"}
    entry = fb.sandbox.journal.entries(method="POST", path=rf"/v24\.0/{PAGE}/feed")[0]
    form = parse_qs(entry.body)
    assert form["message"] == ["Q&A: 100% = ça ?"] and form["link"] == ["https://e.org/a?b=c"]
    assert form["access_token"] == ["***"]  # the journal never keeps the token
    assert fb.env["CM_FACEBOOK_PAGE_TOKEN"] not in json.dumps(entry.as_dict())
    feed = fb.page.get_connections(PAGE, "feed")
    assert feed["data"][0] == {
        "created_time": "2027-01-11T09:00:00+0000",
        "message": "Q&A: 100% = ça ?",
        "id": answer["id"],
    }


def test_every_answer_has_content_type_version_and_usage_headers(fb: Env) -> None:
    token = fb.env["CM_FACEBOOK_PAGE_TOKEN"]
    ok = fb.raw("GET", f"/v24.0/{PAGE}", params={"access_token": token})
    bad = fb.raw("GET", f"/v24.0/{PAGE}", params={"fields": "nope", "access_token": token})
    for response in (ok, bad):
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["facebook-api-version"] == "v24.0"
        assert set(json.loads(response.headers["x-app-usage"])) == {
            "call_count",
            "total_cputime",
            "total_time",
        }
        usage = json.loads(response.headers["x-business-use-case-usage"])
        assert usage[PAGE][0]["type"] == "pages"
    assert (
        bad.status_code == 400 and bad.json()["error"]["fbtrace_id"] == bad.headers["x-fb-trace-id"]
    )


def test_unversioned_paths_and_header_tokens_work(fb: Env) -> None:
    token = fb.env["CM_FACEBOOK_PAGE_TOKEN"]
    for scheme in ("Bearer", "OAuth"):
        answer = fb.raw("GET", f"/{PAGE}", headers={"Authorization": f"{scheme} {token}"})
        assert answer.json() == {"name": "Du Manager au Leader 2.0", "id": PAGE}


def test_booleans_must_be_graph_strings(fb: Env) -> None:
    body = fb.error(lambda: fb.page.put_object(PAGE, "feed", message="x", published=True))
    assert body["code"] == 100 and "published" in str(body["message"])


def test_duplicate_status_is_506(fb: Env) -> None:
    fb.page.put_object(PAGE, "feed", message="Same words")
    body = fb.error(lambda: fb.page.put_object(PAGE, "feed", message="Same words"))
    assert (body["code"], body["message"], body["type"]) == (
        506,
        "(#506) Duplicate status message",
        "OAuthException",
    )


def test_unknown_fields_and_post_parameters_are_code_100(fb: Env) -> None:
    body = fb.error(lambda: fb.page.get_object(PAGE, fields="followers_count,likes_total"))
    assert body["message"] == (
        "(#100) Tried accessing nonexisting field (likes_total) on node type (Page)"
    )
    body = fb.error(lambda: fb.page.put_object(PAGE, "feed", message="x", colour="red"))
    assert body["code"] == 100 and body["error_data"] == {"blame_field_specs": [["colour"]]}
    body = fb.error(lambda: fb.page.get_object(PAGE, fields="name{"))
    assert body["code"] == 2500 and str(body["message"]).startswith("Syntax error")


def test_malformed_requests_get_graphs_400(fb: Env) -> None:
    token = fb.env["CM_FACEBOOK_PAGE_TOKEN"]
    empty = fb.raw("POST", f"/v24.0/{PAGE}/feed", data={"access_token": token})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == 100
    no_token = fb.raw("GET", f"/v24.0/{PAGE}")
    assert no_token.status_code == 400 and no_token.json()["error"]["code"] == 104
    bad_link = fb.raw(
        "POST", f"/v24.0/{PAGE}/feed", data={"access_token": token, "link": "not a url"}
    )
    assert bad_link.json()["error"]["code"] == 100
    unknown = fb.raw("GET", f"/v24.0/{PAGE}/no_such_edge", params={"access_token": token})
    assert unknown.json()["error"] == {
        "message": "Unknown path components: /no_such_edge",
        "type": "OAuthException",
        "code": 2500,
        "fbtrace_id": unknown.headers["x-fb-trace-id"],
    }
    missing = fb.error(lambda: fb.page.get_object("999_1"))
    assert (missing["code"], missing["error_subcode"], missing["type"]) == (
        100,
        33,
        "GraphMethodException",
    )


def test_posting_needs_the_page_token(fb: Env) -> None:
    body = fb.error(lambda: fb.user.put_object(PAGE, "feed", message="as a user"))
    assert body["code"] == 200


def test_native_scheduling_window_and_publication(fb: Env) -> None:
    def at(delta: timedelta) -> str:
        return str(int((START + delta).timestamp()))

    for bad in (timedelta(minutes=5), timedelta(days=31)):
        body = fb.error(
            lambda b=bad: fb.page.put_object(
                PAGE, "feed", message="later", published="false", scheduled_publish_time=at(b)
            )
        )
        assert body["message"] == "(#100) The specified scheduled publish time is invalid."
    body = fb.error(
        lambda: fb.page.put_object(
            PAGE, "feed", message="later", scheduled_publish_time=at(timedelta(hours=1))
        )
    )
    assert body["code"] == 100
    post = fb.page.put_object(
        PAGE,
        "feed",
        message="later",
        published="false",
        scheduled_publish_time=at(timedelta(hours=2)),
    )
    scheduled = fb.page.get_connections(
        PAGE, "scheduled_posts", fields="id,message,scheduled_publish_time"
    )
    assert scheduled["data"] == [
        {
            "id": post["id"],
            "message": "later",
            "scheduled_publish_time": int(at(timedelta(hours=2))),
        }
    ]
    assert fb.page.get_connections(PAGE, "feed")["data"] == []
    fb.clock.advance(timedelta(hours=2))
    assert [p["id"] for p in fb.page.get_connections(PAGE, "feed")["data"]] == [post["id"]]
    assert fb.page.get_connections(PAGE, "scheduled_posts")["data"] == []


def test_photos_single_url_multipart_and_album(fb: Env) -> None:
    one = fb.page.put_photo(
        image=("a.png", PNG, "image/png"),
        album_path=f"{PAGE}/photos",
        message="Visuel",
        published="true",
    )
    assert set(one) == {"id", "post_id"} and one["post_id"].startswith(f"{PAGE}_")
    entry = fb.sandbox.journal.entries(path=rf"/v24\.0/{PAGE}/photos")[0]
    assert 'name="source"; filename="a.png"' in entry.body
    by_url = fb.page.put_object(PAGE, "photos", url="https://e.org/x.jpg", published="false")
    assert set(by_url) == {"id"}
    second = fb.page.put_photo(
        image=("b.jpg", JPEG, "image/jpeg"), album_path=f"{PAGE}/photos", published="false"
    )
    album = fb.page.put_object(
        PAGE,
        "feed",
        message="Album",
        **{
            "attached_media[0]": json.dumps({"media_fbid": by_url["id"]}),
            "attached_media[1]": json.dumps({"media_fbid": second["id"]}),
        },
    )
    post = fb.page.get_object(album["id"], fields="attachments,status_type")
    subs = post["attachments"]["data"][0]["subattachments"]["data"]
    assert [s["target"]["id"] for s in subs] == [by_url["id"], second["id"]]
    assert post["status_type"] == "added_photos"
    reused = fb.error(
        lambda: fb.page.put_object(
            PAGE,
            "feed",
            message="Again",
            **{"attached_media[0]": json.dumps({"media_fbid": second["id"]})},
        )
    )
    assert reused["code"] == 100


def test_photo_upload_errors(fb: Env) -> None:
    none = fb.error(lambda: fb.page.put_object(PAGE, "photos", message="no image"))
    assert (none["code"], none["message"]) == (324, "(#324) Requires upload file")
    text = fb.error(
        lambda: fb.page.put_photo(
            image=("a.png", b"not an image", "image/png"), album_path=f"{PAGE}/photos"
        )
    )
    assert text["code"] == 324
    big = PNG + b"\x00" * (4 * 1024 * 1024)
    large = fb.error(
        lambda: fb.page.put_photo(image=("a.png", big, "image/png"), album_path=f"{PAGE}/photos")
    )
    assert large["error_subcode"] == 1366046


def test_delete_and_missing_delete(fb: Env) -> None:
    post = fb.page.put_object(PAGE, "feed", message="Oops")
    assert fb.page.delete_object(post["id"]) == {"success": True}
    again = fb.error(lambda: fb.page.delete_object(post["id"]))
    assert again["error_subcode"] == 33
    fb.page.put_object(PAGE, "feed", message="Oops")  # no longer a duplicate once deleted


# -- reading ---------------------------------------------------------------------------------


def test_followers_and_engagement_shapes(fb: Env) -> None:
    page = fb.page.get_object(PAGE, fields="followers_count,fan_count,name")
    assert set(page) == {"followers_count", "fan_count", "name", "id"} - {"id"}
    assert page["followers_count"] > page["fan_count"] > 0
    post = fb.page.put_object(PAGE, "feed", message="Engage")
    fresh = fb.page.get_object(
        post["id"], fields="shares,reactions.summary(true),comments.summary(true)"
    )
    assert "shares" not in fresh  # Graph omits zero shares
    assert fresh["reactions"] == {
        "data": [],
        "summary": {"total_count": 0, "viewer_reaction": "NONE"},
    }
    fb.clock.advance(timedelta(days=2))
    later = fb.page.get_object(
        post["id"], fields="shares,reactions.summary(true),comments.summary(true)"
    )
    assert later["shares"]["count"] > 0 and later["reactions"]["summary"]["total_count"] > 0
    comments = later["comments"]
    assert comments["summary"]["total_count"] == len(comments["data"]) > 0
    assert set(comments["data"][0]) == {"created_time", "from", "message", "id"}


def test_comments_and_page_reply(fb: Env) -> None:
    post = fb.page.put_object(PAGE, "feed", message="Questions ?")
    fb.clock.advance(timedelta(days=1))
    comments = fb.page.get_connections(post["id"], "comments")["data"]
    assert comments
    question = comments[0]["id"]
    reply = fb.page.put_object(question, "comments", message="Le replay sera en ligne demain.")
    replies = fb.page.get_connections(question, "comments")["data"]
    assert [r["id"] for r in replies] == [reply["id"]]
    assert replies[0]["from"] == {"name": "Du Manager au Leader 2.0", "id": PAGE}


def test_feed_paging_follows_next(fb: Env) -> None:
    for index in range(3):
        fb.page.put_object(PAGE, "feed", message=f"Post {index}")
    ids = [p["id"] for p in fb.page.get_all_connections(PAGE, "feed", limit=2)]
    assert len(ids) == 3 and len(set(ids)) == 3


# -- tokens, OAuth, throttling, faults --------------------------------------------------------


def test_oauth_dialog_code_exchange_and_page_token(fb: Env) -> None:
    app_id, secret = fb.env["CM_FACEBOOK_APP_ID"], fb.env["CM_FACEBOOK_APP_SECRET"]
    dialog = fb.session.get(
        "https://www.facebook.com/v24.0/dialog/oauth",
        params={
            "client_id": app_id,
            "redirect_uri": "http://127.0.0.1:8765/cb",
            "state": "s1",
            "scope": "pages_manage_posts,pages_read_engagement",
        },
        allow_redirects=False,
    )
    assert dialog.status_code == 302
    query = parse_qs(urlsplit(dialog.headers["location"]).query)
    assert query["state"] == ["s1"]
    short = fb.graph(None).get_access_token_from_code(
        query["code"][0], "http://127.0.0.1:8765/cb", app_id, secret
    )
    assert short["expires_in"] == 3600
    used = fb.error(
        lambda: fb.graph(None).get_access_token_from_code(
            query["code"][0], "http://127.0.0.1:8765/cb", app_id, secret
        )
    )
    assert used["error_subcode"] == 36009
    long = fb.graph(short["access_token"]).extend_access_token(app_id, secret)
    assert long["expires_in"] == 60 * 86400
    accounts = fb.graph(long["access_token"]).get_connections("me", "accounts")["data"]
    page_token = accounts[0]["access_token"]
    assert accounts[0]["id"] == PAGE and "CREATE_CONTENT" in accounts[0]["tasks"]
    by_field = fb.graph(long["access_token"]).get_object(PAGE, fields="access_token")
    assert by_field["access_token"] == page_token
    fb.clock.advance(timedelta(days=400))  # Page tokens from long-lived user tokens never expire
    assert fb.graph(page_token).get_object(PAGE)["id"] == PAGE


def test_expired_and_invalid_tokens_are_190(fb: Env) -> None:
    app_id, secret = fb.env["CM_FACEBOOK_APP_ID"], fb.env["CM_FACEBOOK_APP_SECRET"]
    invalid = fb.error(lambda: fb.graph("nonsense").get_object(PAGE))
    assert invalid["code"] == 190 and "error_subcode" not in invalid
    location = fb.session.get(
        "https://www.facebook.com/v24.0/dialog/oauth",
        params={"client_id": app_id, "redirect_uri": "https://app.example/cb"},
        allow_redirects=False,
    ).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    short = fb.graph(None).get_access_token_from_code(
        code, "https://app.example/cb", app_id, secret
    )
    fb.clock.advance(timedelta(hours=2))
    expired = fb.error(lambda: fb.graph(short["access_token"]).get_object("me"))
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    fb.sandbox.faults.add("facebook:expire@once")
    revoked = fb.error(lambda: fb.page.get_object(PAGE))
    assert (revoked["code"], revoked["error_subcode"]) == (190, 463)


def test_fault_throttle_is_code_32_with_regain_minutes(fb: Env) -> None:
    fb.sandbox.faults.reset_after = 300
    fb.sandbox.faults.add("facebook:429@once")
    response = fb.raw(
        "GET", f"/v24.0/{PAGE}", params={"access_token": fb.env["CM_FACEBOOK_PAGE_TOKEN"]}
    )
    assert response.json()["error"]["code"] == 32
    usage = json.loads(response.headers["x-business-use-case-usage"])
    assert usage[PAGE][0]["estimated_time_to_regain_access"] == 5
    assert "x-app-usage" in response.headers


@pytest.mark.parametrize(
    ("limit", "code"),
    [("page_calls_per_day", 32), ("app_calls_per_hour", 4), ("page_posts_per_hour", 613)],
)
def test_real_throttles(fb: Env, limit: str, code: int) -> None:
    setattr(fb.emulator, limit, 2)
    fb.page.put_object(PAGE, "feed", message="one")
    if code == 613:  # only publishing counts
        fb.page.put_object(PAGE, "feed", message="two")
    else:
        fb.page.get_object(PAGE)
    body = fb.error(lambda: fb.page.put_object(PAGE, "feed", message="three"))
    assert body["code"] == code


def test_user_throttle_is_17(fb: Env) -> None:
    fb.emulator.user_calls_per_hour = 1
    fb.user.get_object("me")
    assert fb.error(lambda: fb.user.get_object("me"))["code"] == 17


def test_server_fault_is_code_2_transient(fb: Env) -> None:
    fb.sandbox.faults.add("facebook:503@once")
    response = fb.raw(
        "GET", f"/v24.0/{PAGE}", params={"access_token": fb.env["CM_FACEBOOK_PAGE_TOKEN"]}
    )
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["is_transient"], error["message"]) == (
        2,
        True,
        "An unexpected error has occurred. Please retry your request later.",
    )


def test_state_and_environment(fb: Env) -> None:
    fb.page.put_object(PAGE, "feed", message="State")
    state = fb.sandbox.state()["networks"]["facebook"]
    assert state["pages"][PAGE]["posts"][0]["message"] == "State"
    assert fb.env["CM_FACEBOOK_PAGE_TOKEN"] == f"facebook-sandbox-page-token-{PAGE}"
