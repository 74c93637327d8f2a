"""The dashboard's WSGI app without a browser: read-only methods, access control, headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from cm_toolkit.clock import ManualClock
from cm_toolkit.errors import UsageError
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.ledger.models import FollowerSnapshot
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.auth import require_token_for

T0 = datetime(2027, 2, 1, 5, tzinfo=UTC)
TOKEN = "s3cret-token-for-the-tests"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(f"sqlite:///{tmp_path / 'cm.db'}", tmp_path)
    with opened.writing() as session:
        for day in range(20):
            if day != 10:  # one missing day: the chart must break there
                session.add(FollowerSnapshot(channel_id="x-mooc", network="x",
                                             taken_at=T0 + timedelta(days=day),
                                             followers=100 + day))
    yield opened
    opened.close()


def call(app: Dashboard, path: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "HTTP_HOST": "127.0.0.1:8050"}
    path, _, query = path.partition("?")
    environ["PATH_INFO"], environ["QUERY_STRING"] = path, query
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(response_headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def make(ledger: Ledger, token: str | None = None) -> Dashboard:
    return Dashboard(ledger, GrowthContext(reference=T0), ManualClock(T0), token=token)


def test_pages_are_read_only(ledger: Ledger) -> None:
    app = make(ledger)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = call(app, "/", method)
        assert (status, headers["Allow"]) == (405, "GET, HEAD")
    status, headers, body = call(app, "/", "HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def test_security_headers_and_local_plotly(ledger: Ledger) -> None:
    app = make(ledger)
    status, headers, body = call(app, "/")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert b'src="/static/plotly.min.js"' in body and b"cdn" not in body
    assert b'name="viewport"' in body
    status, headers, body = call(app, "/static/plotly.min.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert len(body) > 1_000_000
    assert call(app, "/static/../app.py")[0] == 404
    assert call(app, "/channel/nobody")[0] == 404
    assert call(app, "/favicon.ico")[0] == 204


def test_chart_json_breaks_the_line_at_a_gap(ledger: Ledger) -> None:
    status, _, body = call(make(ledger), "/api/channel/x-mooc/growth.json")
    assert status == 200
    [curve] = json.loads(body)["data"]
    assert len(curve["y"]) == 20 and curve["y"].count(None) == 1  # 19 snapshots + 1 break
    assert curve["connectgaps"] is False


def test_without_token_only_loopback_host_names(ledger: Ledger) -> None:
    app = make(ledger)
    assert call(app, "/", HOST="localhost:8050")[0] == 200
    assert call(app, "/", HOST="[::1]:8050")[0] == 200
    assert call(app, "/", HOST="attacker.example:8050")[0] == 403


def test_token_by_bearer_cookie_or_query_once(ledger: Ledger) -> None:
    app = make(ledger, TOKEN)
    assert call(app, "/")[0] == 401
    assert call(app, "/", AUTHORIZATION="Bearer wrong-token-of-the-same-size")[0] == 401
    assert call(app, "/", AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200
    assert call(app, "/", COOKIE=f"cm_dashboard={TOKEN}")[0] == 200
    assert call(app, "/", COOKIE="cm_dashboard=nope")[0] == 401
    status, headers, _ = call(app, f"/calendar?token={TOKEN}&week=2")
    assert status == 303 and headers["Location"] == "/calendar?week=2"
    assert headers["Set-Cookie"].startswith(f"cm_dashboard={TOKEN};")
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    assert call(app, "/?token=wrong")[0] == 401
    # with a token, any Host is fine (the token is the protection)
    assert call(app, "/", HOST="dashboard.example", AUTHORIZATION=f"Bearer {TOKEN}")[0] == 200


@pytest.mark.parametrize(("path", "location"), [
    ("///evil.example/", "/evil.example/"),  # GET /%2F%2Fevil.example/?token=T, decoded
    ("//evil.example", "/evil.example"),
    ("/\\evil.example/", "/evil.example/"),
    ("/calendar/\\x", "/calendar/%5Cx"),
    ("/a b\r\nSet-Cookie: x", "/a%20b%0D%0ASet-Cookie:%20x"),
])
def test_the_token_redirect_stays_on_this_server(ledger: Ledger, path: str,
                                                 location: str) -> None:
    status, headers, _ = call(make(ledger, TOKEN), f"{path}?token={TOKEN}")
    assert status == 303 and headers["Location"] == location


def test_a_static_name_too_long_for_the_file_system_is_not_found(ledger: Ledger) -> None:
    app = make(ledger)
    assert call(app, "/static/" + "a" * 5000 + ".css")[0] == 404
    assert call(app, "/static/" + "a" * 300 + ".js")[0] == 404
    assert call(app, "/static/" + "a" * 90 + ".css")[0] == 404


def test_binding_beyond_loopback_needs_a_token() -> None:
    require_token_for("127.0.0.1", None)
    require_token_for("::1", None)
    require_token_for("localhost", None)
    with pytest.raises(UsageError) as caught:
        require_token_for("0.0.0.0", None)
    assert "CM_DASHBOARD_TOKEN" in caught.value.fix
    require_token_for("0.0.0.0", TOKEN)
    with pytest.raises(UsageError):
        require_token_for("0.0.0.0", "has a ; semicolon and is long")


def test_every_page_answers_on_an_empty_ledger(tmp_path: Path) -> None:
    empty = open_ledger(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    try:
        app = make(empty)
        for path in ("/", "/calendar", "/posts", "/review", "/api/overview/growth.json"):
            assert call(app, path)[0] == 200, path
        assert b"No follower snapshot yet" in call(app, "/")[2]
        assert json.loads(call(app, "/api/overview/growth.json")[2])["data"] == []
    finally:
        empty.close()


def test_every_page_answers_on_a_ledger_opened_read_only(ledger: Ledger, tmp_path: Path) -> None:
    """``cm dashboard`` opens the ledger read-only (a user who may only read it): SQLite
    itself refuses any write, so a page that wrote would fail here."""
    from cm_toolkit.ledger import LedgerAccess

    reader = open_ledger(f"sqlite:///{tmp_path / 'cm.db'}", tmp_path, LedgerAccess.READ)
    try:
        app = make(reader)
        for path in ("/", "/channel/x-mooc", "/calendar", "/posts", "/review",
                     "/api/overview/growth.json", "/api/channel/x-mooc/growth.json",
                     "/api/channel/x-mooc/net-adds.json"):
            assert call(app, path)[0] == 200, path
    finally:
        reader.close()
