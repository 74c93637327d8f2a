"""The Mastodon adapter's wire level: Mastodon.py's errors mapped to cm-toolkit's.

Mastodon.py raises ``MastodonAPIError(message, status, reason, error)`` for an error answer and
``MastodonNetworkError`` (the requests exception as its context) when no answer came. It keeps
no response on its errors, so the rate-limit reset is read from the last response of the
adapter's ``TimedSession`` (``X-RateLimit-Reset``, an ISO 8601 time).

    401 -> AuthExpired (cm auth)     429 -> RateLimited(reset_at)     5xx -> TransientError
    other 4xx (422 validation...) -> Rejected with Mastodon's ``error`` text
    no answer -> OutcomeUnknown on a create, TransientError otherwise; a connection that never
    opened -> TransientError
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # Mastodon.py is imported when used: it takes a second to import (x/wire.py)
    from mastodon import MastodonError

NETWORK = "mastodon"


def map_error(exc: MastodonError, channel_id: str, what: str, *, creates: bool,
              last: requests.Response | None) -> ChannelError:
    """Our error for a failed call; ``creates``: the call creates a status (no answer: unknown)."""
    from mastodon import (
        MastodonAPIError,
        MastodonNetworkError,
        MastodonRatelimitError,
        MastodonServerError,
        MastodonUnauthorizedError,
    )

    where = f"channel {channel_id}: {what}"
    if isinstance(exc, MastodonRatelimitError):
        return RateLimited(f"{where}: the instance's rate limit is reached",
                           reset_at=_reset_at(last), network=NETWORK, status=429)
    if isinstance(exc, MastodonAPIError):
        status = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        said = str(exc.args[3]) if len(exc.args) > 3 and exc.args[3] else None
        if isinstance(exc, MastodonUnauthorizedError):
            return AuthExpired(f"{where}: the instance refused the access token",
                               network=NETWORK, status=status, network_message=said,
                               fix=f"run `cm auth {channel_id}`")
        if isinstance(exc, MastodonServerError) or (status or 0) >= 500:
            return TransientError(f"{where}: the instance answered {status}", network=NETWORK,
                                  status=status, network_message=said)
        return Rejected(f"{where}: the instance refused it ({status}): {said}", network=NETWORK,
                        status=status, network_message=said)
    if isinstance(exc, MastodonNetworkError) and not never_left(exc):
        if creates:
            return OutcomeUnknown(
                f"{where}: the request was sent but no answer came back ({_cause(exc)})",
                network=NETWORK,
                fix="check the account on its instance before publishing this post again "
                    "(within the hour, `cm resolve` resend is safe: the same Idempotency-Key "
                    "returns the status already created)",
            )
        return TransientError(f"{where}: no answer from the instance ({_cause(exc)})",
                              network=NETWORK)
    return TransientError(f"{where}: the instance could not be reached ({_cause(exc)})",
                          network=NETWORK)


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return type(inner or exc).__name__


def _reset_at(last: requests.Response | None) -> datetime | None:
    value = last.headers.get("X-RateLimit-Reset") if last is not None else None
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)  # Python 3.11 reads the trailing Z
    except ValueError:
        return None
