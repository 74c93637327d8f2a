"""What the Mastodon emulator keeps, and the JSON shapes it answers with (Mastodon's entities).

Accounts are ``username@instance`` (an instance is a host the emulator serves); every status,
attachment and token belongs to one. Shapes follow the documented entities (``Status``,
``Account``, ``MediaAttachment``, ``Instance``): the fields Mastodon.py and clients read, with
Mastodon's types (ids are strings, times ISO 8601 with milliseconds and ``Z``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

TEXT_MAX = 500  # Mastodon's default configuration.statuses.max_characters
MEDIA_MAX = 4
IMAGE_BYTES_MAX = 16 * 1024 * 1024
DESCRIPTION_MAX = 1500
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")
VERSION = "4.3.2"
_LINK = re.compile(r"https?://[^\s<]+[^\s<.,;:!?)\]'\"]")


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass
class Instance:
    host: str
    title: str
    max_characters: int = TEXT_MAX

    def shape(self) -> dict[str, Any]:
        """``GET /api/v2/instance`` (the parts clients read)."""
        return {
            "domain": self.host, "title": self.title, "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": f"{self.title}: un serveur Mastodon d'établissement.",
            "usage": {"users": {"active_month": 1840}},
            "thumbnail": {"url": f"https://{self.host}/packs/media/images/preview.png"},
            "languages": ["fr", "en"],
            "api_versions": {"mastodon": 2},
            "configuration": {
                "urls": {"streaming": f"wss://{self.host}"},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {"max_characters": self.max_characters,
                             "max_media_attachments": MEDIA_MAX,
                             "characters_reserved_per_url": 23},
                "media_attachments": {
                    "supported_mime_types": list(IMAGE_TYPES),
                    "description_limit": DESCRIPTION_MAX,
                    "image_size_limit": IMAGE_BYTES_MAX,
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {"max_options": 4, "max_characters_per_option": 50,
                          "min_expiration": 300, "max_expiration": 2629746},
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": True, "message": None},
            "contact": {"email": f"admin@{self.host}", "account": None},
            "rules": [],
        }


@dataclass
class Account:
    id: str
    username: str
    instance: str
    display_name: str
    created_at: datetime
    note: str = ""

    @property
    def acct(self) -> str:
        return f"{self.username}@{self.instance}"

    def shape(self, followers: int, statuses: int, local: bool = True) -> dict[str, Any]:
        """The Account entity: ``acct`` is ``username`` for an account of a served instance,
        ``username@instance`` for a remote one (a learner's)."""
        acct = self.username if local else self.acct
        return {
            "id": self.id, "username": self.username, "acct": acct,
            "display_name": self.display_name, "locked": False, "bot": False,
            "discoverable": True, "group": False, "created_at": stamp(self.created_at),
            "note": f"<p>{html.escape(self.note)}</p>",
            "url": f"https://{self.instance}/@{self.username}",
            "uri": f"https://{self.instance}/users/{self.username}",
            "avatar": f"https://{self.instance}/avatars/original/missing.png",
            "avatar_static": f"https://{self.instance}/avatars/original/missing.png",
            "header": f"https://{self.instance}/headers/original/missing.png",
            "header_static": f"https://{self.instance}/headers/original/missing.png",
            "followers_count": followers, "following_count": 180, "statuses_count": statuses,
            "last_status_at": None, "emojis": [], "fields": [],
            "source": {"privacy": "public", "sensitive": False, "language": "fr", "note": self.note,
                       "fields": []},
        }


@dataclass
class Media:
    id: str
    account: str  # acct
    kind: str  # "image"
    mime_type: str
    size: int
    description: str | None
    status_id: str | None = None

    def shape(self, host: str) -> dict[str, Any]:
        url = f"https://{host}/system/media_attachments/files/{self.id}/original/image"
        return {"id": self.id, "type": self.kind, "url": url, "preview_url": url,
                "remote_url": None, "text_url": None, "meta": {}, "description": self.description,
                "blurhash": "UFBWY:8_0Jxv~q%MM{of00M{ofof"}


@dataclass
class Status:
    id: str
    account: str  # acct
    text: str
    created_at: datetime
    visibility: str
    language: str | None
    in_reply_to_id: str | None = None
    media_ids: list[str] = field(default_factory=list)
    idempotency_key: str | None = None


@dataclass
class Notification:
    """A ``mention`` notification of ``account`` (acct): ``status_id`` names it."""

    id: str
    account: str
    status_id: str
    created_at: datetime


def content_html(text: str, mentions: dict[str, str] | None = None) -> str:
    """The status's ``content``: paragraphs and links, as Mastodon renders plain text."""
    paragraphs = []
    for block in re.split(r"\n{2,}", text.strip()):
        escaped = html.escape(block)
        linked = _LINK.sub(lambda m: f'<a href="{m.group(0)}" rel="nofollow noopener" '
                                     f'target="_blank">{m.group(0)}</a>', escaped)
        for handle, url in (mentions or {}).items():  # Mastodon's h-card markup of a mention
            linked = re.sub(
                rf"(?<![\w@/])@{re.escape(handle)}(?![\w@.-])",
                f'<span class="h-card" translate="no"><a href="{url}" class="u-url mention">'
                f'@<span>{handle.split("@")[0]}</span></a></span>', linked)
        paragraphs.append("<p>" + linked.replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)
