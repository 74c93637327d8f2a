"""The X adapter's wire level: a session with a timeout, tweepy's status mapping, our errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from cm_toolkit.channels.request_fate import never_left
from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)

# tweepy is imported by the functions that use it: at the top, every `cm` process loading a
# workspace with an X channel paid for it (with the other SDKs, a second or more per process),
# most never calling X.


def map_error(exc: Exception, channel_id: str, what: str, *, creates: bool) -> ChannelError:
    """Our error for a failed call; ``creates``: the call creates a post (no answer: unknown)."""
    import tweepy

    where = f"channel {channel_id}: {what}"
    if isinstance(exc, tweepy.HTTPException):
        status = exc.response.status_code
        body = json_body(exc.response)
        said = "; ".join(str(m) for m in exc.api_messages) or body.get("detail") or None
        kind = str(body.get("type", "")).rsplit("/", 1)[-1] or None
        info: dict[str, Any] = {
            "network": "x",
            "status": status,
            "network_message": said,
            "code": kind,
        }
        if isinstance(exc, tweepy.TooManyRequests):
            reset = exc.response.headers.get("x-rate-limit-reset")
            reset_at = datetime.fromtimestamp(int(reset), UTC) if reset else None
            return RateLimited(
                f"{where}: X's rate limit is reached", reset_at=reset_at, **{**info, "code": "88"}
            )
        if isinstance(exc, tweepy.Unauthorized):
            return AuthExpired(
                f"{where}: X refused the credentials", **info, fix=f"run `cm auth {channel_id}`"
            )
        if status >= 500:
            return TransientError(f"{where}: X answered {status}", **info)
        return Rejected(f"{where}: X refused it ({status}): {said}", **info)
    if never_left(exc):  # nothing reached X: safe to try again
        return TransientError(
            f"{where}: X could not be reached ({type(exc).__name__})", network="x"
        )
    if creates:
        return OutcomeUnknown(
            f"{where}: the request was sent but no answer came back ({type(exc).__name__})",
            network="x",
            fix="check the account on X before publishing this post again",
        )
    return TransientError(f"{where}: no answer from X ({type(exc).__name__})", network="x")


def raise_for_status(response: requests.Response) -> None:
    """tweepy's status mapping, for the calls made on its session directly."""
    import tweepy

    if response.status_code < 300:
        return
    mapped = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        404: tweepy.NotFound,
    }
    if response.status_code == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset else None)
    if response.status_code >= 500:
        raise tweepy.TwitterServerError(response)
    raise mapped.get(response.status_code, tweepy.HTTPException)(response)


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
