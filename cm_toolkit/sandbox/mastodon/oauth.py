"""Mastodon's OAuth on every instance: app registration, the authorization page, the token.

- ``POST /api/v1/apps`` (``client_name``, ``redirect_uris``, ``scopes``): a new app of this
  instance, answered with its ``client_id`` and ``client_secret``.
- ``GET /oauth/authorize?response_type=code&client_id&redirect_uri&scope[&code_challenge]``:
  approved at once for the account the sandbox is signed in to on that instance (the sample's,
  or the last provisioned), ``302`` to ``redirect_uri?code=..&state=..``.
- ``POST /oauth/token`` (``grant_type=authorization_code``, ``code``, ``client_id``,
  ``client_secret``, ``redirect_uri``, ``code_verifier`` with PKCE): the account's access token.
  Mastodon's tokens do not expire and have no refresh token.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from cm_toolkit.sandbox.core import ApiError, SandboxRequest, SandboxResponse, route
from cm_toolkit.sandbox.mastodon.base import MastodonEmulatorBase, _host, token_for


@dataclass
class App:
    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    instance: str


@dataclass
class Code:
    app: App
    acct: str
    redirect_uri: str
    challenge: str | None


class OAuthRoutes(MastodonEmulatorBase):
    apps: dict[str, App]
    codes: dict[str, Code]

    def seed_accounts(self) -> None:
        self.apps, self.codes = {}, {}
        super().seed_accounts()

    @route("POST", r"/api/v1/apps", auth=False)
    def register(self, request: SandboxRequest) -> SandboxResponse:
        fields = _form_or_json(request)
        uris = fields.get("redirect_uris") or []
        uris = uris if isinstance(uris, list) else str(uris).split()
        if not fields.get("client_name") or not uris:
            raise ApiError(422, "Validation failed: Application name can't be blank, "
                                "Redirect URI can't be blank")
        number = self.ctx.next_id("mastodon.app")
        app = App(f"mastodon-sandbox-client-{number}", f"mastodon-sandbox-secret-{number}",
                  str(fields["client_name"]), [str(u) for u in uris],
                  str(fields.get("scopes") or "read").split(), _host(request))
        self.apps[app.client_id] = app
        return SandboxResponse.json(200, {
            "id": str(number), "name": app.name, "website": fields.get("website"),
            "scopes": app.scopes, "redirect_uris": app.redirect_uris,
            "redirect_uri": "\n".join(app.redirect_uris), "client_id": app.client_id,
            "client_secret": app.client_secret, "vapid_key": "sandbox-vapid-key"})

    @route("GET", r"/oauth/authorize", auth=False)
    def authorize(self, request: SandboxRequest) -> SandboxResponse:
        app = self.apps.get(request.arg("client_id") or "")
        redirect_uri = request.arg("redirect_uri") or ""
        if app is None or app.instance != _host(request) or redirect_uri not in app.redirect_uris:
            page = b"<html><body>The redirect uri included is not valid.</body></html>"
            return SandboxResponse(400, page, {"content-type": "text/html; charset=utf-8"})
        signed_in = self.ctx.signed_in.get(self.network, "")
        acct = signed_in if signed_in.endswith("@" + app.instance) else next(
            (a for a in self.accounts if a.endswith("@" + app.instance)), "")
        code = f"mastodon-sandbox-code-{self.ctx.next_id('mastodon.code')}"
        self.codes[code] = Code(app, acct, redirect_uri, request.arg("code_challenge"))
        query = {"code": code, **({"state": s} if (s := request.arg("state")) else {})}
        return SandboxResponse(302, b"", {"location": f"{redirect_uri}?{urlencode(query)}"})

    @route("POST", r"/oauth/token", auth=False)
    def token(self, request: SandboxRequest) -> SandboxResponse:
        fields = _form_or_json(request)
        code = self.codes.pop(str(fields.get("code") or ""), None)
        app = self.apps.get(str(fields.get("client_id") or ""))
        verifier = fields.get("code_verifier")
        if (fields.get("grant_type") != "authorization_code" or code is None or app is None
                or code.app is not app or code.redirect_uri != fields.get("redirect_uri")
                or (fields.get("client_secret") not in (None, app.client_secret))
                or (code.challenge and _s256(str(verifier or "")) != code.challenge)
                or not code.acct):
            return SandboxResponse.json(400, {
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid, expired, "
                "revoked, does not match the redirection URI used in the authorization request, "
                "or was issued to another client."})
        return SandboxResponse.json(200, {
            "access_token": token_for(code.acct), "token_type": "Bearer",
            "scope": " ".join(app.scopes), "created_at": int(self.ctx.now().timestamp())})


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _form_or_json(request: SandboxRequest) -> dict[str, Any]:
    if (request.header("content-type") or "").startswith("application/json"):
        body = request.json()
        return body if isinstance(body, dict) else {}
    form = request.form()
    found: dict[str, Any] = {k[:-2]: v for k, v in form.items() if k.endswith("[]")}
    found.update({k: v[-1] for k, v in form.items() if not k.endswith("[]")})
    return found
