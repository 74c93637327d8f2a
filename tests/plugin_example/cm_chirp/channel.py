"""The Chirp adapter: every fact about the network as class data, and its few calls.

Chirp's API (fictional, small on purpose): ``POST /v1/posts`` with ``{"text"}`` and an
``Idempotency-Key`` header (the same key within a day answers the first post again),
``DELETE /v1/posts/{id}``, ``GET /v1/me`` (the account and its follower count). Bearer tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import requests

from cm_toolkit.channels.base import (
    Capability,
    Channel,
    ChannelSettings,
    Limits,
    PublishResult,
    RenderedPost,
)
from cm_toolkit.channels.facts import Budget, LinkHandling
from cm_toolkit.channels.http import session_for
from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    Problem,
    RateLimited,
    Rejected,
    TransientError,
)

API = "https://api.chirp.example/v1"


class ChirpSettings(ChannelSettings):
    """The channel file's ``account:`` (and ``options:``) for Chirp."""

    handle: str  # the account's @handle, without the @


class ChirpChannel(Channel):
    # -- the facts: what cm check, cm preview, the scheduler and the sandbox read ---------------
    network: ClassVar[str] = "chirp"
    display_name: ClassVar[str] = "Chirp (example plugin)"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TEXT, Capability.LINK, Capability.DELETE, Capability.FOLLOWERS}
    )
    limits: ClassVar[Limits] = Limits(text_max=400, text_unit="characters")
    link_handling: ClassVar[LinkHandling] = LinkHandling.APPENDED  # the link ends the text
    budget: ClassVar[Budget | None] = Budget(60, timedelta(hours=1), margin=5)
    settings_model: ClassVar[type[ChannelSettings]] = ChirpSettings
    secret_names: ClassVar[tuple[str, ...]] = ("access_token",)
    emulators: ClassVar[tuple[str, ...]] = ("cm_chirp.emulator:ChirpEmulator",)

    # -- how the network counts and receives a text --------------------------------------------
    @classmethod
    def compose(cls, post: RenderedPost) -> str:
        """The text sent: the post's, with its link on a line of its own when not already in it."""
        if post.link and post.link not in post.text:
            return f"{post.text}\n{post.link}"
        return post.text

    def validate(self, post: RenderedPost) -> list[Problem]:
        length = self.text_length(self.compose(post))
        if length > self.limits.text_max:
            return [Problem(self.channel_id, None, None,
                            f"the post is {length} characters; Chirp takes {self.limits.text_max}",
                            "shorten the text")]
        return []

    # -- the calls -----------------------------------------------------------------------------
    def publish(self, post: RenderedPost) -> PublishResult:
        headers = {"Idempotency-Key": post.idempotency_key} if post.idempotency_key else {}
        body = self._call("POST", "/posts", json={"text": self.compose(post)}, headers=headers,
                          creates=True)
        return PublishResult(remote_id=str(body["id"]), url=str(body["url"]))

    def delete(self, remote_id: str) -> None:
        self._call("DELETE", f"/posts/{remote_id}")

    def followers(self) -> int:
        return int(self._call("GET", "/me")["followers"])

    def check(self) -> str:
        me = self._call("GET", "/me")
        return f"@{me['handle']} ({me['followers']} followers)"

    def _call(self, method: str, path: str, *, creates: bool = False, **kwargs: Any) -> Any:
        token = self.credentials.get("access_token")
        session = session_for(self.transport)
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        try:
            answer = session.request(method, API + path, headers=headers, **kwargs)
        except requests.ConnectTimeout as exc:  # nothing left this machine
            raise TransientError(f"Chirp did not answer the connection: {exc}",
                                 network=self.network) from exc
        except requests.RequestException as exc:
            if creates:  # the request may have arrived: never send it blindly again
                raise OutcomeUnknown(f"no answer from Chirp after sending: {exc}",
                                     network=self.network) from exc
            raise TransientError(f"Chirp call failed: {exc}", network=self.network) from exc
        finally:
            session.close()
        if answer.status_code < 300:
            return answer.json() if answer.content else {}
        raise self._error(answer)

    def _error(self, answer: requests.Response) -> ChannelError:
        status = answer.status_code
        try:
            message = str(answer.json().get("error", answer.text))
        except ValueError:
            message = answer.text[:200]
        info: dict[str, Any] = {"network": self.network, "status": status,
                                "network_message": message}
        if status == 401:
            return AuthExpired(f"Chirp refused the token: {message}",
                               fix=f"run `cm auth {self.channel_id}`", **info)
        if status == 429:
            reset = answer.headers.get("x-ratelimit-reset")
            reset_at = datetime.fromtimestamp(int(reset), UTC) if reset else None
            return RateLimited(f"Chirp rate limit: {message}", reset_at=reset_at, **info)
        if status >= 500:
            return TransientError(f"Chirp server error {status}: {message}", **info)
        return Rejected(f"Chirp refused the post: {message}", **info)
