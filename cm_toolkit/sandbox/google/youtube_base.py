"""The YouTube emulator's foundation: its hosts, store, quota and request checks.

The route families (``youtube_live.py``, ``youtube_uploads.py``, ``youtube.py``) build on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.core import ApiError, SandboxContext, Token
from cm_toolkit.sandbox.google.base import GoogleApiEmulator, google_error
from cm_toolkit.sandbox.google.discovery import discovery
from cm_toolkit.sandbox.google.quota import YouTubeQuota
from cm_toolkit.sandbox.google.youtube_state import (
    YouTubeAccount,
    YouTubeStore,
    etag,
    video_id,
)

T = TypeVar("T")

V3 = r"/youtube/v3"
TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000


def page_token(prefix: str, offset: int) -> str:
    """A page token of the sandbox: a position in a listing (the same token, the same page)."""
    return f"{prefix}{offset:06d}"


def page_offset(prefix: str, token: str | None, reason: str, domain: str) -> int:
    """The position a token names; YouTube's 400 (``reason``) for a token it did not give."""
    if not token:
        return 0
    if not (token.startswith(prefix) and token[len(prefix):].isdigit()):
        raise google_error(400, "The request specifies an invalid page token.", reason=reason,
                           domain=domain, location="pageToken")
    return int(token[len(prefix):])


class YouTubeBase(GoogleApiEmulator):
    network = "youtube"
    hosts = ("youtube.googleapis.com", "www.googleapis.com")
    growth = GrowthProfile(2400, 0.004, {"live": 240, "video": 90})

    def __init__(self, ctx: SandboxContext) -> None:
        self.doc = discovery("youtube.v3.json")
        self.store = YouTubeStore()
        self.quota = YouTubeQuota()
        # Uploads from unaudited API projects are forced to private, as on YouTube.
        self.project_audited = True
        super().__init__(ctx)

    def metered(self, method_id: str, check: Callable[[], T]) -> T:
        """Run the request checks of one call and charge its quota (1 unit when it is invalid)."""
        now = self.ctx.now()
        self.quota.ensure_left(now)
        try:
            result = check()
        except ApiError:
            self.quota.spend_invalid(now)
            raise
        self.quota.spend(method_id, now)
        return result

    def account(self, token: Token) -> YouTubeAccount:
        found = self.store.accounts.get(token.account_id)
        if found is None:  # a token minted for a channel the sandbox does not know
            raise google_error(
                403,
                "The request is not properly authorized.",
                reason="forbidden",
                domain="youtube.common",
            )
        return found

    def new_video_id(self) -> str:
        return video_id(self.ctx.seed, self.ctx.next_id("youtube-video"))

    @staticmethod
    def check_text(snippet: dict[str, Any], domain: str) -> None:
        """YouTube's title and description rules (<= 100 characters, <= 5,000 bytes, no < >)."""
        title = snippet.get("title")
        if title is not None and (
            not str(title).strip() or len(title) > TITLE_MAX or "<" in title or ">" in title
        ):
            raise google_error(
                400,
                "The request metadata specifies an invalid or empty title.",
                reason="invalidTitle",
                domain=domain,
            )
        description = snippet.get("description") or ""
        if len(description.encode("utf-8")) > DESCRIPTION_MAX_BYTES or (
            "<" in description or ">" in description
        ):
            raise google_error(
                400,
                "The request metadata specifies an invalid description.",
                reason="invalidDescription",
                domain=domain,
            )

    @staticmethod
    def one_filter(query: dict[str, str], names: tuple[str, ...]) -> str:
        """Which of the mutually exclusive filters a list call uses (exactly one is required)."""
        given = [name for name in names if query.get(name)]
        if not given:
            raise google_error(
                400,
                f"No filter selected. Expected one of: {', '.join(names)}",
                reason="missingRequiredParameter",
                domain="youtube.parameter",
            )
        if len(given) > 1:
            raise google_error(
                400,
                f"Incompatible parameters specified in the request: {', '.join(given)}",
                reason="incompatibleParameters",
                domain="youtube.parameter",
            )
        return given[0]

    @staticmethod
    def list_response(kind: str, items: list[dict[str, Any]], per_page: int) -> dict[str, Any]:
        page = items[:per_page]
        return {
            "kind": kind,
            "etag": etag([item.get("etag") for item in page]),
            "pageInfo": {"totalResults": len(items), "resultsPerPage": per_page},
            "items": page,
        }
