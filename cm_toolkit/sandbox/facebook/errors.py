"""Graph API error answers: codes, messages and the ``{"error": {...}}`` body.

    {"error": {"message": "(#506) Duplicate status message", "type": "OAuthException",
               "code": 506, "error_subcode": ..., "fbtrace_id": "A1b2..."}}

Graph answers most errors with HTTP 400 (500 for its internal errors), and adds a
``WWW-Authenticate: OAuth "Facebook Platform" ...`` header naming the OAuth error.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from datetime import datetime
from typing import Any

from cm_toolkit.sandbox.core import ApiError, SandboxResponse


class GraphCode(enum.IntEnum):
    UNKNOWN = 1
    SERVICE = 2  # "An unexpected error has occurred. Please retry your request later."
    APP_LIMIT = 4
    USER_LIMIT = 17
    PAGE_LIMIT = 32
    INVALID_PARAMETER = 100
    TOKEN_REQUIRED = 104
    INVALID_TOKEN = 190
    PERMISSION = 200
    UPLOAD = 324
    DUPLICATE = 506
    CUSTOM_LIMIT = 613
    UNKNOWN_PATH = 2500


THROTTLE_MESSAGES = {
    GraphCode.APP_LIMIT: "(#4) Application request limit reached",
    GraphCode.USER_LIMIT: "(#17) User request limit reached",
    GraphCode.PAGE_LIMIT: "(#32) Page request limit reached",
    GraphCode.CUSTOM_LIMIT: "(#613) Calls to this api have exceeded the rate limit.",
}

SUBCODE_EXPIRED = 463
SUBCODE_MISSING_OBJECT = 33


def graph_error(
    code: GraphCode,
    message: str,
    *,
    status: int = 400,
    subcode: int | None = None,
    error_type: str = "OAuthException",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ApiError:
    """An ``ApiError`` that ``render_graph_error`` turns into Graph's body."""
    return ApiError(
        status,
        message,
        code=int(code),
        subcode=subcode,
        headers=headers,
        extra={"type": error_type, **extra},
    )


def invalid_parameter(message: str = "(#100) Invalid parameter", **extra: Any) -> ApiError:
    return graph_error(GraphCode.INVALID_PARAMETER, message, **extra)


def missing_object(method: str, object_id: str) -> ApiError:
    verb = {"GET": "get", "POST": "post", "DELETE": "delete"}.get(method, method.lower())
    return graph_error(
        GraphCode.INVALID_PARAMETER,
        f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=SUBCODE_MISSING_OBJECT,
        error_type="GraphMethodException",
    )


def unknown_path(components: str) -> ApiError:
    return graph_error(GraphCode.UNKNOWN_PATH, f"Unknown path components: {components}")


def expired_token(expired_at: datetime, now: datetime) -> ApiError:
    fmt = "%A, %d-%b-%y %H:%M:%S UTC"
    return graph_error(
        GraphCode.INVALID_TOKEN,
        f"Error validating access token: Session has expired on {expired_at.strftime(fmt)}. "
        f"The current time is {now.strftime(fmt)}.",
        subcode=SUBCODE_EXPIRED,
    )


def trace_id(seed: int, counter: int) -> str:
    """A deterministic fbtrace_id (Graph's are opaque base64-ish strings)."""
    digest = hashlib.sha256(f"{seed}:fbtrace:{counter}".encode()).digest()
    return "A" + base64.b64encode(digest).decode()[:22].replace("+", "x").replace("/", "y")


def render_graph_error(error: ApiError, fbtrace_id: str) -> SandboxResponse:
    extra = dict(error.extra)
    body: dict[str, Any] = {
        "message": error.message,
        "type": extra.pop("type", "OAuthException"),
        "code": error.code if isinstance(error.code, int) else int(GraphCode.UNKNOWN),
    }
    if error.subcode is not None:
        body["error_subcode"] = error.subcode
    body.update(extra)
    body["fbtrace_id"] = fbtrace_id
    oauth_error = "invalid_token" if body["code"] == GraphCode.INVALID_TOKEN else "invalid_request"
    headers = {
        "www-authenticate": f'OAuth "Facebook Platform" "{oauth_error}" '
        + json.dumps(error.message, ensure_ascii=True),
        **error.headers,
    }
    return SandboxResponse.json(error.status, {"error": body}, headers)
