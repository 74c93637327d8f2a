"""LinkedIn's OAuth 2.0 endpoints on www.linkedin.com (3-legged, with optional PKCE).

- ``GET /oauth/v2/authorization?response_type=code&client_id&redirect_uri&state&scope``:
  auto-approves as member ``cm-manager`` and redirects (302) to ``redirect_uri?code=..&state=..``.
- ``POST /oauth/v2/accessToken`` (form): ``grant_type=authorization_code`` (``code``,
  ``redirect_uri``, ``client_id``, ``client_secret`` or a PKCE ``code_verifier``) and
  ``grant_type=refresh_token``. Answers ``{access_token, expires_in: 5184000 (60 days),
  refresh_token, refresh_token_expires_in, scope}``; a refresh keeps the refresh token and its
  original 365-day deadline, as LinkedIn does.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlencode

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.linkedin.base import LinkedInBase
from cm_toolkit.sandbox.linkedin.model import (
    ACCESS_LIFETIME,
    CLIENT_ID,
    CLIENT_SECRET,
    CODE_LIFETIME,
    REFRESH_LIFETIME,
    AuthorizationCode,
    oauth_error,
    opaque_id,
)

APPROVING_MEMBER = "cm-manager"
DEFAULT_SCOPE = "r_organization_social,w_organization_social,rw_organization_admin"
_CODE_MISMATCH = (
    "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
    "authorization code. Or authorization code expired. Or external member binding exists"
)


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


class OAuthRoutes(LinkedInBase):
    @route("GET", r"/oauth/v2/authorization", auth=False)
    def authorization(self, request: SandboxRequest) -> SandboxResponse:
        client_id, redirect_uri = request.arg("client_id"), request.arg("redirect_uri")
        if client_id != CLIENT_ID:
            raise oauth_error("invalid_client", "The passed in client_id is invalid")
        if not redirect_uri:
            raise oauth_error("invalid_request", 'A required parameter "redirect_uri" is missing')
        state = request.arg("state") or ""
        if request.arg("response_type") != "code":
            location = _with_query(
                redirect_uri, {"error": "unsupported_response_type", "state": state}
            )
            return SandboxResponse(302, b"", {"location": location})
        number = self.ctx.next_id("linkedin-code")
        code = "AQ" + opaque_id(self.ctx.seed, "code", number, 40)
        self.data.codes[code] = AuthorizationCode(
            code=code,
            member_id=APPROVING_MEMBER,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scope=(request.arg("scope") or DEFAULT_SCOPE).replace(" ", ","),
            expires_at=self.ctx.now() + CODE_LIFETIME,
            code_challenge=request.arg("code_challenge"),
        )
        return SandboxResponse(
            302, b"", {"location": _with_query(redirect_uri, {"code": code, "state": state})}
        )

    @route("POST", r"/oauth/v2/accessToken", auth=False)
    def access_token(self, request: SandboxRequest) -> SandboxResponse:
        grant = request.arg("grant_type")
        if not grant:
            raise oauth_error("invalid_request", 'A required parameter "grant_type" is missing')
        if grant == "authorization_code":
            return self._code_grant(request)
        if grant == "refresh_token":
            return self._refresh_grant(request)
        raise oauth_error("unsupported_grant_type", f"The grant_type {grant} is not supported")

    def _client_ok(self, request: SandboxRequest, *, pkce: bool = False) -> None:
        if request.arg("client_id") != CLIENT_ID:
            raise oauth_error("invalid_client", "Client authentication failed", 401)
        if not pkce and request.arg("client_secret") != CLIENT_SECRET:
            raise oauth_error("invalid_client", "Client authentication failed", 401)

    def _code_grant(self, request: SandboxRequest) -> SandboxResponse:
        code = self.data.codes.pop(request.arg("code") or "", None)
        verifier = request.arg("code_verifier")
        self._client_ok(request, pkce=bool(code and code.code_challenge and verifier))
        now = self.ctx.now()
        if (
            code is None
            or code.expires_at <= now
            or code.redirect_uri != request.arg("redirect_uri")
        ):
            raise oauth_error("invalid_request", _CODE_MISMATCH)
        if code.code_challenge:
            digest = hashlib.sha256((verifier or "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != code.code_challenge:
                raise oauth_error("invalid_request", _CODE_MISMATCH)
        number = self.ctx.next_id("linkedin-token")
        refresh = f"linkedin-sandbox-refresh-{code.member_id}-a{number}"
        token = self.ctx.tokens.add(
            Token(
                value=f"linkedin-sandbox-access-{code.member_id}-a{number}",
                network=self.network,
                account_id=code.member_id,
                expires_at=now + ACCESS_LIFETIME,
                refresh_token=refresh,
            )
        )
        self.data.refresh_issued[refresh] = now
        return self._token_answer(token.value, refresh, code.scope)

    def _refresh_grant(self, request: SandboxRequest) -> SandboxResponse:
        self._client_ok(request)
        refresh = request.arg("refresh_token") or ""
        issued = self.data.refresh_issued.get(refresh)
        now = self.ctx.now()
        token = None
        if issued is not None and issued + REFRESH_LIFETIME > now:
            token = self.ctx.tokens.refresh(refresh, now, ACCESS_LIFETIME)
        if token is None:
            raise oauth_error("invalid_request", "The provided refresh token is invalid or expired")
        return self._token_answer(token.value, refresh, DEFAULT_SCOPE)

    def _token_answer(self, access: str, refresh: str, scope: str) -> SandboxResponse:
        remaining = self.data.refresh_issued[refresh] + REFRESH_LIFETIME - self.ctx.now()
        return SandboxResponse.json(
            200,
            {
                "access_token": access,
                "expires_in": int(ACCESS_LIFETIME.total_seconds()),
                "refresh_token": refresh,
                "refresh_token_expires_in": int(remaining.total_seconds()),
                "scope": scope,
            },
        )
