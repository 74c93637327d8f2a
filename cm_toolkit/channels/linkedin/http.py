"""The HTTP seam of the LinkedIn adapter: a timed ``requests.Session`` and the error mapping.

linkedin-api-client sends everything through ``RestliClient.session.send(prepared)``, which
takes no timeout and never raises on an HTTP error; its response formatters raise
``ResponseFormattingError`` (losing the response) when an error body is not JSON. So the
adapter gives the client a ``TimedSession`` (channels/http.py) that applies ``Transport.timeout`` to every send and
remembers the last response, and maps every answer here:

    401                    -> AuthExpired ("run `cm auth CHANNEL`"), after one refresh attempt
    429                    -> RateLimited, reset at Retry-After if sent, else next midnight UTC
                              (LinkedIn's quotas are daily and its 429 has no reset header)
    5xx                    -> TransientError
    422 DUPLICATE_POST     -> Rejected (code DUPLICATE_POST)
    400/403/404/422/426... -> Rejected, with LinkedIn's own message
    connect failure        -> TransientError (nothing was sent)
    read timeout / dropped -> OutcomeUnknown on a create call, TransientError otherwise
"""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from urllib3.exceptions import NameResolutionError, NewConnectionError

from cm_toolkit.clock import Clock
from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)

NETWORK = "linkedin"
_MESSAGE_MAX = 500


def body_of(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def network_message(response: requests.Response) -> str:
    body = body_of(response)
    text = str(
        body.get("message") or body.get("error_description") or response.text or response.reason
    )
    text = text.strip()
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


def next_midnight_utc(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def retry_after(response: requests.Response, now: datetime) -> datetime | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return now + timedelta(seconds=int(value.strip()))
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def error_for(
    response: requests.Response, *, channel_id: str, action: str, clock: Clock
) -> ChannelError:
    """The ``ChannelError`` for a non-2xx LinkedIn answer to ``action`` ("publish", ...)."""
    status = response.status_code
    body = body_of(response)
    message = network_message(response)
    code = body.get("code") or body.get("error")
    input_errors = (body.get("errorDetails") or {}).get("inputErrors") or []
    if any(isinstance(e, dict) and e.get("code") == "DUPLICATE_POST" for e in input_errors):
        code = "DUPLICATE_POST"
    info: dict[str, Any] = {
        "network": NETWORK,
        "status": status,
        "code": str(code)
        if code is not None
        else (str(body["serviceErrorCode"]) if "serviceErrorCode" in body else None),
        "network_message": message,
    }
    where = f"LinkedIn ({channel_id}) refused to {action}"
    if status == 401:
        return AuthExpired(
            f"{where}: the access token is not accepted ({message})",
            fix=f"run `cm auth {channel_id}`",
            **info,
        )
    if status == 429:
        now = clock.now()
        reset = retry_after(response, now) or next_midnight_utc(now)
        return RateLimited(
            f"{where}: daily API limit reached; LinkedIn resets it at midnight UTC",
            reset_at=reset,
            **info,
        )
    if status >= 500:
        return TransientError(f"{where}: LinkedIn answered {status} ({message})", **info)
    if code == "DUPLICATE_POST":
        return Rejected(
            f"{where}: LinkedIn says this post duplicates an earlier one",
            fix="change the text, or delete the earlier post first",
            **info,
        )
    if status == 426:
        return Rejected(
            f"{where}: the API version is no longer active ({message})",
            fix="set options.version in the channel file to a recent YYYYMM version",
            **info,
        )
    if status == 403:
        return Rejected(
            f"{where}: permission denied ({message})",
            fix=f"the member behind the token must administer the organization; run `cm auth {channel_id}` "
            "with an administrator and the w_organization_social scope",
            **info,
        )
    return Rejected(f"{where}: LinkedIn answered {status} ({message})", **info)


def _sent(exc: BaseException) -> bool:
    """False when the request provably never left (no connection could be made)."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or item in seen:
            continue
        seen.append(item)
        if isinstance(item, (NewConnectionError, NameResolutionError, ConnectionRefusedError)):
            return False
        todo.extend(item.args)
        todo.extend([getattr(item, "reason", None), item.__cause__, item.__context__])
    return True


def transport_error(
    exc: requests.RequestException, *, channel_id: str, action: str, creates: bool
) -> ChannelError:
    info: dict[str, Any] = {"network": NETWORK, "network_message": type(exc).__name__}
    if isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError)
        and not isinstance(exc, requests.ReadTimeout)
        and not _sent(exc)
    ):
        return TransientError(f"LinkedIn ({channel_id}): could not connect to {action}", **info)
    if creates:
        return OutcomeUnknown(
            f"LinkedIn ({channel_id}): the request to {action} was sent but no answer came back; "
            "the post may or may not exist",
            fix="check the page on LinkedIn, then mark the delivery published or retry it by hand",
            **info,
        )
    return TransientError(
        f"LinkedIn ({channel_id}): no answer to {action} ({type(exc).__name__})", **info
    )
