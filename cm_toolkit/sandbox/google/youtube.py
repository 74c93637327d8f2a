"""The YouTube Data API v3 emulator (network ``youtube``).

Served on ``youtube.googleapis.com`` (the client's root URL) and on the ``/youtube/v3`` and
``/upload/youtube/v3`` paths of ``www.googleapis.com``. Live routes are in ``youtube_live.py``,
uploads in ``youtube_uploads.py``, comments in ``youtube_comments.py``, live chat in
``youtube_chat.py``; this module adds ``videos.list`` / ``videos.delete``, ``channels.list``,
the seeded channel and its tokens.

Subscriber counts are rounded down to three significant figures, as YouTube publishes them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from math import floor, log10
from typing import Any

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.google.base import ACCESS_TOKEN_LIFETIME, google_error
from cm_toolkit.sandbox.google.youtube_base import V3
from cm_toolkit.sandbox.google.youtube_chat import ChatRoutes
from cm_toolkit.sandbox.google.youtube_comments import CommentRoutes
from cm_toolkit.sandbox.google.youtube_live import LiveRoutes
from cm_toolkit.sandbox.google.youtube_state import (
    WATCH_URL,
    Video,
    YouTubeAccount,
    etag,
    rfc3339,
)
from cm_toolkit.sandbox.google.youtube_uploads import UploadRoutes

# The sample workspace's channel (channels/youtube.yaml).
CHANNEL_ID = "UCmanagerLeader20xxxxxxx"
ACCESS_TOKEN = f"youtube-sandbox-access-{CHANNEL_ID}"
REFRESH_TOKEN = f"youtube-sandbox-refresh-{CHANNEL_ID}"


def three_significant(count: int) -> int:
    """YouTube's public subscriber count: rounded down to three significant figures."""
    if count < 1000:
        return count
    step = 10 ** (floor(log10(count)) - 2)
    return count // step * step


class YouTubeEmulator(LiveRoutes, UploadRoutes, CommentRoutes, ChatRoutes):
    """YouTube Data API v3: live broadcasts and streams, uploads, statistics, comments.

    ``round_subscribers`` (True, as YouTube does) rounds subscriber counts down to three
    significant figures; a test comparing exact simulated counts turns it off.
    """

    round_subscribers = True

    def seed_accounts(self) -> None:
        created = datetime(2014, 9, 1, tzinfo=UTC)
        self.store.accounts[CHANNEL_ID] = YouTubeAccount(
            channel_id=CHANNEL_ID,
            title="Du Manager au Leader 2.0",
            description="Le MOOC du management : lives avec l'équipe pédagogique et replays.",
            custom_url="@managerleader20",
            created_at=created,
        )
        self.ctx.tokens.add(
            Token(
                value=ACCESS_TOKEN,
                network="youtube",
                account_id=CHANNEL_ID,
                expires_at=self.ctx.now() + ACCESS_TOKEN_LIFETIME,
                refresh_token=REFRESH_TOKEN,
            )
        )

    def environment(self) -> dict[str, str]:
        return {"CM_YOUTUBE_REFRESH_TOKEN": REFRESH_TOKEN}

    def state(self) -> dict[str, Any]:
        now = self.ctx.now()
        every = ["snippet", "status", "contentDetails"]
        return {
            "channels": {
                cid: {"title": a.title, "subscribers": self._subscribers(cid, now)}
                for cid, a in self.store.accounts.items()
            },
            "broadcasts": [b.resource(every) for b in self.store.broadcasts.values()],
            "streams": [
                s.resource(["snippet", "cdn", "status"]) for s in self.store.streams.values()
            ],
            "videos": [
                {**v.resource(["snippet", "status"], None), "url": WATCH_URL.format(id=v.id)}
                for v in self.store.videos.values()
                if v.live is None
            ],
            "uploads": {
                u.id: {"received": len(u.received), "total": u.total, "video_id": u.video_id}
                for u in self.store.uploads.values()
            },
            "quota": self.quota.as_dict(now),
            # what the channel answered: comment replies by parent, chat lines by chat
            "replies": {p: [r["text"] for r in rs] for p, rs in self.store.replies.items()},
            "chat": {c: [line["text"] for line in ls] for c, ls in self.store.chat.items()},
        }

    def _subscribers(self, channel_id: str, now: datetime) -> int:
        return self.ctx.audience.followers("youtube", channel_id, now)

    def _public_count(self, channel_id: str, now: datetime) -> int:
        count = self._subscribers(channel_id, now)
        return three_significant(count) if self.round_subscribers else count

    def _statistics(self, video: Video, now: datetime) -> dict[str, int]:
        since = video.publish_at or video.published_at
        if video.live is not None:
            since = video.live.actual_start or video.live.scheduled_start
        return self.ctx.audience.engagement("youtube", video.id, since, max(now, since))

    # -- videos ----------------------------------------------------------------------------

    @route("GET", V3 + "/videos")
    def videos_list(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.videos.list"

        def check() -> tuple[list[str], dict[str, str]]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "Video")
            self.one_filter(query, ("chart", "id", "myRating"))
            return parts, query

        parts, query = self.metered(method, check)
        now = self.ctx.now()
        items = []
        for wanted in query.get("id", "").split(","):
            video = self.store.videos.get(wanted.strip())
            if video is None:
                continue  # YouTube leaves unknown ids out of the list
            if video.privacy == "private" and video.channel_id != token.account_id:
                continue
            items.append(video.resource(parts, self._statistics(video, now)))
        per_page = int(query.get("maxResults", "5"))
        return SandboxResponse.json(
            200, self.list_response("youtube#videoListResponse", items, max(per_page, len(items)))
        )

    @route("DELETE", V3 + "/videos")
    def videos_delete(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.videos.delete"

        def check() -> Video:
            query = self.doc.check_query(request, method)
            video = self.store.videos.get(query["id"])
            if video is None:
                raise google_error(
                    404,
                    "The video that you are trying to delete cannot be found.",
                    reason="videoNotFound",
                    domain="youtube.video",
                    location="id",
                )
            if video.channel_id != token.account_id:
                raise google_error(
                    403,
                    "The video that you are trying to delete cannot be deleted. The request "
                    "might not be properly authorized.",
                    reason="forbidden",
                    domain="youtube.video",
                )
            return video

        video = self.metered(method, check)
        del self.store.videos[video.id]
        self.store.broadcasts.pop(video.id, None)
        self.ctx.audience.unpublished("youtube", video.id)
        return SandboxResponse(204, b"")

    # -- channels --------------------------------------------------------------------------

    @route("GET", V3 + "/channels")
    def channels_list(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.channels.list"

        def check() -> tuple[list[str], dict[str, str]]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "Channel")
            self.one_filter(query, ("forHandle", "forUsername", "id", "managedByMe", "mine"))
            return parts, query

        parts, query = self.metered(method, check)
        if query.get("mine") == "true":
            wanted = [token.account_id]
        elif query.get("id"):
            wanted = query["id"].split(",")
        elif query.get("forHandle"):
            handle = "@" + query["forHandle"].lstrip("@").lower()
            wanted = [a.channel_id for a in self.store.accounts.values() if a.custom_url == handle]
        else:
            wanted = []
        now = self.ctx.now()
        items = [
            self._channel(self.store.accounts[cid], parts, now)
            for cid in wanted
            if cid in self.store.accounts
        ]
        return SandboxResponse.json(
            200, self.list_response("youtube#channelListResponse", items, 5)
        )

    def _channel(self, account: YouTubeAccount, parts: list[str], now: datetime) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#channel", "id": account.channel_id}
        videos = [
            v
            for v in self.store.videos.values()
            if v.channel_id == account.channel_id and v.privacy != "private"
        ]
        if "snippet" in parts:
            out["snippet"] = {
                "title": account.title,
                "description": account.description,
                "customUrl": account.custom_url,
                "publishedAt": rfc3339(account.created_at),
                "thumbnails": {},
                "localized": {"title": account.title, "description": account.description},
            }
        if "statistics" in parts:
            views = sum(self._statistics(v, now)["views"] for v in videos)
            out["statistics"] = {
                "viewCount": str(views),
                "subscriberCount": str(self._public_count(account.channel_id, now)),
                "hiddenSubscriberCount": False,
                "videoCount": str(len(videos)),
            }
        if "contentDetails" in parts:
            out["contentDetails"] = {
                "relatedPlaylists": {"likes": "", "uploads": "UU" + account.channel_id[2:]}
            }
        out["etag"] = etag(out)
        return out
