"""What the X emulator remembers: accounts, posts, media, OAuth grants. Plain data, no HTTP."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# X ids are snowflakes: milliseconds since X's epoch, shifted left 22 bits, plus a sequence.
# Ids made that way grow with (sandbox) time like the real ones and stay 19 digits long.
SNOWFLAKE_EPOCH_MS = 1288834974657
ACCESS_TOKEN_LIFETIME = timedelta(hours=2)  # X OAuth 2.0 access tokens (API_FACTS.md)
AUTH_CODE_LIFETIME = timedelta(seconds=30)  # X authorization codes are valid for 30 seconds
MEDIA_EXPIRES_AFTER = 86400  # an uploaded media id can be attached for 24 hours
IMAGE_MAX_BYTES = 5 * 1024 * 1024
GIF_MAX_BYTES = 15 * 1024 * 1024
VIDEO_MAX_BYTES = 512 * 1024 * 1024
TEXT_MAX_WEIGHTED = 280


def snowflake(at: datetime, sequence: int) -> str:
    millis = int(at.astimezone(UTC).timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
    return str((max(millis, 0) << 22) | (sequence & 0x3FFFFF))


def iso_z(at: datetime) -> str:
    """X's timestamp format: ``2027-03-01T09:00:00.000Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (f"{at.microsecond // 1000:03d}Z")


@dataclass
class XAccount:
    id: str
    username: str
    name: str
    created_at: datetime
    description: str = ""
    following: int = 0
    listed: int = 0

    @property
    def slug(self) -> str:
        return self.username.lower()


@dataclass
class XTweet:
    id: str
    author_id: str
    text: str
    created_at: datetime
    in_reply_to_tweet_id: str | None = None
    in_reply_to_user_id: str | None = None
    conversation_id: str = ""
    media_keys: list[str] = field(default_factory=list)
    quote_tweet_id: str | None = None
    deleted: bool = False
    lang: str = "fr"

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "text": self.text,
            "created_at": iso_z(self.created_at),
            "in_reply_to_tweet_id": self.in_reply_to_tweet_id,
            "media_keys": self.media_keys,
            "deleted": self.deleted,
        }


class MediaState(enum.Enum):
    UPLOADING = "uploading"  # chunked upload initialised, segments arriving
    PENDING = "pending"  # finalized, processing not started
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass
class XMedia:
    id: str
    owner_id: str
    category: str  # tweet_image, tweet_video, tweet_gif...
    media_type: str  # image/jpeg, video/mp4...
    created_at: datetime
    size: int = 0
    total_bytes: int | None = None  # announced by a chunked upload's initialize
    segments: dict[int, int] = field(default_factory=dict)  # segment index -> size
    state: MediaState = MediaState.SUCCEEDED
    polls: int = 0  # status polls so far: processing advances one step per poll
    alt_text: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def key(self) -> str:
        prefix = {"tweet_video": "7", "amplify_video": "13", "tweet_gif": "16"}.get(
            self.category, "3"
        )
        return f"{prefix}_{self.id}"

    def expires_at(self) -> datetime:
        return self.created_at + timedelta(seconds=MEDIA_EXPIRES_AFTER)


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: list[str]
    challenge: str
    method: str  # S256 or plain
    account_id: str
    expires_at: datetime
    used: bool = False


@dataclass
class Grant:
    """The OAuth 2.0 grant behind an access token: its scopes and client."""

    account_id: str
    client_id: str
    scope: list[str]
    refresh_token: str | None = None


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str | None  # None: a public client (PKCE only)
    name: str


@dataclass(frozen=True)
class OAuth1Keys:
    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str
    account_id: str
