"""What YouTube and Calendar share: Google's error bodies, bearer-token checks and the sandbox's
OAuth client.

Every Google JSON API answers an error as::

    {"error": {"code": 403, "message": "...",
               "errors": [{"message": "...", "domain": "youtube.quota", "reason": "quotaExceeded"}],
               "status": "PERMISSION_DENIED"}}

``google_error`` builds such an answer as an ``ApiError``; ``GoogleApiEmulator.render_error``
writes it. ``errors[0].reason`` is what clients (and our adapters) branch on.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    Route,
    SandboxRequest,
    SandboxResponse,
    Token,
)

# The sandbox's one OAuth client (one Google Cloud project): every token is minted for it.
CLIENT_ID = "google-sandbox-client-id.apps.googleusercontent.com"
CLIENT_SECRET = "google-sandbox-client-secret"
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)

YOUTUBE_SCOPES = (
    "https://www.googleapis.com/auth/youtube",
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
    "https://www.googleapis.com/auth/youtube.force-ssl",
)
CALENDAR_SCOPES = (
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.readonly",
)

_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


def google_error(
    status: int,
    message: str,
    *,
    reason: str,
    domain: str = "global",
    location: str | None = None,
    location_type: str | None = None,
    status_text: str | None = None,
    item_message: str | None = None,
    headers: dict[str, str] | None = None,
) -> ApiError:
    """A Google error answer: ``status`` HTTP code, ``errors[0]`` with ``reason`` and ``domain``."""
    item: dict[str, Any] = {"message": item_message or message, "domain": domain, "reason": reason}
    if location is not None:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    extra: dict[str, Any] = {"item": item}
    if status_text:
        extra["status"] = status_text
    return ApiError(status, message, code=reason, headers=headers, extra=extra)


def required_parameter(name: str) -> ApiError:
    return google_error(
        400,
        f"Required parameter: {name}",
        reason="required",
        location=name,
        location_type="parameter",
    )


def pacific_midnight_after(instant: datetime) -> datetime:
    """The next midnight in America/Los_Angeles after ``instant`` (YouTube's quota reset)."""
    from zoneinfo import ZoneInfo

    pacific = ZoneInfo("America/Los_Angeles")
    local = instant.astimezone(pacific)
    next_day = (local + timedelta(days=1)).date()
    return datetime(next_day.year, next_day.month, next_day.day, tzinfo=pacific)


class GoogleApiEmulator(Emulator):
    """Base of the YouTube and Calendar emulators: Google bodies, 401s and scope checks."""

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        item = error.extra.get("item") or {
            "message": error.message,
            "domain": "global",
            "reason": str(error.code or "backendError"),
        }
        body: dict[str, Any] = {
            "error": {"code": error.status, "message": error.message, "errors": [item]}
        }
        if error.extra.get("status"):
            body["error"]["status"] = error.extra["status"]
        return SandboxResponse.json(error.status, body, error.headers)

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        if kind is ErrorKind.RATE_LIMITED:
            reset_at = info.get("reset_at")
            wait = ceil((reset_at - self.ctx.now()).total_seconds()) if reset_at else 60
            return google_error(
                429,
                "Rate Limit Exceeded",
                reason="rateLimitExceeded",
                domain="usageLimits",
                status_text="RESOURCE_EXHAUSTED",
                headers={"retry-after": str(max(1, wait))},
            )
        if kind is ErrorKind.TOKEN_EXPIRED:
            return google_error(
                401,
                _UNAUTHENTICATED,
                reason="authError",
                item_message="Invalid Credentials",
                location="Authorization",
                location_type="header",
                status_text="UNAUTHENTICATED",
                headers={
                    "www-authenticate": 'Bearer realm="https://accounts.google.com/", '
                    'error="invalid_token"'
                },
            )
        if kind is ErrorKind.TOKEN_MISSING:
            return google_error(
                401,
                _MISSING,
                reason="required",
                item_message="Login Required.",
                location="Authorization",
                location_type="header",
                status_text="UNAUTHENTICATED",
                headers={"www-authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if kind is ErrorKind.NOT_FOUND:
            return google_error(404, "Not Found", reason="notFound", status_text="NOT_FOUND")
        return google_error(500, "Backend Error", reason="backendError")

    def authenticate(self, request: SandboxRequest) -> Token:
        """A token of another Google product is valid but lacks this API's scope: 403."""
        raw = request.bearer_token()
        if raw is None:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        token = self.ctx.tokens.lookup(raw)
        if token is None or not self.ctx.tokens.is_valid(token, self.ctx.now()):
            raise self.standard_error(ErrorKind.TOKEN_EXPIRED, request)
        if token.network != self.network:
            raise google_error(
                403,
                "Request had insufficient authentication scopes.",
                reason="insufficientPermissions",
                status_text="PERMISSION_DENIED",
                headers={
                    "www-authenticate": 'Bearer realm="https://accounts.google.com/", '
                    'error="insufficient_scope"'
                },
            )
        return token

    @staticmethod
    def json_body(request: SandboxRequest) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise google_error(
                400,
                "Invalid JSON payload received. Unexpected token.",
                reason="parseError",
                status_text="INVALID_ARGUMENT",
            ) from None
        if not isinstance(body, dict):
            raise google_error(
                400,
                "Invalid JSON payload received. Expected an object.",
                reason="parseError",
                status_text="INVALID_ARGUMENT",
            )
        return body

    def response_headers(self, request: SandboxRequest, route: Route | None) -> dict[str, str]:
        return {
            "server": "ESF",
            "vary": "Origin, X-Origin, Referer",
            "x-content-type-options": "nosniff",
            "cache-control": "private",
        }
