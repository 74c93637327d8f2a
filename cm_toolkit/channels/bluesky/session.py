"""One Bluesky account signed in, its session reused across runs.

``com.atproto.server.createSession`` (handle + app password) is limited to 30 calls per 5 minutes
and 300 a day per account, so it is called only when no usable session exists. The session
string (handle, DID, access and refresh JWTs, PDS) is kept in the channel's token store under
the secret name ``session`` (``Credentials.update``) whenever it is created or refreshed; the
next run imports it. ``ExpiredToken`` on a call -> ``refreshSession`` with the refresh JWT, then
the call again; a refresh JWT that is itself expired or revoked -> ``createSession`` once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from atproto_core.exceptions import AtProtocolError

from cm_toolkit.channels.base import Credentials, Transport
from cm_toolkit.channels.bluesky.wire import (
    NETWORK,
    Lost,
    is_expired_token,
    make_client,
    map_error,
    sent_without_answer,
    xrpc_error,
)
from cm_toolkit.errors import AuthExpired

if TYPE_CHECKING:  # imported when used: atproto_client is slow to import (wire.py)
    from atproto_client.client.session import Session, SessionEvent

T = TypeVar("T")
SESSION_SECRET = "session"


class BlueskySession:
    """The SDK client of one channel, signed in on first use; ``call`` runs one SDK call."""

    def __init__(self, channel_id: str, settings: Any, credentials: Credentials,
                 transport: Transport) -> None:
        self.channel_id = channel_id
        self.handle: str = settings.handle
        self.service: str = settings.service
        self.credentials = credentials
        self.transport = transport
        self._client: Any = None
        self._did = ""

    def __repr__(self) -> str:  # the JWTs never appear here
        return f"<BlueskySession {self.channel_id} @{self.handle}>"

    @property
    def client(self) -> Any:
        """The SDK client, signed in: the stored session when there is one, else the password."""
        if self._client is None:
            client = make_client(self.service, self.transport)
            client.on_session_change(self._keep)
            self._client = client
            stored = self.credentials.find(SESSION_SECRET)
            session = decode(stored)
            if stored and session is not None and session.handle.lower() == self.handle.lower():
                client.login(session_string=stored, fetch_bsky_profile=False)  # no request
                self._did = session.did
            else:
                self._sign_in()
        return self._client

    @property
    def did(self) -> str:
        self.client  # noqa: B018 (signing in is what tells the account's DID)
        return self._did

    def _keep(self, event: SessionEvent, session: Session) -> None:
        from atproto_client.client.session import SessionEvent

        self._did = session.did
        if event is not SessionEvent.IMPORT:  # an imported session is the stored one already
            self.credentials.update({SESSION_SECRET: session.export()})

    def _sign_in(self) -> None:
        """``createSession`` with the app password (rate-limited: only without a session)."""
        password = self.credentials.get("app_password")
        try:
            self._client.login(self.handle, password, fetch_bsky_profile=False)
        except (AtProtocolError, httpx.HTTPError) as exc:
            status, name, said = xrpc_error(exc)
            if status == 401:
                raise AuthExpired(
                    f"channel {self.channel_id}: Bluesky refused the handle or app password",
                    network=NETWORK, status=401, code=name, network_message=said,
                    fix=f"make an app password for @{self.handle} (Bluesky: Settings > Privacy "
                        "and security > App passwords) and set the variable that "
                        f"channels/{self.channel_id}.yaml names for app_password",
                ) from exc
            raise map_error(exc, self.channel_id, "signing in") from exc

    def _refresh(self) -> None:
        """A new session from the refresh JWT; a spent one falls back to the app password."""
        from atproto_client.client.session import Session

        current = decode(self._client.export_session_string())
        assert current is not None
        try:
            answer = self._client.com.atproto.server.refresh_session(
                headers={"Authorization": f"Bearer {current.refresh_jwt}"},
                ignore_session_check=True,  # this call is the refresh: no refresh before it
            )
        except (AtProtocolError, httpx.HTTPError) as exc:
            status, name, _ = xrpc_error(exc)
            if status == 401 or name in ("ExpiredToken", "InvalidToken"):
                self._sign_in()
                return
            raise map_error(exc, self.channel_id, "refreshing the session") from exc
        fresh = Session(answer.handle, answer.did, answer.access_jwt, answer.refresh_jwt,
                        current.pds_endpoint)
        self._client.login(session_string=fresh.export(), fetch_bsky_profile=False)
        self.credentials.update({SESSION_SECRET: fresh.export()})

    def call(self, what: str, call: Callable[[], T], *, creates: bool = False) -> T:
        """One SDK call: refresh once on ``ExpiredToken``; failures become our errors, and a
        create sent without an answer ``Lost`` (the adapter looks the record up)."""
        self.client  # noqa: B018 (signs in first: a failure there is not the call's)
        refreshed = False
        while True:
            try:
                return call()
            except (AtProtocolError, httpx.HTTPError) as exc:
                if not refreshed and is_expired_token(exc):
                    self._refresh()
                    refreshed = True
                    continue
                if creates and sent_without_answer(exc):
                    raise Lost(what) from exc
                raise map_error(exc, self.channel_id, what) from exc


def decode(value: str | None) -> Session | None:
    """The session of a stored string; None for none or a string that is not one."""
    from atproto_client.client.session import Session

    try:
        return Session.decode(value) if value else None
    except ValueError:  # an old or hand-edited store: sign in again
        return None
