"""What the LinkedIn emulator knows: members, organizations, posts, images, and its error bodies."""

from __future__ import annotations

import enum
import hashlib
import http
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cm_toolkit.sandbox.core import ApiError

ACCESS_LIFETIME = timedelta(days=60)
REFRESH_LIFETIME = timedelta(days=365)
CODE_LIFETIME = timedelta(minutes=30)
SHARE_ID_BASE = 7_300_000_000_000_000_000

CLIENT_ID = "linkedin-sandbox-client-id"
CLIENT_SECRET = "linkedin-sandbox-client-secret"


class ImageStatus(enum.Enum):
    WAITING_UPLOAD = "WAITING_UPLOAD"
    AVAILABLE = "AVAILABLE"


@dataclass
class Member:
    id: str  # also the account id of its tokens
    urn: str
    name: str
    admin_of: set[str]  # organization numbers


@dataclass
class Organization:
    number: str
    name: str

    @property
    def urn(self) -> str:
        return f"urn:li:organization:{self.number}"


@dataclass
class Post:
    urn: str
    author: str
    commentary: str
    rendered: str
    truncated: bool  # LinkedIn cut the text at an unescaped reserved character
    entity: dict[str, Any]
    kind: str  # audience publication kind: article, visual, debate, post
    created_at: datetime
    deleted_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "author": self.author,
            "commentary": self.commentary,
            "rendered": self.rendered,
            "truncated": self.truncated,
            "kind": self.kind,
            "lifecycleState": self.entity.get("lifecycleState"),
            "content": self.entity.get("content"),
            "created_at": self.created_at.isoformat(),
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
        }


@dataclass
class Image:
    urn: str
    owner: str
    upload_path: str
    created_at: datetime
    status: ImageStatus = ImageStatus.WAITING_UPLOAD
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "owner": self.owner,
            "status": self.status.value,
            "size": self.size,
        }


@dataclass
class AuthorizationCode:
    code: str
    member_id: str
    client_id: str
    redirect_uri: str
    scope: str
    expires_at: datetime
    code_challenge: str | None = None


@dataclass
class LinkedInState:
    members: dict[str, Member] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    posts: dict[str, Post] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    refresh_issued: dict[str, datetime] = field(default_factory=dict)  # refresh token -> issued
    daily_calls: dict[tuple[str, str, str], int] = field(default_factory=dict)
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # the page's, by post


def opaque_id(seed: int, kind: str, number: int, length: int = 12) -> str:
    """A LinkedIn-looking opaque id (``D4E10AQ...``), the same for the same seed and number."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    digest = hashlib.sha256(f"{seed}:{kind}:{number}".encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def epoch_ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


# -- LinkedIn's error answers ---------------------------------------------------------------


def linkedin_error(
    status: int,
    message: str,
    *,
    code: str | None = None,
    service_code: int | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ApiError:
    return ApiError(status, message, code=code, subcode=service_code, headers=headers, extra=extra)


def render_body(error: ApiError) -> dict[str, Any]:
    """``{"status", "serviceErrorCode"?, "code"?, "message"}`` plus any extra fields."""
    extra = dict(error.extra)
    message = error.message
    if extra.pop("server_error", False):  # 5xx faults: the status is set after creation
        message = http.HTTPStatus(error.status).phrase
    body: dict[str, Any] = {"status": error.status}
    if error.subcode is not None:
        body["serviceErrorCode"] = error.subcode
    if error.code is not None:
        body["code"] = error.code
    body["message"] = message
    body.update(extra)
    return body


def validation_error(message: str) -> ApiError:
    """Rest.li's schema validation answer: 422, the ``ERROR :: /path :: reason`` lines."""
    return linkedin_error(422, message)


def access_denied(fields: str) -> ApiError:
    return linkedin_error(
        403,
        "Field Value validation failed in REQUEST_BODY: "
        f"Data Processing Exception while processing fields [{fields}]",
        code="ACCESS_DENIED",
        service_code=100,
    )


def not_found_entity() -> ApiError:
    return linkedin_error(404, "Could not find entity", code="NOT_FOUND")


def bad_request(message: str) -> ApiError:
    return linkedin_error(400, message)


def duplicate_post(existing: str) -> ApiError:
    return linkedin_error(
        422,
        "com.linkedin.content.common.exception.BadRequestResponseException: "
        f"Content is a duplicate of {existing}",
        extra={
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Duplicate post is detected",
                        "input": {},
                        "code": "DUPLICATE_POST",
                    }
                ]
            },
        },
    )


def oauth_error(error: str, description: str, status: int = 400) -> ApiError:
    """The OAuth endpoints answer ``{"error", "error_description"}``, not Rest.li bodies."""
    return ApiError(status, description, code=error, extra={"oauth": True})
