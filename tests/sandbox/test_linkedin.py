"""The LinkedIn emulator driven by linkedin-api-client over the sandbox transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from linkedin_api.clients.auth.client import AuthClient
from linkedin_api.clients.restli.client import RestliClient

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.linkedin import LinkedInEmulator
from cm_toolkit.sandbox.linkedin.restli import RestliSyntaxError, decode, query_list, query_record
from cm_toolkit.sandbox.linkedin.validation import render_little
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
VERSION = "202611"
ORG = "urn:li:organization:5515715"
TOKEN = "linkedin-sandbox-access-cm-manager"
OUTSIDER = "linkedin-sandbox-access-outsider"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=7, clock=clock, epoch=START, emulators=[LinkedInEmulator]).running() as sb:
        sb.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
        yield sb


@pytest.fixture
def rc(sandbox: Sandbox) -> RestliClient:
    client = RestliClient()
    client.session.mount("https://", sandbox.transport().requests_adapter)
    return client


def post_body(text: str = "Bonjour", **extra: Any) -> dict[str, Any]:
    return {
        "author": ORG,
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        **extra,
    }


def create(
    rc: RestliClient, body: dict[str, Any], token: str = TOKEN, version: str = VERSION
) -> Any:
    return rc.create(
        resource_path="/posts", entity=body, access_token=token, version_string=version
    )


def linkedin(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.state()["networks"]["linkedin"]


def upload(rc: RestliClient, owner: str = ORG) -> str:
    init = rc.action(
        resource_path="/images",
        action_name="initializeUpload",
        action_params={"initializeUploadRequest": {"owner": owner}},
        access_token=TOKEN,
        version_string=VERSION,
    )
    put = rc.session.put(
        init.value["uploadUrl"], data=b"\x89PNG fake", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert put.status_code == 201
    return str(init.value["image"])


# -- posts ----------------------------------------------------------------------------------


def test_create_post_answers_201_with_the_urn_in_x_restli_id(
    sandbox: Sandbox, rc: RestliClient
) -> None:
    response = create(rc, post_body("Le \\(MOOC\\) {hashtag|\\#|leadership} \\@vous ?"))
    assert response.status_code == 201
    assert response.entity_id == "urn:li:share:7300000000000000001"
    assert response.response.content == b""
    entry = sandbox.journal.entries(network="linkedin", method="POST", path="/rest/posts")[0]
    assert entry.headers["linkedin-version"] == VERSION
    assert entry.headers["x-restli-protocol-version"] == "2.0.0"
    assert entry.headers["authorization"] == "***"
    assert entry.json_body()["commentary"] == "Le \\(MOOC\\) {hashtag|\\#|leadership} \\@vous ?"
    [post] = linkedin(sandbox)["posts"]
    assert post["rendered"] == "Le (MOOC) #leadership @vous ?"
    assert post["truncated"] is False
    assert post["kind"] == "debate"


def test_unescaped_reserved_character_truncates_what_readers_see(
    sandbox: Sandbox, rc: RestliClient
) -> None:
    assert create(rc, post_body("Le (MOOC) commence")).status_code == 201
    [post] = linkedin(sandbox)["posts"]
    assert (post["rendered"], post["truncated"]) == ("Le ", True)


def test_missing_version_header_is_the_gateway_400(rc: RestliClient) -> None:
    response = rc.session.post(
        "https://api.linkedin.com/rest/posts",
        json=post_body(),
        headers={"Authorization": f"Bearer {TOKEN}", "X-Restli-Protocol-Version": "2.0.0"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "VERSION_MISSING",
        "message": "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
    }
    assert response.headers["x-restli-gateway-error"] == "true"


@pytest.mark.parametrize("version", ["202001", "20250401", "202613", "latest"])
def test_inactive_version_is_426(rc: RestliClient, version: str) -> None:
    response = create(rc, post_body(), version=version)
    assert response.status_code == 426
    assert response.response.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": f"Requested version {version} is not active",
    }


def test_protocol_header_is_required(rc: RestliClient) -> None:
    response = rc.session.post(
        "https://api.linkedin.com/rest/posts",
        json=post_body(),
        headers={"Authorization": f"Bearer {TOKEN}", "LinkedIn-Version": VERSION},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "PROTOCOL_VERSION_MISSING"


def test_body_that_is_not_json_is_400(rc: RestliClient) -> None:
    response = rc.session.post(
        "https://api.linkedin.com/rest/posts",
        data=b"{not json",
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json() == {"status": 400, "message": "Cannot parse request entity"}


def test_schema_problems_are_all_reported_in_restli_words(rc: RestliClient) -> None:
    body = {
        "author": 5515715,
        "commentary": "x",
        "visibility": "EVERYONE",
        "lifecycleState": "PUBLISHED",
        "colour": "red",
    }
    response = create(rc, body)
    assert response.status_code == 422
    assert response.response.json() == {
        "status": 422,
        "message": "ERROR :: /colour :: unrecognized field found but not allowed\n"
        "ERROR :: /distribution :: field is required but not found and has no default value\n"
        "ERROR :: /author :: 5515715 cannot be coerced to String\n"
        'ERROR :: /visibility :: "EVERYONE" is not an enum symbol\n',
    }


def test_commentary_over_3000_characters_is_refused(rc: RestliClient) -> None:
    assert create(rc, post_body("a" * 3000)).status_code == 201
    response = create(rc, post_body("b" * 3001))
    assert response.status_code == 422
    assert response.response.json()["message"].startswith('ERROR :: /commentary :: length of "bbb')
    assert response.response.json()["message"].endswith("is out of range 0...3000\n")


def test_same_commentary_twice_is_duplicate_post(rc: RestliClient) -> None:
    first = create(rc, post_body("Même texte"))
    second = create(rc, post_body("Même texte"))
    assert second.status_code == 422
    assert second.response.json() == {
        "status": 422,
        "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
        f"Content is a duplicate of {first.entity_id}",
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "errorDetails": {
            "inputErrors": [
                {"description": "Duplicate post is detected", "input": {}, "code": "DUPLICATE_POST"}
            ]
        },
    }


def test_author_must_be_an_organization_the_member_administers(rc: RestliClient) -> None:
    response = create(rc, post_body(), token=OUTSIDER)
    assert response.status_code == 403
    assert response.response.json() == {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Field Value validation failed in REQUEST_BODY: Data Processing Exception while processing fields [/author]",
    }


def test_get_and_delete_post(sandbox: Sandbox, rc: RestliClient) -> None:
    urn = create(rc, post_body("À supprimer")).entity_id
    got = rc.get(
        resource_path="/posts/{id}",
        path_keys={"id": urn},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert got.entity["id"] == urn and got.entity["commentary"] == "À supprimer"
    deleted = rc.delete(
        resource_path="/posts/{id}",
        path_keys={"id": urn},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert deleted.status_code == 204
    assert (
        sandbox.journal.entries(method="DELETE")[0].path
        == "/rest/posts/urn%3Ali%3Ashare%3A7300000000000000001"
    )
    again = rc.delete(
        resource_path="/posts/{id}",
        path_keys={"id": urn},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert again.status_code == 404
    assert again.response.json() == {
        "status": 404,
        "code": "NOT_FOUND",
        "message": "Could not find entity",
    }
    assert linkedin(sandbox)["posts"][0]["deleted_at"] == START.isoformat()
    # a deleted post's text may be posted again
    assert create(rc, post_body("À supprimer")).status_code == 201


# -- images ---------------------------------------------------------------------------------


def test_image_upload_then_media_post(sandbox: Sandbox, rc: RestliClient) -> None:
    init = rc.action(
        resource_path="/images",
        action_name="initializeUpload",
        action_params={"initializeUploadRequest": {"owner": ORG}},
        access_token=TOKEN,
        version_string=VERSION,
    )
    value = init.value
    assert set(value) == {"uploadUrlExpiresAt", "uploadUrl", "image"}
    assert value["uploadUrl"].startswith("https://www.linkedin.com/dms-uploads/")
    assert value["image"].startswith("urn:li:image:")
    image = rc.get(
        resource_path="/images/{id}",
        path_keys={"id": value["image"]},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert image.entity == {"owner": ORG, "status": "WAITING_UPLOAD", "id": value["image"]}
    early = create(rc, post_body("Photo", content={"media": {"id": value["image"]}}))
    assert early.status_code == 422
    put = rc.session.put(
        value["uploadUrl"], data=b"\xff\xd8 jpeg", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert put.status_code == 201
    image = rc.get(
        resource_path="/images/{id}",
        path_keys={"id": value["image"]},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert image.entity["status"] == "AVAILABLE"
    assert (
        create(
            rc,
            post_body("Photo", content={"media": {"id": value["image"], "altText": "Une salle"}}),
        ).status_code
        == 201
    )
    assert linkedin(sandbox)["posts"][-1]["kind"] == "visual"
    assert sandbox.journal.entries(method="PUT")[0].body == "<7 bytes>"


def test_upload_owner_must_be_administered(rc: RestliClient) -> None:
    init = rc.action(
        resource_path="/images",
        action_name="initializeUpload",
        action_params={"initializeUploadRequest": {"owner": "urn:li:organization:2414183"}},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert init.status_code == 403
    assert "[/initializeUploadRequest/owner]" in init.response.json()["message"]


def test_multi_image_needs_two_to_twenty_images(rc: RestliClient) -> None:
    one = upload(rc)
    response = create(rc, post_body("Album", content={"multiImage": {"images": [{"id": one}]}}))
    assert response.status_code == 422
    assert response.response.json()["message"] == (
        "ERROR :: /content/multiImage/images :: size of the array (1) is out of range 2...20\n"
    )
    two = upload(rc)
    ok = create(
        rc,
        post_body(
            "Album", content={"multiImage": {"images": [{"id": one}, {"id": two, "altText": "b"}]}}
        ),
    )
    assert ok.status_code == 201


def test_article_needs_source_and_title(rc: RestliClient) -> None:
    response = create(rc, post_body("Lien", content={"article": {"source": "https://example.org"}}))
    assert response.status_code == 422
    assert response.response.json()["message"] == (
        "ERROR :: /content/article/title :: field is required but not found and has no default value\n"
    )


# -- tokens ---------------------------------------------------------------------------------


def test_token_errors(clock: ManualClock, rc: RestliClient) -> None:
    bad = create(rc, post_body(), token="nope")
    assert bad.status_code == 401
    assert bad.response.json() == {
        "status": 401,
        "serviceErrorCode": 65600,
        "code": "INVALID_ACCESS_TOKEN",
        "message": "Invalid access token",
    }
    empty = rc.session.post(
        "https://api.linkedin.com/rest/posts",
        json=post_body(),
        headers={"LinkedIn-Version": VERSION, "X-Restli-Protocol-Version": "2.0.0"},
    )
    assert empty.json() == {
        "status": 401,
        "serviceErrorCode": 401,
        "message": "Empty oauth2_access_token",
    }
    clock.advance(timedelta(days=60, seconds=1))  # access tokens live 60 days
    expired = create(rc, post_body())
    assert expired.response.json() == {
        "status": 401,
        "serviceErrorCode": 65602,
        "code": "EXPIRED_ACCESS_TOKEN",
        "message": "The token used in the request has expired",
    }


def test_oauth_authorization_code_and_refresh(
    sandbox: Sandbox, clock: ManualClock, rc: RestliClient
) -> None:
    session = rc.session
    redirect = "http://127.0.0.1:8765/callback"
    answer = session.get(
        "https://www.linkedin.com/oauth/v2/authorization",
        params={
            "response_type": "code",
            "client_id": "linkedin-sandbox-client-id",
            "redirect_uri": redirect,
            "state": "s1",
            "scope": "w_organization_social",
        },
        allow_redirects=False,
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    params = parse_qs(location.query)
    assert params["state"] == ["s1"]
    auth = AuthClient("linkedin-sandbox-client-id", "linkedin-sandbox-client-secret", redirect)
    auth.session = session
    tokens = auth.exchange_auth_code_for_access_token(params["code"][0])
    assert tokens.status_code == 200
    assert tokens.expires_in == 5184000 and tokens.refresh_token_expires_in == 31536000
    assert tokens.access_token.startswith("linkedin-sandbox-access-cm-manager-a")
    assert (
        create(rc, post_body("Avec le nouveau jeton"), token=tokens.access_token).status_code == 201
    )
    reused = auth.exchange_auth_code_for_access_token(params["code"][0])
    assert reused.status_code == 400
    assert reused.response.json()["error"] == "invalid_request"
    clock.advance(timedelta(days=10))
    refreshed = auth.exchange_refresh_token_for_access_token(tokens.refresh_token)
    assert refreshed.status_code == 200
    assert refreshed.refresh_token == tokens.refresh_token
    assert refreshed.refresh_token_expires_in == 31536000 - 10 * 86400
    assert create(rc, post_body("Ancien jeton"), token=tokens.access_token).status_code == 401
    assert create(rc, post_body("Jeton rafraîchi"), token=refreshed.access_token).status_code == 201
    wrong = AuthClient("linkedin-sandbox-client-id", "wrong-secret")
    wrong.session = session
    refused = wrong.exchange_refresh_token_for_access_token(tokens.refresh_token)
    assert refused.status_code == 401
    assert refused.response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    clock.advance(timedelta(days=356))
    too_old = auth.exchange_refresh_token_for_access_token(tokens.refresh_token)
    assert too_old.status_code == 400


def test_environment_matches_the_sample_channel_file(sandbox: Sandbox) -> None:
    env = sandbox.env()
    assert env["CM_LINKEDIN_ACCESS_TOKEN"] == TOKEN
    token = sandbox.ctx.tokens.lookup(TOKEN)
    assert token is not None and token.expires_at == START + timedelta(days=60)
    state = linkedin(sandbox)
    assert state["organizations"][ORG]["administrators"] == ["urn:li:person:cmManager01"]


# -- audience -------------------------------------------------------------------------------


def test_network_size_is_the_audience_follower_count(sandbox: Sandbox, rc: RestliClient) -> None:
    response = rc.get(
        resource_path="/networkSizes/{id}",
        path_keys={"id": ORG},
        query_params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert response.entity == {
        "firstDegreeSize": linkedin(sandbox)["organizations"][ORG]["followers"]
    }
    missing = rc.get(
        resource_path="/networkSizes/{id}",
        path_keys={"id": ORG},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert missing.status_code == 400
    assert missing.response.json() == {
        "status": 400,
        "message": "Missing required parameter edgeType",
    }


def test_follower_statistics_lifetime_and_time_bound(clock: ManualClock, rc: RestliClient) -> None:
    params: dict[str, Any] = {"organizationalEntity": ORG}
    lifetime = rc.finder(
        resource_path="/organizationalEntityFollowerStatistics",
        finder_name="organizationalEntity",
        query_params=params,
        access_token=TOKEN,
        version_string=VERSION,
    )
    [element] = lifetime.elements
    assert element["organizationalEntity"] == ORG
    assert element["followerCountsByAssociationType"][0]["associationType"] == "EMPLOYEE"
    assert set(element["followerCountsByGeoCountry"][0]["followerCounts"]) == {
        "organicFollowerCount",
        "paidFollowerCount",
    }
    create(rc, post_body("Votre avis ?"))
    clock.advance(timedelta(days=3))
    start = int(START.timestamp() * 1000)
    bound = rc.finder(
        resource_path="/organizationalEntityFollowerStatistics",
        finder_name="organizationalEntity",
        query_params={
            **params,
            "timeIntervals": {
                "timeRange": {"start": start, "end": start + 3 * 86400000},
                "timeGranularityType": "DAY",
            },
        },
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert [e["timeRange"] for e in bound.elements] == [
        {"start": start + d * 86400000, "end": start + (d + 1) * 86400000} for d in range(3)
    ]
    assert bound.elements[0]["followerGains"]["paidFollowerGain"] == 0
    assert sum(e["followerGains"]["organicFollowerGain"] for e in bound.elements) > 0
    outsider = rc.finder(
        resource_path="/organizationalEntityFollowerStatistics",
        finder_name="organizationalEntity",
        query_params=params,
        access_token=OUTSIDER,
        version_string=VERSION,
    )
    assert outsider.status_code == 403


def test_share_statistics_by_list_indexed_and_total(
    sandbox: Sandbox, clock: ManualClock, rc: RestliClient
) -> None:
    first = create(rc, post_body("Un")).entity_id
    second = create(rc, post_body("Deux")).entity_id
    clock.advance(timedelta(days=2))
    by_list = rc.finder(
        resource_path="/organizationalEntityShareStatistics",
        finder_name="organizationalEntity",
        query_params={"organizationalEntity": ORG, "shares": [first, second]},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert by_list.status_code == 200
    assert (
        "shares=List(urn%3Ali%3Ashare%3A7300000000000000001,urn%3Ali%3Ashare%3A7300000000000000002)"
        in by_list.url
    )
    assert [e["share"] for e in by_list.elements] == [first, second]
    stats = by_list.elements[0]["totalShareStatistics"]
    assert set(stats) == {
        "uniqueImpressionsCount",
        "shareCount",
        "engagement",
        "clickCount",
        "likeCount",
        "impressionCount",
        "commentCount",
    }
    assert stats["impressionCount"] > 0
    engaged = stats["clickCount"] + stats["likeCount"] + stats["commentCount"] + stats["shareCount"]
    assert stats["engagement"] == pytest.approx(engaged / stats["impressionCount"])
    indexed = rc.session.get(
        "https://api.linkedin.com/rest/organizationalEntityShareStatistics",
        params={"q": "organizationalEntity", "organizationalEntity": ORG, "shares[0]": first},
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "LinkedIn-Version": VERSION,
            "X-Restli-Protocol-Version": "2.0.0",
        },
    )
    assert indexed.json()["elements"][0]["totalShareStatistics"] == stats
    total = rc.finder(
        resource_path="/organizationalEntityShareStatistics",
        finder_name="organizationalEntity",
        query_params={"organizationalEntity": ORG},
        access_token=TOKEN,
        version_string=VERSION,
    )
    [element] = total.elements
    assert "share" not in element
    assert element["totalShareStatistics"]["impressionCount"] == sum(
        e["totalShareStatistics"]["impressionCount"] for e in by_list.elements
    )


def test_comments_on_a_post(clock: ManualClock, rc: RestliClient) -> None:
    urn = create(rc, post_body("Questions ?")).entity_id
    clock.advance(timedelta(days=2))
    response = rc.get_all(
        resource_path="/socialActions/{id}/comments",
        path_keys={"id": urn},
        access_token=TOKEN,
        version_string=VERSION,
    )
    assert response.status_code == 200
    assert response.paging.total and response.paging.total > 0
    comment = response.elements[0]
    assert set(comment) >= {"actor", "commentUrn", "id", "object", "message", "created"}
    assert comment["commentUrn"].startswith("urn:li:comment:(urn:li:activity:")
    assert comment["message"]["text"]


# -- limits and faults ----------------------------------------------------------------------


def test_daily_quota_gives_429_until_midnight_utc(
    sandbox: Sandbox, clock: ManualClock, rc: RestliClient
) -> None:
    sandbox.emulator("linkedin").daily_limits["posts.create"] = 1  # type: ignore[attr-defined]
    assert create(rc, post_body("Un")).status_code == 201
    refused = create(rc, post_body("Deux"))
    assert refused.status_code == 429
    assert refused.response.json() == {
        "status": 429,
        "serviceErrorCode": 101,
        "code": "TOO_MANY_REQUESTS",
        "message": "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is reached.",
    }
    assert "retry-after" not in refused.response.headers
    clock.set(datetime(2026, 11, 21, 0, 0, tzinfo=UTC))
    assert create(rc, post_body("Deux")).status_code == 201


@pytest.mark.parametrize(
    ("fault", "status", "body"),
    [
        ("linkedin:503@once", 503, {"status": 503, "message": "Service Unavailable"}),
        ("linkedin:500@once", 500, {"status": 500, "message": "Internal Server Error"}),
        (
            "linkedin:401@once",
            401,
            {
                "status": 401,
                "serviceErrorCode": 65602,
                "code": "EXPIRED_ACCESS_TOKEN",
                "message": "The token used in the request has expired",
            },
        ),
    ],
)
def test_faults_use_linkedin_bodies(
    sandbox: Sandbox, rc: RestliClient, fault: str, status: int, body: dict[str, Any]
) -> None:
    sandbox.faults.add(fault)
    response = create(rc, post_body())
    assert (response.status_code, response.response.json()) == (status, body)
    assert linkedin(sandbox)["posts"] == []


def test_unknown_resource_is_404(rc: RestliClient) -> None:
    response = rc.get(resource_path="/nothingHere", access_token=TOKEN, version_string=VERSION)
    assert response.status_code == 404
    assert response.response.json()["message"] == "No virtual resource found"


# -- pure parts -----------------------------------------------------------------------------


def test_restli_decoding() -> None:
    assert decode("List(urn:li:share:1,urn:li:share:2)") == ["urn:li:share:1", "urn:li:share:2"]
    assert decode("(timeGranularityType:DAY,timeRange:(end:2,start:1))") == {
        "timeGranularityType": "DAY",
        "timeRange": {"end": "2", "start": "1"},
    }
    assert query_list({"shares[1]": ["b"], "shares[0]": ["a"]}, "shares") == ["a", "b"]
    assert query_record({"timeIntervals.timeRange.start": ["1"]}, "timeIntervals") == {
        "timeRange": {"start": "1"}
    }
    with pytest.raises(RestliSyntaxError):
        decode("List(a,b")


def test_render_little() -> None:
    assert render_little(
        "Le \\(MOOC\\) {hashtag|\\#|leadership} @[MOOC](urn:li:organization:1)"
    ) == (
        "Le (MOOC) #leadership MOOC",
        False,
    )
    assert render_little("a_b") == ("a", True)
    assert json.dumps(render_little("")) == '["", false]'
