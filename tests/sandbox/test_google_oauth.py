"""Google's OAuth endpoints in the sandbox: refresh, authorization code with PKCE, consent page."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.base import CLIENT_ID, CLIENT_SECRET
from cm_toolkit.sandbox.google.youtube import REFRESH_TOKEN
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2027, 12, 1, 9, 0, tzinfo=UTC)
REDIRECT = "http://127.0.0.1:8765/callback"
VERIFIER = "v" * 50


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=3, clock=clock).running() as running:
        yield running


def _post(sandbox: Sandbox, **form: str) -> tuple[int, dict[str, Any]]:
    http = sandbox.transport().http_factory()
    resp, body = http.request(
        "https://oauth2.googleapis.com/token",
        "POST",
        urlencode(form),
        {"content-type": "application/x-www-form-urlencoded"},
    )
    return resp.status, json.loads(body)


def _authorize(sandbox: Sandbox, **params: str) -> Any:
    http = sandbox.transport().http_factory()
    http.follow_redirects = False
    query = urlencode(
        {"client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", **params}
    )
    return http.request(f"https://accounts.google.com/o/oauth2/auth?{query}")


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def test_refresh_grant(sandbox: Sandbox, clock: ManualClock) -> None:
    status, body = _post(
        sandbox,
        grant_type="refresh_token",
        refresh_token=REFRESH_TOKEN,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert (
        body["access_token"].startswith("youtube-sandbox-access-") and "refresh_token" not in body
    )
    assert "https://www.googleapis.com/auth/youtube" in body["scope"].split()
    (token,) = [
        t
        for t in sandbox.ctx.tokens.as_dict()
        if t["valid"] and t["account_id"] == "UCmanagerLeader20xxxxxxx"
    ]
    assert token["expires_at"] == (START + timedelta(hours=1)).isoformat()


def test_token_endpoint_errors(sandbox: Sandbox) -> None:
    assert _post(
        sandbox,
        grant_type="refresh_token",
        refresh_token="nope",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    ) == (
        400,
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )
    assert (
        _post(
            sandbox,
            grant_type="refresh_token",
            refresh_token=REFRESH_TOKEN,
            client_id="other",
            client_secret=CLIENT_SECRET,
        )[1]["error"]
        == "invalid_client"
    )
    assert (
        _post(
            sandbox,
            grant_type="refresh_token",
            refresh_token=REFRESH_TOKEN,
            client_id=CLIENT_ID,
            client_secret="wrong",
        )[0]
        == 401
    )
    assert _post(sandbox, grant_type="password")[1]["error"] == "unsupported_grant_type"
    (entry, *_) = sandbox.journal.entries(network="google")
    assert "client_secret=***" in entry.body and CLIENT_SECRET not in entry.body


def test_authorization_code_with_pkce(sandbox: Sandbox) -> None:
    resp, _ = _authorize(
        sandbox,
        scope="https://www.googleapis.com/auth/calendar.events",
        state="xyz",
        code_challenge=_challenge(VERIFIER),
        code_challenge_method="S256",
        access_type="offline",
    )
    assert resp.status == 302
    location = urlsplit(resp["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["state"] == "xyz" and params["code"]
    form = {
        "grant_type": "authorization_code",
        "code": params["code"],
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    status, body = _post(sandbox, **form, code_verifier="w" * 50)
    assert (status, body["error"]) == (400, "invalid_grant")
    resp, _ = _authorize(
        sandbox,
        scope="https://www.googleapis.com/auth/calendar.events",
        code_challenge=_challenge(VERIFIER),
        code_challenge_method="S256",
        access_type="offline",
    )
    form["code"] = parse_qs(urlsplit(resp["location"]).query)["code"][0]
    status, body = _post(sandbox, **form, code_verifier=VERIFIER)
    assert status == 200 and body["access_token"].startswith("meet-sandbox-access-")
    assert body["refresh_token"].startswith("meet-sandbox-refresh-")
    assert body["scope"] == "https://www.googleapis.com/auth/calendar.events"
    assert _post(sandbox, **form, code_verifier=VERIFIER)[1]["error"] == "invalid_grant"  # used
    # the new refresh token works
    status, body = _post(
        sandbox,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    assert status == 200 and body["scope"] == "https://www.googleapis.com/auth/calendar.events"


def test_no_refresh_token_without_offline_access(sandbox: Sandbox) -> None:
    resp, _ = _authorize(sandbox, scope="https://www.googleapis.com/auth/youtube")
    code = parse_qs(urlsplit(resp["location"]).query)["code"][0]
    status, body = _post(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    assert status == 200 and "refresh_token" not in body


def test_consent_page_errors_are_html(sandbox: Sandbox) -> None:
    resp, body = _authorize(sandbox)
    assert resp.status == 400 and resp["content-type"].startswith("text/html")
    assert b"Error 400: invalid_request" in body and b"scope" in body
    resp, body = _authorize(sandbox, scope="https://www.googleapis.com/auth/drive")
    assert resp.status == 400 and b"invalid_scope" in body
