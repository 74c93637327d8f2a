"""What the YouTube emulator remembers, and how YouTube renders it as JSON resources.

A broadcast *is* a video on YouTube (same 11-character id, same watch link), so
``videos.list`` answers for broadcasts too. Counts in statistics are strings, as YouTube sends
them (``uint64`` travels as a JSON string).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WATCH_URL = "https://www.youtube.com/watch?v={id}"


class LifeCycle(enum.Enum):
    """``status.lifeCycleStatus`` of a broadcast (the sandbox skips the *Starting states)."""

    CREATED = "created"
    READY = "ready"
    TESTING = "testing"
    LIVE = "live"
    COMPLETE = "complete"


# broadcastStatus asked -> states it may be asked from (YouTube's transition rules).
TRANSITIONS: dict[LifeCycle, tuple[LifeCycle, ...]] = {
    LifeCycle.TESTING: (LifeCycle.READY,),
    LifeCycle.LIVE: (LifeCycle.TESTING, LifeCycle.READY),  # READY only without monitor stream
    LifeCycle.COMPLETE: (LifeCycle.LIVE, LifeCycle.TESTING),
}


def rfc3339(instant: datetime) -> str:
    """``2027-12-09T17:00:00Z``: how YouTube writes instants (UTC, no fraction)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag(payload: Any) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest[:20]).decode().rstrip("=")


def video_id(seed: int, number: int) -> str:
    """An 11-character id in YouTube's alphabet, the same for the same seed and order."""
    digest = hashlib.sha256(f"{seed}:youtube-video:{number}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


def thumbnails(video: str) -> dict[str, Any]:
    base = f"https://i.ytimg.com/vi/{video}"
    return {
        "default": {"url": f"{base}/default.jpg", "width": 120, "height": 90},
        "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
        "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360},
    }


@dataclass
class YouTubeAccount:
    channel_id: str
    title: str
    description: str
    custom_url: str
    created_at: datetime


@dataclass
class Broadcast:
    id: str
    channel_id: str
    title: str
    description: str
    scheduled_start: datetime
    scheduled_end: datetime | None
    privacy: str
    created_at: datetime
    content_details: dict[str, Any]
    life_cycle: LifeCycle = LifeCycle.CREATED
    bound_stream_id: str | None = None
    bound_at: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None

    def resource(self, parts: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#liveBroadcast", "id": self.id}
        if "snippet" in parts:
            snippet: dict[str, Any] = {
                "publishedAt": rfc3339(self.created_at),
                "channelId": self.channel_id,
                "title": self.title,
                "description": self.description,
                "thumbnails": thumbnails(self.id),
                "scheduledStartTime": rfc3339(self.scheduled_start),
                "isDefaultBroadcast": False,
                "liveChatId": f"KicKGFVD{self.id}",
            }
            if self.scheduled_end:
                snippet["scheduledEndTime"] = rfc3339(self.scheduled_end)
            if self.actual_start:
                snippet["actualStartTime"] = rfc3339(self.actual_start)
            if self.actual_end:
                snippet["actualEndTime"] = rfc3339(self.actual_end)
            out["snippet"] = snippet
        if "status" in parts:
            out["status"] = {
                "lifeCycleStatus": self.life_cycle.value,
                "privacyStatus": self.privacy,
                "recordingStatus": {
                    LifeCycle.LIVE: "recording",
                    LifeCycle.COMPLETE: "recorded",
                }.get(self.life_cycle, "notRecording"),
                "madeForKids": False,
                "selfDeclaredMadeForKids": False,
            }
        if "contentDetails" in parts:
            details = dict(self.content_details)
            if self.bound_stream_id:
                details["boundStreamId"] = self.bound_stream_id
                assert self.bound_at is not None
                details["boundStreamLastUpdateTimeMs"] = rfc3339(self.bound_at)
            out["contentDetails"] = details
        if "statistics" in parts:
            out["statistics"] = {}
        out["etag"] = etag(out)
        return out


@dataclass
class Stream:
    id: str
    channel_id: str
    title: str
    description: str
    cdn: dict[str, Any]
    created_at: datetime

    def resource(self, parts: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#liveStream", "id": self.id}
        if "snippet" in parts:
            out["snippet"] = {
                "publishedAt": rfc3339(self.created_at),
                "channelId": self.channel_id,
                "title": self.title,
                "description": self.description,
                "isDefaultStream": False,
            }
        if "cdn" in parts:
            key = self.id[-19:].lower()
            out["cdn"] = {
                "ingestionType": self.cdn.get("ingestionType", "rtmp"),
                "ingestionInfo": {
                    "streamName": key,
                    "ingestionAddress": "rtmp://a.rtmp.youtube.com/live2",
                    "backupIngestionAddress": "rtmp://b.rtmp.youtube.com/live2?backup=1",
                    "rtmpsIngestionAddress": "rtmps://a.rtmps.youtube.com/live2",
                    "rtmpsBackupIngestionAddress": "rtmps://b.rtmps.youtube.com/live2?backup=1",
                },
                "resolution": self.cdn.get("resolution", "variable"),
                "frameRate": self.cdn.get("frameRate", "variable"),
            }
        if "status" in parts:
            out["status"] = {"streamStatus": "ready", "healthStatus": {"status": "noData"}}
        if "contentDetails" in parts:
            out["contentDetails"] = {"isReusable": True}
        out["etag"] = etag(out)
        return out


@dataclass
class Video:
    id: str
    channel_id: str
    channel_title: str
    title: str
    description: str
    privacy: str
    published_at: datetime
    publish_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    category_id: str = "22"
    size: int = 0
    live: Broadcast | None = None  # a broadcast seen as a video

    def resource(self, parts: list[str], statistics: dict[str, int] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#video", "id": self.id}
        if "snippet" in parts:
            snippet: dict[str, Any] = {
                "publishedAt": rfc3339(self.published_at),
                "channelId": self.channel_id,
                "title": self.title,
                "description": self.description,
                "thumbnails": thumbnails(self.id),
                "channelTitle": self.channel_title,
                "categoryId": self.category_id,
                "liveBroadcastContent": self._live_content(),
                "localized": {"title": self.title, "description": self.description},
            }
            if self.tags:
                snippet["tags"] = list(self.tags)
            out["snippet"] = snippet
        if "status" in parts:
            status: dict[str, Any] = {
                "uploadStatus": "processed",
                "privacyStatus": self.privacy,
                "license": "youtube",
                "embeddable": True,
                "publicStatsViewable": True,
                "madeForKids": False,
            }
            if self.publish_at:
                status["publishAt"] = rfc3339(self.publish_at)
            out["status"] = status
        if "statistics" in parts and statistics is not None:
            out["statistics"] = {
                "viewCount": str(statistics["views"]),
                "likeCount": str(statistics["reactions"]),
                "favoriteCount": "0",
                "commentCount": str(statistics["comments"]),
            }
        if "liveStreamingDetails" in parts and self.live is not None:
            details = {"scheduledStartTime": rfc3339(self.live.scheduled_start)}
            if self.live.actual_start:
                details["actualStartTime"] = rfc3339(self.live.actual_start)
            if self.live.actual_end:
                details["actualEndTime"] = rfc3339(self.live.actual_end)
            out["liveStreamingDetails"] = details
        out["etag"] = etag(out)
        return out

    def _live_content(self) -> str:
        if self.live is None or self.live.life_cycle is LifeCycle.COMPLETE:
            return "none"
        return "live" if self.live.life_cycle is LifeCycle.LIVE else "upcoming"


@dataclass
class UploadSession:
    """A resumable upload: metadata received, bytes arriving in chunks, then a video."""

    id: str
    channel_id: str
    channel_title: str
    parts: list[str]
    metadata: dict[str, Any]
    content_type: str
    total: int | None
    created_at: datetime
    received: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


@dataclass
class YouTubeStore:
    accounts: dict[str, YouTubeAccount] = field(default_factory=dict)  # by channel id
    broadcasts: dict[str, Broadcast] = field(default_factory=dict)
    streams: dict[str, Stream] = field(default_factory=dict)
    videos: dict[str, Video] = field(default_factory=dict)  # uploads and broadcasts
    uploads: dict[str, UploadSession] = field(default_factory=dict)
    # what the channel wrote: replies to comments (by parent id) and live chat lines (by chat)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chat: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
