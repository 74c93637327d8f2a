"""Google API failures (YouTube, Calendar) mapped into cm-toolkit's error tree.

    HttpError 401 (after one refresh), RefreshError,
      403 insufficientPermissions                     -> AuthExpired ("run `cm auth CHANNEL`")
    403/400 quotaExceeded, dailyLimitExceeded,
      uploadLimitExceeded                             -> RateLimited(next midnight, Pacific time)
    429, 403 rateLimitExceeded/userRateLimitExceeded  -> RateLimited(Date + Retry-After, or 60 s)
    5xx                                               -> TransientError
    other 4xx                                         -> Rejected (Google's own message)
    connection refused / host not found               -> TransientError (nothing was sent)
    timeout, dropped connection, refused re-send      -> OutcomeUnknown on a create call,
                                                         TransientError on a read

"Now" is the answer's ``Date`` header when there is one (the network's clock, or the sandbox's).
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

import google.auth.exceptions
import httplib2
from googleapiclient.errors import HttpError

from cm_toolkit.channels.google_http import ResendRefused
from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)

DAILY_QUOTA = {"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"}
SHORT_LIMIT = {"rateLimitExceeded", "userRateLimitExceeded"}
PACIFIC = ZoneInfo("America/Los_Angeles")


def next_pacific_midnight(now: datetime) -> datetime:
    """When Google's daily quotas reset (midnight America/Los_Angeles), as a UTC instant."""
    local = now.astimezone(PACIFIC)
    day = (local + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, tzinfo=PACIFIC).astimezone(UTC)


def _answer_time(resp: Any) -> datetime:
    try:
        return parsedate_to_datetime(resp["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def error_item(exc: HttpError) -> tuple[str | None, str]:
    """(``errors[0].reason``, ``message``) of a Google error body."""
    try:
        error = json.loads(exc.content)["error"]
    except (ValueError, KeyError, TypeError):
        return None, exc.content[:200].decode("utf-8", "replace") if exc.content else ""
    if not isinstance(error, dict):
        return None, str(error)
    items = error.get("errors") or [{}]
    return items[0].get("reason"), str(error.get("message", ""))


class GoogleErrors:
    """Maps failures of one channel's calls; ``call(creates=...)`` wraps each SDK call."""

    def __init__(self, network: str, channel_id: str) -> None:
        self.network = network
        self.channel_id = channel_id

    @property
    def auth_fix(self) -> str:
        return f"run `cm auth {self.channel_id}`"

    @contextmanager
    def call(self, what: str, *, creates: bool) -> Iterator[None]:
        """Raise the error tree's exception for any failure of the calls inside."""
        try:
            yield
        except ChannelError:
            raise
        except HttpError as exc:
            raise self.from_http(exc, what) from None
        except google.auth.exceptions.RefreshError as exc:
            raise AuthExpired(
                f"{self.network}: {what}: Google refused to refresh the access token",
                network=self.network,
                network_message=_refresh_reason(exc),
                fix=self.auth_fix,
            ) from None
        except google.auth.exceptions.TransportError as exc:  # the token call itself failed
            raise TransientError(
                f"{self.network}: {what}: Google's token endpoint could not be reached ({exc})",
                network=self.network,
            ) from None
        except (ConnectionRefusedError, httplib2.ServerNotFoundError, socket.gaierror) as exc:
            raise TransientError(
                f"{self.network}: {what}: cannot connect ({type(exc).__name__})",
                network=self.network,
            ) from None
        except (
            TimeoutError,
            ResendRefused,
            ConnectionError,
            http.client.HTTPException,
            httplib2.HttpLib2Error,
            OSError,
        ) as exc:
            kind = "timed out" if isinstance(exc, TimeoutError) else "lost the connection"
            if creates:
                raise OutcomeUnknown(
                    f"{self.network}: {what}: the request was sent and {kind} before an answer: "
                    "it may have been carried out",
                    network=self.network,
                    fix=f"look at the channel on {self.network} before publishing it again",
                ) from None
            raise TransientError(f"{self.network}: {what}: {kind}", network=self.network) from None

    def from_http(self, exc: HttpError, what: str) -> ChannelError:
        status = exc.resp.status
        reason, message = error_item(exc)
        info: dict[str, Any] = {
            "network": self.network,
            "status": status,
            "code": reason,
            "network_message": message,
        }
        text = f"{self.network}: {what}: {status} {reason or ''}".rstrip()
        now = _answer_time(exc.resp)
        if status == 401 or reason == "insufficientPermissions":
            return AuthExpired(text, fix=self.auth_fix, **info)
        if reason in DAILY_QUOTA:
            reset = next_pacific_midnight(now)
            return RateLimited(
                f"{text}: the daily quota is used up until {reset.isoformat()}",
                reset_at=reset,
                fix="wait for the reset (midnight Pacific time) or ask Google for more quota",
                **info,
            )
        if status == 429 or reason in SHORT_LIMIT:
            try:
                wait = int(exc.resp.get("retry-after", "60"))
            except ValueError:
                wait = 60
            return RateLimited(text, reset_at=now + timedelta(seconds=wait), **info)
        if status >= 500:
            return TransientError(text, **info)
        return Rejected(f"{text}: {message}", **info)


def _refresh_reason(exc: google.auth.exceptions.RefreshError) -> str:
    """Google's ``error``/``error_description`` from a refused refresh, without any token."""
    details = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(details, dict):
        return f"{details.get('error', '')}: {details.get('error_description', '')}".strip(": ")
    return str(exc.args[0]) if exc.args else "refresh refused"
