"""The Bluesky adapter's wire level: the SDK client on our transport, and atproto's answers
mapped to cm-toolkit's errors.

atproto's ``Client`` sends through ``atproto_client.request.Request``, which passes its keyword
arguments to ``httpx.Client``: ``Request(transport=..., timeout=...)`` is the seam, so the sandbox
(``Transport.httpx_transport``) needs no patching.

XRPC errors (``{"error": "Name", "message": "..."}``) by status:

    400 ExpiredToken                 -> refresh the session once, then the call again
    400 InvalidToken / 401           -> AuthExpired (``cm auth CHANNEL``... or the app password)
    400 other (InvalidRequest...)    -> Rejected, with the network's words
    429 RateLimitExceeded            -> RateLimited at ``ratelimit-reset``
    5xx, 502/409/413                 -> TransientError
    no answer to a create            -> ``Lost`` (the adapter looks the record up by its key)
    connection refused, no answer to a read -> TransientError
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from cm_toolkit.channels.base import Transport
from cm_toolkit.channels.request_fate import never_left
from cm_toolkit.errors import AuthExpired, ChannelError, RateLimited, Rejected, TransientError

# The SDK is imported by the functions that use it, not here: importing ``atproto_client`` takes
# a second or more (it builds the whole async and sync API), and every ``cm`` command that loads
# a workspace with a Bluesky channel imports this module (its settings), most never calling it.
if TYPE_CHECKING:
    from atproto_client import Client

NETWORK = "bluesky"
ENTRYWAY = "https://bsky.social"


class Lost(Exception):
    """A create call was sent and no answer came back (the adapter decides what that means)."""


def make_client(service: str, transport: Transport) -> Client:
    """The SDK's client for ``service``, sending through ``transport`` with its timeout."""
    from atproto_client import Client
    from atproto_client.request import Request

    kwargs: dict[str, Any] = {"timeout": transport.timeout}
    if transport.httpx_transport is not None:
        kwargs["transport"] = transport.httpx_transport
    return Client(base_url=service, request=Request(**kwargs))


def xrpc_error(exc: BaseException) -> tuple[int | None, str | None, str | None]:
    """(status, XRPC error name, message) of a failed call; (None, None, None) without answer."""
    from atproto_client.models.common import XrpcError

    response = getattr(exc, "response", None)
    if response is None:
        return None, None, None
    content = response.content
    if isinstance(content, XrpcError):
        return response.status_code, content.error, content.message
    return response.status_code, None, None


def is_expired_token(exc: BaseException) -> bool:
    return xrpc_error(exc)[1] == "ExpiredToken"


def sent_without_answer(exc: BaseException) -> bool:
    """True when the request may have reached the server and no answer came back."""
    from atproto_client import exceptions as atx

    if isinstance(exc, atx.RequestErrorBase) and exc.response is not None:
        return False
    if never_left(exc):
        return False
    return isinstance(exc, (atx.NetworkError, httpx.TransportError))


def map_error(exc: BaseException, channel_id: str, what: str) -> ChannelError:
    """Our error for a failed call (a lost create is handled before this, see ``Lost``)."""
    from atproto_client import exceptions as atx

    where = f"channel {channel_id}: {what}"
    status, name, said = xrpc_error(exc)
    info: dict[str, Any] = {"network": NETWORK, "status": status, "code": name,
                            "network_message": said}
    if isinstance(exc, atx.RateLimitExceededError) or status == 429:
        reset_at = exc.reset_at if isinstance(exc, atx.RateLimitExceededError) else None
        return RateLimited(f"{where}: Bluesky's rate limit is reached", reset_at=reset_at, **info)
    if status == 401 or name in ("InvalidToken", "AuthenticationRequired", "ExpiredToken"):
        return AuthExpired(
            f"{where}: Bluesky refused the session ({name or status})", **info,
            fix=f"check the app password of channel {channel_id} (Settings > Privacy and "
                "security > App passwords on Bluesky) and set it again",
        )
    if status is None:
        return TransientError(f"{where}: Bluesky could not be reached ({type(exc).__name__})",
                              network=NETWORK)
    if status >= 500 or status in (409, 413):
        return TransientError(f"{where}: Bluesky answered {status} ({name})", **info)
    return Rejected(f"{where}: Bluesky refused it ({status} {name}): {said}", **info)

