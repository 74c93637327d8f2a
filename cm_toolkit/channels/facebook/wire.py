"""facebook-sdk, imported without its warning, and Graph's answers mapped to our errors.

facebook-sdk 3.1.0 has an invalid escape sequence in a regex literal (``facebook/__init__.py``
line 99) that warns when the module is compiled: DeprecationWarning on Python 3.11,
SyntaxWarning from 3.12. The import below ignores exactly that message from that module, inside
``catch_warnings`` so that every other warning (ours included) still shows.

Graph code -> error: 4, 17, 32, 613, 80001-80014 -> ``RateLimited`` (reset from
``X-Business-Use-Case-Usage`` ``estimated_time_to_regain_access`` minutes, else one hour); 102,
104, 190 and OAuth subcodes -> ``AuthExpired``; 10 and 200-299 (permissions) -> ``AuthExpired``;
1, 2, ``is_transient`` or HTTP 5xx -> ``TransientError``; anything else (506 duplicate, 100
invalid parameter, 324 upload) -> ``Rejected`` with Graph's own message. No answer after a
create call was sent -> ``OutcomeUnknown``; a connection that never opened -> ``TransientError``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)

with warnings.catch_warnings():
    for _category in (SyntaxWarning, DeprecationWarning):
        warnings.filterwarnings(
            "ignore",
            message=r"invalid escape sequence",
            category=_category,
            module=r".*[\\/]facebook[\\/]__init__$",
        )
    import facebook

THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
AUTH_CODES = frozenset({102, 104, 190, 458, 459, 460, 463, 464, 467})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
UNKNOWN_PATH = "2500"  # "Unknown path components: /v99.0/...": also a version Graph never had
DEFAULT_THROTTLE_WAIT = timedelta(hours=1)  # app/user limits are rolling one-hour windows


@dataclass
class LastAnswer:
    """Status and headers of the last HTTP answer (facebook-sdk does not expose them)."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def graph_error(
    exc: facebook.GraphAPIError, action: str, answer: LastAnswer, now: datetime, auth_fix: str
) -> ChannelError:
    """Our error for a ``GraphAPIError`` raised while doing ``action``."""
    result: dict[str, Any] = exc.result if isinstance(exc.result, dict) else {}
    raw = result.get("error")
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    code = body.get("code") if isinstance(body.get("code"), int) else None
    subcode = body.get("error_subcode")
    message = str(body.get("message") or exc.message or "no message")
    status = answer.status
    common: dict[str, Any] = {
        "network": "facebook",
        "status": status,
        "code": str(code) if code is not None else None,
        "network_message": message,
    }
    error: ChannelError
    if code in THROTTLE_CODES:
        error = RateLimited(
            f"Facebook throttled {action} (code {code})",
            reset_at=now + regain_wait(answer.headers),
            **common,
        )
    elif code in AUTH_CODES or subcode in AUTH_CODES:
        error = AuthExpired(
            f"Facebook refused the token while {action}: {message}", fix=auth_fix, **common
        )
    elif code in PERMISSION_CODES:
        error = AuthExpired(
            f"the Facebook token lacks a permission for {action}: {message}",
            fix=auth_fix + " and grant pages_manage_posts and pages_read_engagement",
            **common,
        )
    elif (
        code in TRANSIENT_CODES
        or body.get("is_transient")
        or (status or 0) >= 500
        or (code is None and status is None)
    ):
        error = TransientError(f"Facebook failed {action}: {message}", **common)
    else:
        error = Rejected(f"Facebook refused {action}: {message}", **common)
    if subcode is not None:
        error.info.details["error_subcode"] = subcode
    return error


def regain_wait(headers: Mapping[str, str]) -> timedelta:
    """How long a throttle lasts: ``estimated_time_to_regain_access`` (minutes) when given."""
    lowered = {k.lower(): v for k, v in headers.items()}
    minutes = 0
    try:
        usage = json.loads(lowered.get("x-business-use-case-usage", "{}"))
        for entries in usage.values():
            for entry in entries:
                minutes = max(minutes, int(entry.get("estimated_time_to_regain_access", 0)))
    except (ValueError, AttributeError, TypeError):
        minutes = 0
    return timedelta(minutes=minutes) if minutes else DEFAULT_THROTTLE_WAIT


def transport_error(
    exc: requests.RequestException, action: str, creates: bool, channel_id: str
) -> ChannelError:
    """Our error for a failure of the connection itself."""
    name = type(exc).__name__
    if never_sent(exc):
        return TransientError(
            f"could not reach Facebook while {action} ({name})", network="facebook"
        )
    if creates:
        return OutcomeUnknown(
            f"Facebook did not answer while {action} ({name}): the post may exist",
            network="facebook",
            fix=f"look at the Page's posts, then mark the delivery (channel {channel_id})",
        )
    return TransientError(f"Facebook did not answer while {action} ({name})", network="facebook")


def never_sent(exc: requests.RequestException) -> bool:
    """True when the connection never opened, so the request cannot have reached Facebook."""
    if isinstance(
        exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.ProxyError)
    ):
        return True
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False
