"""``cm auth CHANNEL``: obtain a channel's tokens with the network's OAuth flow.

One authorization-code flow, with each network's differences as data: the ``oauth`` fact
(``OAuthProvider``) of the network's adapter class, read through the registry:

0. a network whose every server is its own provider (Mastodon) has ``{instance}`` in its URLs,
   filled from the channel file's ``account.instance``; with no client id at hand, the app is
   registered there first (``register_client``: ``POST /api/v1/apps`` with the listener's
   redirect URI). It is not kept: Mastodon accepts only the exact redirect URI registered,
   and the next run listens on another port, so it registers again (apps cost nothing there);
1. a listener on ``http://127.0.0.1:PORT/callback`` (a random port unless ``--port`` is given:
   X, LinkedIn and Facebook only accept a redirect URI registered exactly, port included;
   Google accepts any loopback port for installed apps);
2. the browser opens the network's authorization page (``state`` against forgery, PKCE S256
   where the network supports it); the person approves; the network redirects to the listener
   with ``code``;
3. the code is exchanged at the token endpoint (form POST; X uses HTTP Basic for confidential
   clients; Facebook's endpoint is a GET); a provider whose token is only a first step says
   what follows in ``finish`` (Facebook: the Page's own token);
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


def provider_for(network: str) -> OAuthProvider:
    """The OAuth provider the adapter of ``network`` declares (``Channel.oauth``), built-in or
    plugin; ``UsageError`` when it has none."""
    from cm_toolkit.channels.registry import channel_class, list_networks

    provider = channel_class(network).oauth
    if provider is None:
        with_flow = sorted(info.network for info in list_networks()
                           if info.available and channel_class(info.network).oauth is not None)
        raise UsageError(
            f"network {network!r} has no OAuth flow",
            fix="manual channels need no authorization; networks with one: "
            + ", ".join(with_flow),
        )
    return provider


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
        client: ClientCredentials | None,
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
        if client is None and provider.register_client is None:
            raise UsageError(
                f"no client id to authorize {channel_id}",
                fix=f"set {provider.client_env[0]} or pass --client-id (from the app's settings)",
            )
        if client is not None and provider.secret_required and not client.client_secret:
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

    def _url(self, template: str) -> str:
        """A provider URL with ``{instance}`` filled from the channel file's account."""
        if "{instance}" not in template:
            return template
        instance = str(self.account.get("instance") or "")
        if not instance:
            raise UsageError(
                f"channels/{self.channel_id}.yaml has no account.instance",
                fix="add the server's host name under account: instance (e.g. mastodon.social)",
            )
        return template.replace("{instance}", instance)

    @property
    def client_id(self) -> str:
        assert self.client is not None
        return self.client.client_id

    @property
    def client_secret(self) -> str | None:
        assert self.client is not None
        return self.client.client_secret

    def _register(self, redirect_uri: str) -> None:
        """No client at hand: register one on the network for this redirect URI."""
        assert self.provider.register_client is not None
        client_id, secret = self.provider.register_client(self.account, redirect_uri,
                                                          self.transport)
        self.client = ClientCredentials(client_id, secret)

    def authorize_url(self, redirect_uri: str, state: str, challenge: str | None) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.provider.scope_separator.join(self.provider.scopes),
            "state": state,
            **self.provider.extra_params,
        }
        if challenge is not None:
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        return f"{self._url(self.provider.authorize_url)}?{urlencode(params)}"

    def run(
        self, open_url: Callable[[str], object], *, port: int = 0, timeout: float = 300.0
    ) -> dict[str, str]:
        """Open the authorization page, wait for the redirect, return the values to store."""
        state = secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair() if self.provider.pkce else (None, None)
        with RedirectListener(port) as listener:
            if self.client is None:
                self._register(listener.redirect_uri)
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
        if self.provider.basic_auth and self.client_secret:
            auth = (self.client_id, self.client_secret)
        else:
            form["client_id"] = self.client_id
            if self.client_secret:
                form["client_secret"] = self.client_secret
        token_url = self._url(self.provider.token_url)
        if self.provider.token_method == "GET":
            form.pop("grant_type")
            answer = self.call("GET", token_url, params=form)
        else:
            answer = self.call("POST", token_url, data=form, auth=auth)
        if self.provider.finish is not None:
            return self.provider.finish(answer, self.account, self)
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

    def call(self, method: str, url: str, *, what: str | None = None, fix: str | None = None,
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
            # the network's own words ("the authorization code was invalid": expired, used
            # twice) say more than the HTTP status; bounded, they are an error text, not data
            said = f": {str(words)[:200]}" if words else ""
            raise ChannelError(
                f"{what or f'{network} refused the token request'} (HTTP {response.status_code}"
                f"{said})",
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
