"""``cm auth CHANNEL``: obtain a channel's tokens with the network's OAuth flow.

One authorization-code flow, with each network's differences as data (``PROVIDERS``):

1. a listener on ``http://127.0.0.1:PORT/callback`` (a random port unless ``--port`` is given:
   X, LinkedIn and Facebook only accept a redirect URI registered exactly, port included;
   Google accepts any loopback port for installed apps);
2. the browser opens the network's authorization page (``state`` against forgery, PKCE S256
   where the network supports it); the person approves; the network redirects to the listener
   with ``code``;
3. the code is exchanged at the token endpoint (form POST; X uses HTTP Basic for confidential
   clients; Facebook's endpoint is a GET, then the short-lived user token is exchanged for a
   long-lived one and the Page's own token is read with ``GET /{page-id}?fields=access_token``);
4. the tokens are handed to ``Credentials.update`` (the owner-only token store, or the keyring).

HTTP goes through ``Transport.requests_adapter`` when one is given, so the same flow runs
against the sandbox (whose authorization endpoints approve at once and redirect).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from cm_toolkit.channels.base import Credentials, Transport
from cm_toolkit.channels.facts import OAuthProvider
from cm_toolkit.errors import ChannelError, TransientError, UsageError

GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
GOOGLE_PARAMS = {"access_type": "offline", "prompt": "consent"}  # consent: always a refresh token
FACEBOOK_GRAPH = "https://graph.facebook.com/v24.0"

PROVIDERS: dict[str, OAuthProvider] = {
    "x": OAuthProvider(
        "x",
        "https://x.com/i/oauth2/authorize",
        "https://api.x.com/2/oauth2/token",
        ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access"),
        pkce=True,
        basic_auth=True,
        client_env=("CM_X_CLIENT_ID", "CM_X_CLIENT_SECRET"),
        secret_required=False,  # a public client (PKCE only) has no secret
    ),
    "linkedin": OAuthProvider(
        "linkedin",
        "https://www.linkedin.com/oauth/v2/authorization",
        "https://www.linkedin.com/oauth/v2/accessToken",
        ("r_organization_social", "w_organization_social", "rw_organization_admin"),
        client_env=("CM_LINKEDIN_CLIENT_ID", "CM_LINKEDIN_CLIENT_SECRET"),
    ),
    "youtube": OAuthProvider(
        "youtube",
        GOOGLE_AUTHORIZE,
        GOOGLE_TOKEN,
        ("https://www.googleapis.com/auth/youtube",),
        pkce=True,
        extra_params=GOOGLE_PARAMS,
        client_env=("CM_GOOGLE_CLIENT_ID", "CM_GOOGLE_CLIENT_SECRET"),
    ),
    "meet": OAuthProvider(
        "meet",
        GOOGLE_AUTHORIZE,
        GOOGLE_TOKEN,
        ("https://www.googleapis.com/auth/calendar.events",),
        pkce=True,
        extra_params=GOOGLE_PARAMS,
        client_env=("CM_GOOGLE_CLIENT_ID", "CM_GOOGLE_CLIENT_SECRET"),
    ),
    "facebook": OAuthProvider(
        "facebook",
        "https://www.facebook.com/v24.0/dialog/oauth",
        f"{FACEBOOK_GRAPH}/oauth/access_token",
        ("pages_show_list", "pages_read_engagement", "pages_manage_posts"),
        scope_separator=",",
        token_method="GET",
        client_env=("CM_FACEBOOK_APP_ID", "CM_FACEBOOK_APP_SECRET"),
        stored={"page_token": "page_token", "user_token": "user_token"},
    ),
}


def provider_for(network: str) -> OAuthProvider:
    try:
        return PROVIDERS[network]
    except KeyError:
        raise UsageError(
            f"network {network!r} has no OAuth flow",
            fix="manual channels need no authorization; others: "
            + ", ".join(sorted(PROVIDERS)),
        ) from None


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None

    def __repr__(self) -> str:
        return f"<ClientCredentials {self.client_id}>"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class RedirectListener:
    """A one-shot HTTP listener on 127.0.0.1 receiving the authorization redirect."""

    def __init__(self, port: int = 0, path: str = "/callback") -> None:
        self.path = path
        self.params: dict[str, str] | None = None
        self._received = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != listener.path:
                    self.send_error(404)
                    return
                query = parse_qs(parts.query)
                listener.params = {k: v[0] for k, v in query.items()}
                ok = "code" in listener.params
                body = (
                    "<!doctype html><title>cm-toolkit</title><p>"
                    + ("Authorized. You can close this tab and go back to the terminal."
                       if ok else "Authorization was not granted. See the terminal.")
                    + "</p>"
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                listener._received.set()

            def log_message(self, format: str, *args: Any) -> None:  # the code is a secret
                return

        try:
            self._server = HTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot listen on 127.0.0.1:{port} for the redirect: {exc.strerror}",
                fix="choose another --port (the one registered in the app's redirect URIs)",
            ) from None
        # a short poll interval: closing the listener takes 50 ms, not 500
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait(self, timeout: float) -> dict[str, str]:
        if not self._received.wait(timeout):
            raise UsageError(
                f"no answer from the browser within {timeout:g} seconds",
                fix="run `cm auth` again and approve the access in the browser",
            )
        assert self.params is not None
        return self.params


class AuthorizationFlow:
    """The authorization-code flow of one channel (see the module docstring)."""

    def __init__(
        self,
        channel_id: str,
        provider: OAuthProvider,
        client: ClientCredentials,
        *,
        transport: Transport | None = None,
        account: Mapping[str, Any] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.channel_id = channel_id
        self.provider = provider
        self.client = client
        self.transport = transport or Transport()
        self.account = dict(account or {})
        self._now = now
        if provider.secret_required and not client.client_secret:
            raise UsageError(
                f"{provider.network} needs the app's client secret to authorize {channel_id}",
                fix=f"set {provider.client_env[1]} or pass --client-secret",
            )

    def _session(self) -> requests.Session:
        session = requests.Session()
        if self.transport.requests_adapter is not None:
            session.mount("https://", self.transport.requests_adapter)
            session.mount("http://", self.transport.requests_adapter)
        return session

    def authorize_url(self, redirect_uri: str, state: str, challenge: str | None) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.provider.scope_separator.join(self.provider.scopes),
            "state": state,
            **self.provider.extra_params,
        }
        if challenge is not None:
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        return f"{self.provider.authorize_url}?{urlencode(params)}"

    def run(
        self, open_url: Callable[[str], object], *, port: int = 0, timeout: float = 300.0
    ) -> dict[str, str]:
        """Open the authorization page, wait for the redirect, return the values to store."""
        state = secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair() if self.provider.pkce else (None, None)
        with RedirectListener(port) as listener:
            open_url(self.authorize_url(listener.redirect_uri, state, challenge))
            params = listener.wait(timeout)
        if params.get("state") != state:
            raise UsageError(
                "the authorization answer does not carry the state this flow sent",
                fix="run `cm auth` again (an old browser tab may have answered)",
            )
        if "code" not in params:
            raise ChannelError(
                f"{self.provider.network} did not authorize {self.channel_id}",
                network=self.provider.network,
                code=params.get("error"),
                network_message=params.get("error_description"),
                fix="approve the access in the browser, with an account that manages it",
            )
        return self.exchange(params["code"], listener.redirect_uri, verifier)

    def exchange(self, code: str, redirect_uri: str, verifier: str | None) -> dict[str, str]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        auth: tuple[str, str] | None = None
        if self.provider.basic_auth and self.client.client_secret:
            auth = (self.client.client_id, self.client.client_secret)
        else:
            form["client_id"] = self.client.client_id
            if self.client.client_secret:
                form["client_secret"] = self.client.client_secret
        if self.provider.token_method == "GET":
            form.pop("grant_type")
            answer = self._call("GET", self.provider.token_url, params=form)
        else:
            answer = self._call("POST", self.provider.token_url, data=form, auth=auth)
        if self.provider.network == "facebook":
            return self._facebook_page_token(answer["access_token"])
        return self._stored(answer)

    def _stored(self, answer: Mapping[str, Any]) -> dict[str, str]:
        values = {
            name: str(answer[field_])
            for name, field_ in self.provider.stored.items()
            if answer.get(field_)
        }
        if "access_token" in values and answer.get("expires_in"):
            expires = self._now() + timedelta(seconds=int(answer["expires_in"]))
            values["access_token_expires_at"] = expires.isoformat(timespec="seconds")
        if not values:
            raise ChannelError(
                f"{self.provider.network} answered the code exchange without a token",
                network=self.provider.network,
                fix="run `cm auth` again",
            )
        return values

    def _facebook_page_token(self, user_token: str) -> dict[str, str]:
        """Short-lived user token -> long-lived user token -> the Page's own token."""
        page_id = self.account.get("page_id")
        if not page_id:
            raise UsageError(
                f"channels/{self.channel_id}.yaml has no account.page_id",
                fix="add the Page's id under account: page_id",
            )
        assert self.client.client_secret is not None
        long_lived = self._call(
            "GET",
            self.provider.token_url,
            params={
                "grant_type": "fb_exchange_token",
                "client_id": self.client.client_id,
                "client_secret": self.client.client_secret,
                "fb_exchange_token": user_token,
            },
        )["access_token"]
        # the app and the login worked: a refusal now is about the Page, not the app
        page = self._call(
            "GET",
            f"{FACEBOOK_GRAPH}/{page_id}",
            params={"fields": "access_token", "access_token": long_lived},
            what=f"Facebook refused the token of Page {page_id} (channels/{self.channel_id}.yaml "
            "account.page_id)",
            fix="check the Page id (Page > About > Page ID) and that the account you logged in "
            "with manages that Page, then run `cm auth` again",
        )
        if not page.get("access_token"):
            raise ChannelError(
                f"Facebook gave no token for Page {page_id}",
                network="facebook",
                fix="authorize with an account that manages the Page (pages_manage_posts)",
            )
        # the long-lived user token lets the adapter mint a new Page token by itself later
        return {"page_token": str(page["access_token"]), "user_token": str(long_lived)}

    def _call(self, method: str, url: str, *, what: str | None = None, fix: str | None = None,
              **kwargs: Any) -> dict[str, Any]:
        """One token-endpoint call; ``what``/``fix`` name the cause when the default ("the token
        request", "the app's client id...") would mislead."""
        network = self.provider.network
        with self._session() as session:
            try:
                response = session.request(method, url, timeout=self.transport.timeout, **kwargs)
            except requests.RequestException as exc:
                raise TransientError(
                    f"cannot reach {urlsplit(url).netloc} ({type(exc).__name__})",
                    network=network,
                    fix="check the network connection and run `cm auth` again",
                ) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not response.ok or not isinstance(body, dict):
            body = body if isinstance(body, dict) else {}
            error = body.get("error")
            words = (
                error.get("message") if isinstance(error, dict) else body.get("error_description")
            ) or (error if isinstance(error, str) else None) or body.get("message")
            raise ChannelError(
                f"{what or f'{network} refused the token request'} (HTTP {response.status_code})",
                network=network,
                status=response.status_code,
                network_message=str(words) if words else None,
                fix=fix or "check the app's client id, secret and redirect URI, then run "
                "`cm auth` again",
            )
        return body


class SandboxBrowser:
    """Plays the person's browser against the sandbox: opens the authorization URL through the
    sandbox transport (the sandbox approves at once with a 302) and follows the redirect to the
    local listener. A real browser cannot do it: the sandbox routes by the networks' host names.
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __call__(self, url: str) -> None:
        with requests.Session() as sandbox:
            if self.transport.requests_adapter is not None:
                sandbox.mount("https://", self.transport.requests_adapter)
                sandbox.mount("http://", self.transport.requests_adapter)
            answer = sandbox.get(url, allow_redirects=False, timeout=self.transport.timeout)
        location = answer.headers.get("location")
        if answer.status_code not in (301, 302, 303, 307) or not location:
            raise ChannelError(
                f"the sandbox did not approve the authorization (HTTP {answer.status_code})",
                network=urlsplit(url).netloc,
                status=answer.status_code,
                network_message=answer.text[:200] or None,
                fix="is the network's emulator part of this sandbox? see docs/sandbox.md",
            )
        with requests.Session() as loopback:
            loopback.trust_env = False  # the listener is on 127.0.0.1: no proxy
            loopback.get(location, timeout=self.transport.timeout)


def store_tokens(credentials: Credentials, values: Mapping[str, str]) -> list[str]:
    """Persist what the flow obtained; returns the names stored (never the values)."""
    credentials.update(values)
    return sorted(values)
