"""What the Graph emulator remembers: Pages, their posts, photos and comments, and call usage.

Usage follows Graph's rate limiting: rolling windows of calls per app (``X-App-Usage``), per
user token (code 17) and per Page (Business Use Case usage, ``X-Business-Use-Case-Usage``),
reported as percentages of the limit, with ``estimated_time_to_regain_access`` in minutes.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class PostState(enum.Enum):
    PUBLISHED = "published"
    SCHEDULED = "scheduled"  # published=false + scheduled_publish_time
    UNPUBLISHED = "unpublished"  # published=false, no schedule ("dark" post)


class TokenKind(enum.Enum):
    PAGE = "page"
    USER = "user"
    APP = "app"


@dataclass
class GraphPhoto:
    id: str
    page_id: str
    created_at: datetime
    size: int
    mime_type: str
    source_url: str | None
    caption: str
    alt_text: str | None
    published: bool
    post_id: str | None = None  # the post showing it (own post, or attached_media)


@dataclass
class GraphPost:
    id: str  # "{page_id}_{object id}"
    page_id: str
    created_at: datetime
    message: str
    link: str | None
    state: PostState
    scheduled_at: datetime | None = None
    published_at: datetime | None = None
    photo_ids: list[str] = field(default_factory=list)
    via_photos_edge: bool = False  # created by POST /{page}/photos (its status_type differs)

    @property
    def object_id(self) -> str:
        return self.id.split("_", 1)[1]

    @property
    def kind(self) -> str:
        """The audience's publication kind: visual, article or post."""
        if self.photo_ids:
            return "visual"
        return "article" if self.link else "post"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message": self.message,
            "link": self.link,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "photo_ids": list(self.photo_ids),
        }


@dataclass
class GraphComment:
    """A comment written through the API (the Page replying); learners' comments are simulated."""

    id: str
    parent_id: str  # the post or comment it answers
    post_id: str
    author_name: str
    author_id: str
    message: str
    created_at: datetime


@dataclass
class GraphPage:
    id: str
    name: str
    username: str
    category: str
    posts: dict[str, GraphPost] = field(default_factory=dict)
    photos: dict[str, GraphPhoto] = field(default_factory=dict)
    comments: dict[str, GraphComment] = field(default_factory=dict)
    last_status: str | None = None  # last feed message, for "(#506) Duplicate status message"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "posts": [p.as_dict() for p in self.posts.values()],
            "photos": [
                {
                    "id": p.id,
                    "published": p.published,
                    "post_id": p.post_id,
                    "size": p.size,
                    "mime_type": p.mime_type,
                    "url": p.source_url,
                }
                for p in self.photos.values()
            ],
            "comments": [
                {"id": c.id, "parent_id": c.parent_id, "message": c.message}
                for c in self.comments.values()
            ],
        }


@dataclass
class Window:
    """Calls in a rolling window, against a limit."""

    limit: int
    span: timedelta
    calls: list[datetime] = field(default_factory=list)

    def trim(self, now: datetime) -> None:
        start = now - self.span
        self.calls = [t for t in self.calls if t > start]

    def full(self, now: datetime) -> bool:
        self.trim(now)
        return len(self.calls) >= self.limit

    def record(self, now: datetime) -> None:
        self.calls.append(now)

    def percent(self, now: datetime) -> int:
        self.trim(now)
        return min(100, math.ceil(100 * len(self.calls) / self.limit)) if self.limit else 100

    def minutes_to_regain(self, now: datetime) -> int:
        """Whole minutes until a call leaves the window (0 when not full)."""
        if not self.full(now):
            return 0
        seconds = (self.calls[0] + self.span - now).total_seconds()
        return max(1, math.ceil(seconds / 60))


def usage_header(window: Window, now: datetime) -> dict[str, int]:
    """``{call_count, total_cputime, total_time}`` percentages, as in ``X-App-Usage``."""
    pct = window.percent(now)
    return {"call_count": pct, "total_cputime": pct // 4, "total_time": pct // 2}
