"""X OAuth 2.0: the authorization page (auto-approved) and the token endpoint.

- ``GET https://x.com/i/oauth2/authorize?response_type=code&client_id&redirect_uri&scope&state
  &code_challenge&code_challenge_method=S256`` (also on twitter.com, where tweepy sends users):
  approves at once for the sample account and answers ``302`` to ``redirect_uri?state=..&code=..``.
- ``POST https://api.x.com/2/oauth2/token`` (form): ``grant_type=authorization_code`` with
  ``code``, ``redirect_uri``, ``code_verifier`` (PKCE, checked against the challenge), and
  ``grant_type=refresh_token``. Public clients send ``client_id`` in the body, confidential ones
  HTTP Basic. Access tokens live 2 hours on the sandbox clock; refresh tokens rotate.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlencode, urlsplit

from cm_toolkit.sandbox.core import RateLimit, SandboxRequest, SandboxResponse, route
from cm_toolkit.sandbox.x import problems
from cm_toolkit.sandbox.x.base import ALL_SCOPES, MOOC_USER_ID, WINDOW, XEmulatorBase
from cm_toolkit.sandbox.x.model import ACCESS_TOKEN_LIFETIME, AUTH_CODE_LIFETIME, AuthCode, Grant

KNOWN_SCOPES = {
    "tweet.read",
    "tweet.write",
    "tweet.moderate.write",
    "users.read",
    "follows.read",
    "follows.write",
    "offline.access",
    "space.read",
    "mute.read",
    "mute.write",
    "like.read",
    "like.write",
    "list.read",
    "list.write",
    "block.read",
    "block.write",
    "bookmark.read",
    "bookmark.write",
    "media.write",
    "dm.read",
    "dm.write",
}
OAUTH_CALLS = RateLimit(10_000, WINDOW)
_EARLIER_REFRESH = re.compile(r"^x-sandbox-refresh-(?P<slug>[a-z0-9_]+)-\d+$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class OAuthRoutes(XEmulatorBase):
    @route("GET", r"/i/oauth2/authorize", auth=False, rate_limit=OAUTH_CALLS)
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        arg = request.arg
        client = self.clients.get(arg("client_id") or "")
        redirect_uri = arg("redirect_uri") or ""
        if client is None or urlsplit(redirect_uri).scheme not in ("http", "https"):
            # X shows an error page, without redirecting, when the client or callback is wrong
            page = b"<html><body>Something went wrong. You weren't able to give access to the App. Go back and try logging in again.</body></html>"
            return SandboxResponse(400, page, {"content-type": "text/html; charset=utf-8"})
        state = arg("state") or ""
        scope = (arg("scope") or "").split()
        error = None
        if arg("response_type") != "code":
            error = "unsupported_response_type"
        elif not scope or not set(scope) <= KNOWN_SCOPES:
            error = "invalid_scope"
        elif not arg("code_challenge") or (arg("code_challenge_method") or "plain") not in (
            "S256",
            "plain",
        ):
            error = "invalid_request"
        if error:
            return _redirect(redirect_uri, {"error": error, "state": state})
        code = f"x-sandbox-code-{self.ctx.next_id('x.code')}"
        self.codes[code] = AuthCode(
            code,
            client.client_id,
            redirect_uri,
            scope,
            arg("code_challenge") or "",
            arg("code_challenge_method") or "plain",
            self.ctx.signed_in.get("x", MOOC_USER_ID),
            self.ctx.now() + AUTH_CODE_LIFETIME,
        )
        return _redirect(redirect_uri, {"state": state, "code": code})

    @route("POST", r"/2/oauth2/token", auth=False, rate_limit=OAUTH_CALLS)
    def token(self, request: SandboxRequest) -> SandboxResponse:
        client_id = self._client_of(request)
        grant_type = request.arg("grant_type")
        if grant_type == "authorization_code":
            grant = self._from_code(request, client_id)
        elif grant_type == "refresh_token":
            grant = self._from_refresh(request, client_id)
        else:
            raise problems.oauth_error(
                400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported."
            )
        account = self.accounts[grant.account_id]
        token, minted = self._mint(account, client_id, grant.scope)
        body = {
            "token_type": "bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "access_token": token.value,
            "scope": " ".join(minted.scope),
        }
        if minted.refresh_token:
            body["refresh_token"] = minted.refresh_token
        return SandboxResponse.json(200, body, {"cache-control": "no-store"})

    def _client_of(self, request: SandboxRequest) -> str:
        header = request.header("authorization") or ""
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id, secret = "", ""
            client = self.clients.get(client_id)
            if client is None or client.client_secret is None or client.client_secret != secret:
                raise problems.oauth_error(
                    401, "unauthorized_client", "Missing valid authorization header"
                )
            return client_id
        client = self.clients.get(request.arg("client_id") or "")
        if client is None or client.client_secret is not None:
            raise problems.oauth_error(
                401, "unauthorized_client", "Missing valid authorization header"
            )
        return client.client_id

    def _from_code(self, request: SandboxRequest, client_id: str) -> Grant:
        code = self.codes.get(request.arg("code") or "")
        now = self.ctx.now()
        if (
            code is None
            or code.used
            or code.expires_at <= now
            or code.client_id != client_id
            or code.redirect_uri != request.arg("redirect_uri")
        ):
            raise problems.oauth_error(
                400, "invalid_request", "Value passed for the authorization code was invalid."
            )
        verifier = request.arg("code_verifier") or ""
        expected = s256(verifier) if code.method == "S256" else verifier
        if not verifier or expected != code.challenge:
            raise problems.oauth_error(
                400, "invalid_request", "Value passed for the code verifier did not match."
            )
        code.used = True
        return Grant(code.account_id, client_id, code.scope)

    def _from_refresh(self, request: SandboxRequest, client_id: str) -> Grant:
        value = request.arg("refresh_token") or ""
        grant = self.refresh_tokens.get(value)
        if grant is None and value not in self.used_refresh_tokens:
            grant = self._earlier_run(value, client_id)
        if grant is None or grant.client_id != client_id:
            raise problems.oauth_error(
                400, "invalid_request", "Value passed for the token was invalid."
            )
        if value not in self.seed_refresh_tokens:  # X refresh tokens are single-use
            self.refresh_tokens.pop(value, None)
            self.used_refresh_tokens.add(value)
        for access, old in self.grants.items():  # the access token it replaces stops working
            if old is grant:
                found = self.ctx.tokens.lookup(access)
                if found is not None:
                    found.revoked = True
        return Grant(grant.account_id, client_id, grant.scope)

    def _earlier_run(self, value: str, client_id: str) -> Grant | None:
        """A refresh token minted by an earlier sandbox run (kept in a token store) still works."""
        match = _EARLIER_REFRESH.match(value)
        for account in self.accounts.values():
            if match and account.slug == match["slug"]:
                return Grant(account.id, client_id, list(ALL_SCOPES), value)
        return None


def _redirect(redirect_uri: str, params: dict[str, str]) -> SandboxResponse:
    separator = "&" if urlsplit(redirect_uri).query else "?"
    location = redirect_uri + separator + urlencode(params)
    return SandboxResponse(302, b"", {"location": location, "content-type": "text/html"})
