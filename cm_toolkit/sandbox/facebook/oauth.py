"""Facebook Login in the sandbox: the dialog, the token endpoint and the Page-token exchange.

1. ``GET https://www.facebook.com/v24.0/dialog/oauth?client_id&redirect_uri&state&scope``
   (optionally ``code_challenge`` + ``code_challenge_method=S256``) auto-approves and answers
   ``302 Location: {redirect_uri}?code=...&state=...``.
2. ``GET /v24.0/oauth/access_token?client_id&client_secret&redirect_uri&code`` (and
   ``code_verifier`` with PKCE) -> a short-lived user token (1 hour).
3. ``GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token``
   -> a long-lived user token (60 days).
4. ``GET /me/accounts`` or ``GET /{page-id}?fields=access_token`` with the user token -> the Page
   token (no expiry when minted from a long-lived user token).

``grant_type=client_credentials`` gives the app token ``{app-id}|{app-secret}``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, route
from cm_toolkit.sandbox.facebook.base import (
    LONG_LIVED,
    SHORT_LIVED,
    USER_ID,
    WWW_HOST,
    GraphBase,
)
from cm_toolkit.sandbox.facebook.errors import GraphCode, graph_error, invalid_parameter
from cm_toolkit.sandbox.facebook.state import TokenKind

VERSION = r"(?:/v\d+\.\d+)?"
CODE_LIFETIME_SECONDS = 600


def _html(status: int, text: str, headers: dict[str, str] | None = None) -> SandboxResponse:
    body = f"<!DOCTYPE html><html><body><p>{text}</p></body></html>".encode()
    return SandboxResponse(
        status, body, {"content-type": "text/html; charset=utf-8", **(headers or {})}
    )


class GraphOAuth(GraphBase):
    @route("GET", VERSION + r"/dialog/oauth", auth=False)
    def oauth_dialog(self, request: SandboxRequest) -> SandboxResponse:
        if request.host.split(":")[0].lower() not in (WWW_HOST, "facebook.com", "m.facebook.com"):
            return _html(404, "Sorry, this content isn't available right now")
        client_id = request.arg("client_id") or ""
        redirect_uri = request.arg("redirect_uri") or ""
        if client_id not in self.apps:
            return _html(
                400, "Invalid App ID: the provided app ID does not look like a valid app ID."
            )
        if not redirect_uri.startswith(("http://", "https://")):
            return _html(
                400,
                "URL blocked: this redirect failed because the redirect URI is "
                "not whitelisted in the app's Client OAuth Settings.",
            )
        number = self.ctx.next_id("facebook-code")
        code = f"facebook-sandbox-code-{number}"
        self.codes[code] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "user_id": USER_ID,
            "issued_at": self.now().isoformat(),
            "scope": request.arg("scope") or "",
            "challenge": request.arg("code_challenge") or "",
            "challenge_method": request.arg("code_challenge_method") or "plain",
        }
        params: dict[str, str] = {"code": code}
        if request.arg("state") is not None:
            params["state"] = request.arg("state") or ""
        parts = urlsplit(redirect_uri)
        query = (parts.query + "&" if parts.query else "") + urlencode(params)
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
        return _html(302, "Redirecting", {"location": location})

    @route("GET", VERSION + r"/oauth/access_token", auth=False)
    def oauth_access_token(self, request: SandboxRequest) -> SandboxResponse:
        return self.token_answer(request)

    @route("POST", VERSION + r"/oauth/access_token", auth=False)
    def oauth_access_token_post(self, request: SandboxRequest) -> SandboxResponse:
        return self.token_answer(request)

    def token_answer(self, request: SandboxRequest) -> SandboxResponse:
        client_id = request.arg("client_id") or ""
        secret = request.arg("client_secret") or ""
        if client_id not in self.apps:
            raise invalid_parameter(
                "Error validating application. Invalid application ID.", subcode=None
            )
        if self.apps[client_id] != secret:
            raise graph_error(GraphCode.UNKNOWN, "Error validating client secret.")
        grant = request.arg("grant_type") or ("authorization_code" if request.arg("code") else "")
        if grant == "client_credentials":
            return SandboxResponse.json(
                200, {"access_token": f"{client_id}|{secret}", "token_type": "bearer"}
            )
        if grant == "fb_exchange_token":
            return SandboxResponse.json(200, self.exchange(request.arg("fb_exchange_token")))
        if grant == "authorization_code":
            return SandboxResponse.json(200, self.redeem_code(request, client_id))
        raise invalid_parameter(f"(#100) Unsupported grant_type {grant!r}")

    def redeem_code(self, request: SandboxRequest, client_id: str) -> dict[str, Any]:
        code = request.arg("code") or ""
        grant = self.codes.pop(code, None)
        if grant is None or grant["client_id"] != client_id:
            raise invalid_parameter(
                "This authorization code has been used."
                if code.startswith("facebook-sandbox-code-")
                else "Invalid verification code format.",
                subcode=36009 if code.startswith("facebook-sandbox-code-") else 36007,
            )
        age = (self.now() - datetime.fromisoformat(grant["issued_at"])).total_seconds()
        if age > CODE_LIFETIME_SECONDS:
            raise invalid_parameter("This authorization code has expired.", subcode=36007)
        if (request.arg("redirect_uri") or "") != grant["redirect_uri"]:
            raise invalid_parameter(
                "Error validating verification code. Please make sure your redirect_uri is "
                "identical to the one you used in the OAuth dialog request",
                subcode=36008,
            )
        if grant["challenge"] and not self.verifier_matches(
            request.arg("code_verifier") or "", grant["challenge"], grant["challenge_method"]
        ):
            raise invalid_parameter("Invalid code verifier.", subcode=36008)
        token = self.mint_user_token(grant["user_id"], SHORT_LIVED)
        return {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": int(SHORT_LIVED.total_seconds()),
        }

    def verifier_matches(self, verifier: str, challenge: str, method: str) -> bool:
        if method.upper() == "S256":
            digest = hashlib.sha256(verifier.encode()).digest()
            return base64.urlsafe_b64encode(digest).decode().rstrip("=") == challenge
        return verifier == challenge

    def exchange(self, value: str | None) -> dict[str, Any]:
        """``fb_exchange_token``: a long-lived token for a valid short-lived one."""
        token = self.ctx.tokens.lookup(value)
        if token is None or not self.ctx.tokens.is_valid(token, self.now()):
            raise graph_error(
                GraphCode.INVALID_TOKEN,
                "Invalid OAuth access token - Cannot parse access token",
            )
        kind = self.token_kind(token)
        if kind is TokenKind.USER:
            long_lived = self.mint_user_token(token.account_id, LONG_LIVED)
            return {
                "access_token": long_lived.value,
                "token_type": "bearer",
                "expires_in": int(LONG_LIVED.total_seconds()),
            }
        if kind is TokenKind.PAGE:
            token.expires_at = None  # a long-lived Page token does not expire
            return {"access_token": token.value, "token_type": "bearer"}
        raise invalid_parameter("(#100) fb_exchange_token must be a user or Page token")
