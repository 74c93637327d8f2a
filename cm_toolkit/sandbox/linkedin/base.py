"""The LinkedIn emulator's shared machinery: gateway checks, tokens, daily quotas, error bodies.

Every ``/rest/`` call passes the gateway first, in LinkedIn's order: the ``LinkedIn-Version``
header (400 ``VERSION_MISSING``; 426 ``NONEXISTENT_VERSION`` for a version that is not active),
``X-Restli-Protocol-Version: 2.0.0``, then the bearer token (401 ``serviceErrorCode`` 65600
invalid, 65602 expired). Quotas are daily per member and reset at midnight UTC; LinkedIn's 429
carries no reset header.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    SandboxContext,
    SandboxRequest,
    SandboxResponse,
    Token,
)
from cm_toolkit.sandbox.linkedin.model import (
    ACCESS_LIFETIME,
    CLIENT_ID,
    CLIENT_SECRET,
    LinkedInState,
    Member,
    Organization,
    linkedin_error,
    render_body,
)

_VERSION = re.compile(r"(\d{4})(\d{2})(?:\.(\d{2}))?")

# Daily calls per member and resource (LinkedIn does not publish them: these are the sandbox's,
# in the range the developer portal shows for Community Management apps; change them per
# instance, e.g. ``sandbox.emulator("linkedin").daily_limits["posts.create"] = 2``).
DAILY_LIMITS: dict[str, int] = {
    "posts.create": 150,
    "posts.get": 500,
    "posts.delete": 150,
    "images.initializeUpload": 500,
    "images.get": 500,
    "images.upload": 500,
    "networkSizes.get": 500,
    "followerStatistics.finder": 500,
    "shareStatistics.finder": 500,
    "comments.get": 500,
}


class LinkedInBase(Emulator):
    network: ClassVar[str] = "linkedin"
    hosts: ClassVar[tuple[str, ...]] = ("api.linkedin.com", "www.linkedin.com")
    auth_paths: ClassVar[str] = r"/oauth/v2/accessToken"
    # tuned so the sample season ends near LinkedIn x3 (docs/sandbox.md)
    growth: ClassVar[GrowthProfile] = GrowthProfile(
        1500, 0.0085, {"debate": 95, "post": 40, "article": 55})

    # Versions: LinkedIn keeps each monthly version active for about a year. The sandbox accepts
    # OLDEST_ACTIVE up to the sandbox clock's month (at least LATEST_RELEASED), and does not
    # sunset versions as its clock moves, so a replayed season keeps working.
    OLDEST_ACTIVE: ClassVar[str] = "202511"
    LATEST_RELEASED: ClassVar[str] = "202611"

    def __init__(self, ctx: SandboxContext) -> None:
        self.data = LinkedInState()
        self.daily_limits = dict(DAILY_LIMITS)
        super().__init__(ctx)

    # -- accounts ---------------------------------------------------------------------------

    def seed_accounts(self) -> None:
        """The MOOC's page (organization 5515715) administered by member ``cm-manager``, and an
        organization it does not administer (2414183, administered by ``outsider``)."""
        now = self.ctx.now()
        self.data.organizations["5515715"] = Organization("5515715", "Du Manager au Leader 2.0")
        self.data.organizations["2414183"] = Organization("2414183", "Une autre entreprise")
        self.data.members["cm-manager"] = Member(
            "cm-manager", "urn:li:person:cmManager01", "Équipe du MOOC", {"5515715"}
        )
        self.data.members["outsider"] = Member(
            "outsider", "urn:li:person:outsider02", "Quelqu'un d'autre", {"2414183"}
        )
        for member_id in self.data.members:
            refresh = f"linkedin-sandbox-refresh-{member_id}"
            self.ctx.tokens.add(
                Token(
                    value=f"linkedin-sandbox-access-{member_id}",
                    network=self.network,
                    account_id=member_id,
                    expires_at=now + ACCESS_LIFETIME,
                    refresh_token=refresh,
                )
            )
            self.data.refresh_issued[refresh] = now

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        """An organization administered by ``cm-manager``, whose tokens are returned."""
        urn = str(account.get("organization") or "")
        prefix = "urn:li:organization:"
        if not urn.startswith(prefix):
            return {}
        number = urn[len(prefix):]
        if number not in self.data.organizations:
            self.data.organizations[number] = Organization(number, f"Organization {number}")
        self.data.members["cm-manager"].admin_of.add(number)
        return {"access_token": "linkedin-sandbox-access-cm-manager",
                "refresh_token": "linkedin-sandbox-refresh-cm-manager",
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    def environment(self) -> dict[str, str]:
        """Env vars of channels/linkedin-page.yaml (and the optional refresh secrets)."""
        return {
            "CM_LINKEDIN_ACCESS_TOKEN": "linkedin-sandbox-access-cm-manager",
            "CM_LINKEDIN_REFRESH_TOKEN": "linkedin-sandbox-refresh-cm-manager",
            "CM_LINKEDIN_CLIENT_ID": CLIENT_ID,
            "CM_LINKEDIN_CLIENT_SECRET": CLIENT_SECRET,
        }

    def member(self, token: Token) -> Member:
        return self.data.members[token.account_id]

    def administers(self, token: Token, urn: str) -> bool:
        """The token's member may act as ``urn``: an organization it administers, or itself."""
        member = self.member(token)
        prefix = "urn:li:organization:"
        if urn.startswith(prefix):
            return urn[len(prefix) :] in member.admin_of
        return urn == member.urn

    def organization(self, urn: str) -> Organization | None:
        prefix = "urn:li:organization:"
        return self.data.organizations.get(urn[len(prefix) :]) if urn.startswith(prefix) else None

    # -- the gateway ------------------------------------------------------------------------

    def version_active(self, version: str) -> bool:
        match = _VERSION.fullmatch(version)
        if not match or not 1 <= int(match.group(2)) <= 12:
            return False
        month = match.group(1) + match.group(2)
        latest = max(self.ctx.now().strftime("%Y%m"), self.LATEST_RELEASED)
        return self.OLDEST_ACTIVE <= month <= latest

    def check_gateway(self, request: SandboxRequest) -> None:
        version = request.header("linkedin-version")
        if not version:
            raise linkedin_error(
                400,
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                code="VERSION_MISSING",
                headers={"x-restli-gateway-error": "true"},
            )
        if not self.version_active(version.strip()):
            raise linkedin_error(
                426,
                f"Requested version {version.strip()} is not active",
                code="NONEXISTENT_VERSION",
                headers={"x-restli-gateway-error": "true"},
            )
        if (request.header("x-restli-protocol-version") or "").strip() != "2.0.0":
            # LinkedIn reads 1.0 syntax without the header; the sandbox insists, so that a
            # client forgetting it fails here instead of in production on List(...) params.
            raise linkedin_error(
                400,
                "X-Restli-Protocol-Version: 2.0.0 is required (sandbox rule: LinkedIn reads "
                "Rest.li 1.0 query syntax without it)",
                code="PROTOCOL_VERSION_MISSING",
            )

    def authenticate(self, request: SandboxRequest) -> Token:
        if request.path.startswith("/rest/"):
            self.check_gateway(request)
        if not request.header("authorization"):
            raise linkedin_error(401, "Empty oauth2_access_token", service_code=401)
        return super().authenticate(request)

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        if kind is ErrorKind.RATE_LIMITED:
            return linkedin_error(
                429,
                "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this "
                "resource is reached.",
                code="TOO_MANY_REQUESTS",
                service_code=101,
            )
        if kind is ErrorKind.TOKEN_EXPIRED:
            return linkedin_error(
                401,
                "The token used in the request has expired",
                code="EXPIRED_ACCESS_TOKEN",
                service_code=65602,
            )
        if kind is ErrorKind.TOKEN_MISSING:
            return linkedin_error(
                401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service_code=65600
            )
        if kind is ErrorKind.NOT_FOUND:
            return linkedin_error(
                404, "No virtual resource found", code="RESOURCE_NOT_FOUND", service_code=0
            )
        return linkedin_error(500, "Internal Server Error", extra={"server_error": True})

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        if error.extra.get("oauth"):
            body: dict[str, Any] = {"error": error.code, "error_description": error.message}
        else:
            body = render_body(error)
        return SandboxResponse.json(error.status, body, error.headers)

    def spend(self, name: str, token: Token, request: SandboxRequest) -> None:
        """Count one call against the member's daily quota of ``name`` (UTC day)."""
        day = self.ctx.now().astimezone(UTC).strftime("%Y-%m-%d")
        key = (name, token.account_id, day)
        used = self.data.daily_calls.get(key, 0)
        if used >= self.daily_limits.get(name, 10_000):
            now = self.ctx.now().astimezone(UTC)
            midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
            raise self.standard_error(ErrorKind.RATE_LIMITED, request, reset_at=midnight)
        self.data.daily_calls[key] = used + 1

    def state(self) -> dict[str, Any]:
        now = self.ctx.now()
        return {
            "organizations": {
                org.urn: {
                    "name": org.name,
                    "followers": self.ctx.audience.followers(self.network, org.number, now),
                    "administrators": sorted(
                        m.urn for m in self.data.members.values() if org.number in m.admin_of
                    ),
                }
                for org in self.data.organizations.values()
            },
            "posts": [post.as_dict() for post in self.data.posts.values()],
            "images": [image.as_dict() for image in self.data.images.values()],
            "comments": {  # the page's own comments, by post
                post: [{"urn": c["commentUrn"], "text": c["message"]["text"],
                        "parent": c.get("parentComment")} for c in written]
                for post, written in self.data.comments.items()
            },
            "daily_calls": [
                {"resource": name, "member": member, "day": day, "calls": calls}
                for (name, member, day), calls in sorted(self.data.daily_calls.items())
            ],
        }
