"""YouTube's daily quota: units per Google Cloud project, reset at midnight Pacific time.

List calls cost 1 unit; insert, update, delete, bind and transition cost 50; ``videos.insert``
counts in its own bucket (100 calls a day) instead; an invalid request still costs 1. When the
units are gone every call answers 403 ``quotaExceeded`` (domain ``youtube.quota``) until the next
midnight in America/Los_Angeles. Both numbers are attributes, so a test can lower them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from cm_toolkit.sandbox.core import ApiError
from cm_toolkit.sandbox.google.base import google_error, pacific_midnight_after

UPLOAD_METHOD = "youtube.videos.insert"
WRITE_COST = 50
COSTS: dict[str, int] = {
    "youtube.liveBroadcasts.insert": WRITE_COST,
    "youtube.liveBroadcasts.update": WRITE_COST,
    "youtube.liveBroadcasts.delete": WRITE_COST,
    "youtube.liveBroadcasts.bind": WRITE_COST,
    "youtube.liveBroadcasts.transition": WRITE_COST,
    "youtube.liveStreams.insert": WRITE_COST,
    "youtube.liveStreams.delete": WRITE_COST,
    "youtube.videos.update": WRITE_COST,
    "youtube.videos.delete": WRITE_COST,
    "youtube.commentThreads.insert": WRITE_COST,
    "youtube.comments.insert": WRITE_COST,
    "youtube.liveChatMessages.list": 5,  # API_FACTS.md: 5 units a call
    "youtube.liveChatMessages.insert": WRITE_COST,  # often cited as 50 (unconfirmed)
    UPLOAD_METHOD: 0,  # counted in the upload bucket
}


def quota_exceeded(detail: str = "") -> ApiError:
    message = (
        "The request cannot be completed because you have exceeded your "
        '<a href="/youtube/v3/getting-started#quota">quota</a>.'
    )
    return google_error(
        403,
        message + (f" {detail}" if detail else ""),
        reason="quotaExceeded",
        domain="youtube.quota",
    )


@dataclass
class YouTubeQuota:
    """Units used today by the sandbox's project (one OAuth client, one project)."""

    daily_units: int = 10_000
    daily_uploads: int = 100
    day: date | None = None
    used: int = 0
    uploads: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def _roll(self, now: datetime) -> None:
        today = pacific_midnight_after(now).date()  # the day is named by the midnight ending it
        if today != self.day:
            self.day, self.used, self.uploads, self.calls = today, 0, 0, {}

    def ensure_left(self, now: datetime) -> None:
        """Refuse any call once the day's units are gone."""
        self._roll(now)
        if self.used >= self.daily_units:
            raise quota_exceeded()

    def spend_invalid(self, now: datetime) -> None:
        self._roll(now)
        self.used += 1
        self.calls["invalid"] = self.calls.get("invalid", 0) + 1

    def spend(self, method_id: str, now: datetime) -> None:
        """Charge a valid call, or refuse it (403 quotaExceeded) when the units do not suffice."""
        self._roll(now)
        cost = COSTS.get(method_id, 1)
        if method_id == UPLOAD_METHOD and self.uploads >= self.daily_uploads:
            raise quota_exceeded(f"videos.insert is limited to {self.daily_uploads} calls a day.")
        if self.used + cost > self.daily_units:
            raise quota_exceeded()
        self.used += cost
        if method_id == UPLOAD_METHOD:
            self.uploads += 1
        self.calls[method_id] = self.calls.get(method_id, 0) + 1

    def resets_at(self, now: datetime) -> datetime:
        return pacific_midnight_after(now)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        self._roll(now)
        return {
            "daily_units": self.daily_units,
            "used": self.used,
            "uploads": self.uploads,
            "daily_uploads": self.daily_uploads,
            "calls": dict(self.calls),
            "resets_at": self.resets_at(now).isoformat(),
        }
