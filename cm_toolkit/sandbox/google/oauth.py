"""Google's OAuth 2.0 endpoints (network ``google``), shared by YouTube and Calendar.

- ``POST https://oauth2.googleapis.com/token``: ``grant_type=refresh_token`` (a new access token,
  valid one hour on the sandbox clock; the refresh token stays the same) and
  ``grant_type=authorization_code`` with PKCE (``code_verifier``, S256 or plain).
- ``GET https://accounts.google.com/o/oauth2/auth`` (and ``/o/oauth2/v2/auth``): approves at
  once and redirects (302) to ``redirect_uri`` with ``code``, ``scope`` and ``state``. YouTube
  scopes authorise the sample YouTube channel, Calendar scopes the sample calendar's owner;
  asking for both at once is refused (the sandbox keeps one account per network). A refresh
  token comes back from the code exchange only when ``access_type=offline`` was asked, as on
  Google.

Errors are Google's OAuth bodies ``{"error": "invalid_grant", "error_description": "..."}`` on
the token endpoint, and an HTML error page ("Error 400: invalid_request") on the consent page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    SandboxRequest,
    SandboxResponse,
    Token,
    route,
)
from cm_toolkit.sandbox.google import calendar, youtube
from cm_toolkit.sandbox.google.base import (
    ACCESS_TOKEN_LIFETIME,
    CALENDAR_SCOPES,
    CLIENT_ID,
    CLIENT_SECRET,
    YOUTUBE_SCOPES,
)

CODE_LIFETIME = timedelta(minutes=10)
_NO_STORE = {
    "cache-control": "no-cache, no-store, max-age=0, must-revalidate",
    "pragma": "no-cache",
}


@dataclass
class _Grant:
    network: str
    account_id: str
    scope: str
    redirect_uri: str
    challenge: str | None
    method: str
    offline: bool
    expires_at: datetime


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, description, code=error)


class GoogleOAuthEmulator(Emulator):
    network = "google"
    hosts = ("oauth2.googleapis.com", "accounts.google.com")
    auth_paths = r"/token"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._codes: dict[str, _Grant] = {}
        self._scopes: dict[str, str] = {}  # refresh token -> scope granted
        super().__init__(*args, **kwargs)

    def environment(self) -> dict[str, str]:
        return {"CM_GOOGLE_CLIENT_ID": CLIENT_ID, "CM_GOOGLE_CLIENT_SECRET": CLIENT_SECRET}

    def state(self) -> dict[str, Any]:
        return {"client_id": CLIENT_ID, "pending_codes": len(self._codes)}

    # -- errors ----------------------------------------------------------------------------

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        if request.path.startswith("/o/oauth2"):
            page = (
                "<!DOCTYPE html><html lang=en><title>Error</title><h1>Access blocked</h1>"
                f"<p>Error {error.status}: {html.escape(str(error.code))}</p>"
                f"<p>{html.escape(error.message)}</p></html>"
            )
            return SandboxResponse(
                error.status, page.encode(), {"content-type": "text/html; charset=utf-8"}
            )
        body = {"error": error.code or "invalid_request", "error_description": error.message}
        return SandboxResponse(
            error.status,
            json.dumps(body).encode(),
            {"content-type": "application/json; charset=utf-8", **_NO_STORE, **error.headers},
        )

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        if kind is ErrorKind.RATE_LIMITED:
            return _oauth_error(429, "rate_limit_exceeded", "Rate limit exceeded.")
        if kind is ErrorKind.NOT_FOUND:
            return _oauth_error(404, "not_found", "Not Found")
        if kind in (ErrorKind.TOKEN_EXPIRED, ErrorKind.TOKEN_MISSING):
            return _oauth_error(401, "invalid_client", "Unauthorized")
        return _oauth_error(500, "internal_failure", "Backend Error")

    # -- token endpoint --------------------------------------------------------------------

    def _check_client(self, request: SandboxRequest) -> None:
        client_id, secret = request.arg("client_id"), request.arg("client_secret")
        auth = request.header("authorization") or ""
        if auth.lower().startswith("basic "):  # client_secret_basic
            decoded = base64.b64decode(auth[6:]).decode("utf-8", "replace")
            client_id, _, secret = decoded.partition(":")
        if client_id != CLIENT_ID:
            raise _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if secret != CLIENT_SECRET:
            raise _oauth_error(401, "invalid_client", "Unauthorized")

    @route("POST", r"/token", auth=False)
    def token(self, request: SandboxRequest) -> SandboxResponse:
        grant_type = request.arg("grant_type")
        if not grant_type:
            raise _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ")
        if grant_type == "refresh_token":
            return self._refresh(request)
        if grant_type == "authorization_code":
            return self._exchange(request)
        raise _oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")

    def _answer(self, token: Token, scope: str, with_refresh: bool) -> SandboxResponse:
        body: dict[str, Any] = {
            "access_token": token.value,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()) - 1,
            "scope": scope,
            "token_type": "Bearer",
        }
        if with_refresh and token.refresh_token:
            body["refresh_token"] = token.refresh_token
        return SandboxResponse.json(200, body, dict(_NO_STORE))

    def _refresh(self, request: SandboxRequest) -> SandboxResponse:
        refresh_token = request.arg("refresh_token")
        if not refresh_token:
            raise _oauth_error(400, "invalid_request", "Missing required parameter: refresh_token")
        self._check_client(request)
        token = self.ctx.tokens.refresh(refresh_token, self.ctx.now(), ACCESS_TOKEN_LIFETIME)
        if token is None:
            raise _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        scope = self._scopes.get(refresh_token) or " ".join(
            YOUTUBE_SCOPES if token.network == "youtube" else CALENDAR_SCOPES
        )
        return self._answer(token, scope, with_refresh=False)

    def _exchange(self, request: SandboxRequest) -> SandboxResponse:
        code = request.arg("code")
        if not code:
            raise _oauth_error(400, "invalid_request", "Missing required parameter: code")
        self._check_client(request)
        grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at <= self.ctx.now():
            raise _oauth_error(400, "invalid_grant", "Bad Request")
        if request.arg("redirect_uri") != grant.redirect_uri:
            raise _oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if grant.challenge is not None:
            verifier = request.arg("code_verifier") or ""
            if not verifier:
                raise _oauth_error(400, "invalid_grant", "Missing code verifier.")
            computed = verifier
            if grant.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if computed != grant.challenge:
                raise _oauth_error(400, "invalid_grant", "Invalid code verifier.")
        number = self.ctx.next_id("google-grant")
        account = grant.account_id
        token = self.ctx.tokens.add(
            Token(
                value=f"{grant.network}-sandbox-access-{account}-c{number}",
                network=grant.network,
                account_id=account,
                expires_at=self.ctx.now() + ACCESS_TOKEN_LIFETIME,
                refresh_token=f"{grant.network}-sandbox-refresh-{account}-c{number}",
            )
        )
        assert token.refresh_token is not None
        self._scopes[token.refresh_token] = grant.scope
        return self._answer(token, grant.scope, with_refresh=grant.offline)

    # -- consent page ----------------------------------------------------------------------

    @route("GET", r"/o/oauth2(?:/v2)?/auth", auth=False)
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        def required(name: str) -> str:
            value = request.arg(name)
            if not value:
                raise _oauth_error(400, "invalid_request", f"Missing required parameter: {name}")
            return value

        client_id = required("client_id")
        if client_id != CLIENT_ID:
            raise _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = required("redirect_uri")
        response_type = required("response_type")
        if response_type != "code":
            raise _oauth_error(
                400, "unsupported_response_type", f"Invalid response_type: {response_type}"
            )
        scope = required("scope")
        network, account = self._account_for(scope.split(), self.ctx.signed_in)
        method = request.arg("code_challenge_method") or "plain"
        if method not in ("S256", "plain"):
            raise _oauth_error(400, "invalid_request", f"Invalid code_challenge_method: {method}")
        number = self.ctx.next_id("google-code")
        code = f"google-sandbox-code-{number}"
        self._codes[code] = _Grant(
            network=network,
            account_id=account,
            scope=scope,
            redirect_uri=redirect_uri,
            challenge=request.arg("code_challenge"),
            method=method,
            offline=request.arg("access_type") == "offline",
            expires_at=self.ctx.now() + CODE_LIFETIME,
        )
        params = {"code": code, "scope": scope}
        if request.arg("state") is not None:
            params["state"] = request.arg("state") or ""
        separator = "&" if "?" in redirect_uri else "?"
        return SandboxResponse(
            302,
            b"",
            {
                "location": f"{redirect_uri}{separator}{urlencode(params)}",
                "content-type": "text/html; charset=utf-8",
            },
        )

    @staticmethod
    def _account_for(scopes: list[str], signed_in: dict[str, str]) -> tuple[str, str]:
        wants_youtube = any(s in YOUTUBE_SCOPES for s in scopes)
        wants_calendar = any(s in CALENDAR_SCOPES for s in scopes)
        if wants_youtube and wants_calendar:
            raise _oauth_error(
                400,
                "invalid_scope",
                "The sandbox authorises YouTube and Calendar scopes separately: ask for one.",
            )
        if wants_youtube:
            return "youtube", signed_in.get("youtube", youtube.CHANNEL_ID)
        if wants_calendar:
            return "meet", calendar.OWNER
        raise _oauth_error(400, "invalid_scope", "Some requested scopes were invalid.")
