"""One Google channel's OAuth credentials and its authorised HTTP, shared by YouTube and Meet.

The channel file names ``client_id``, ``client_secret`` and ``refresh_token`` (from ``cm auth``).
The access token is refreshed through the same HTTP as the API calls (the transport's
``httplib2.Http``, so the sandbox's token endpoint in tests), before a call when it is missing
or about to expire, and once more if Google answers 401. A refreshed token is persisted with
``credentials.update({"access_token", "access_token_expires_at"})`` so the next process reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import google.oauth2.credentials
import httplib2
from google_auth_httplib2 import AuthorizedHttp, Request
from googleapiclient.discovery import build

from cm_toolkit.channels.base import Credentials, Transport
from cm_toolkit.channels.facts import OAuthProvider
from cm_toolkit.channels.google_http import GoogleHttp

TOKEN_URI = "https://oauth2.googleapis.com/token"
EXPIRY_KEY = "access_token_expires_at"
GOOGLE_DAY_ZONE = "America/Los_Angeles"  # Google's daily quotas reset at midnight here


def google_oauth(network: str, *scopes: str) -> OAuthProvider:
    """``cm auth`` for a Google network: one project's client, the installed-app flow (any
    loopback port), ``access_type=offline`` and ``prompt=consent`` so that a refresh token
    always comes back."""
    return OAuthProvider(
        network,
        "https://accounts.google.com/o/oauth2/auth",
        TOKEN_URI,
        scopes,
        pkce=True,
        extra_params={"access_type": "offline", "prompt": "consent"},
        client_env=("CM_GOOGLE_CLIENT_ID", "CM_GOOGLE_CLIENT_SECRET"),
    )


class GoogleSession:
    """Credentials, authorised HTTP and API clients of one Google channel (built on first use)."""

    def __init__(
        self, credentials: Credentials, transport: Transport, scopes: Sequence[str]
    ) -> None:
        self.credentials = credentials
        self.transport = transport
        self.scopes = tuple(scopes)
        self._google: google.oauth2.credentials.Credentials | None = None
        self._http: AuthorizedHttp | None = None
        self._services: dict[tuple[str, str], Any] = {}

    def _build_credentials(self) -> google.oauth2.credentials.Credentials:
        expiry = None
        stored = self.credentials.find(EXPIRY_KEY)
        if stored:
            try:  # google-auth compares naive UTC datetimes
                expiry = datetime.fromisoformat(stored).astimezone(UTC).replace(tzinfo=None)
            except ValueError:
                expiry = None
        return google.oauth2.credentials.Credentials(
            token=self.credentials.find("access_token") if expiry else None,
            refresh_token=self.credentials.get("refresh_token"),
            client_id=self.credentials.get("client_id"),
            client_secret=self.credentials.get("client_secret"),
            token_uri=TOKEN_URI,
            scopes=list(self.scopes),
            expiry=expiry,
        )

    @property
    def http(self) -> AuthorizedHttp:
        if self._http is None:
            self._google = self._build_credentials()
            factory = self.transport.http_factory
            base = (
                factory() if factory is not None else httplib2.Http(timeout=self.transport.timeout)
            )
            base.timeout = self.transport.timeout
            # One refresh and one retry on a 401; a second 401 is reported (AuthExpired).
            self._http = AuthorizedHttp(self._google, http=GoogleHttp(base), max_refresh_attempts=1)
        return self._http

    def service(self, name: str, version: str) -> Any:
        """The googleapiclient resource for ``name``/``version`` (discovery shipped, no network)."""
        key = (name, version)
        if key not in self._services:
            self._services[key] = build(
                name, version, http=self.http, static_discovery=True, cache_discovery=False
            )
        return self._services[key]

    def ensure_token(self) -> None:
        """Refresh the access token now when it is missing or expiring (a read call)."""
        http = self.http
        assert self._google is not None
        if not self._google.valid:
            self._google.refresh(Request(http.http))
        self.persist()

    def persist(self) -> None:
        """Store a refreshed access token (never logged; the store is owner-only)."""
        google_creds = self._google
        if google_creds is None or not google_creds.token:
            return
        if google_creds.token == self.credentials.find("access_token"):
            return
        values = {"access_token": google_creds.token}
        if google_creds.expiry is not None:
            values[EXPIRY_KEY] = google_creds.expiry.replace(tzinfo=UTC).isoformat()
        self.credentials.update(values)
