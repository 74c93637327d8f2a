"""The Mastodon API routes the emulator serves (see docs/sandbox/mastodon.md).

- ``GET /api/v2/instance``: the instance's configuration (limits), no token needed.
- ``GET /api/v1/accounts/verify_credentials``: the token's account, followers from the
  simulated audience.
- ``POST /api/v2/media``: an image (JPEG, PNG, GIF, WEBP, AVIF by content) with its alt text
  (``description``, 1,500 characters at most), 16 MB at most; 30 uploads per 30 minutes.
- ``POST /api/v1/statuses``: a status, counted as Mastodon counts (links 23, ``@user@domain`` as
  ``@user``) against the instance's ``max_characters``; at most 4 attachments of the account's
  own, not yet attached; ``in_reply_to_id`` must exist. ``Idempotency-Key``: the same key from
  the same account within the hour answers the status created the first time, creating nothing.
- ``GET /api/v1/statuses?id[]=``, ``GET``/``DELETE /api/v1/statuses/:id``: counts from the
  simulated audience (favourites, reblogs, replies).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from cm_toolkit.channels.mastodon.text import mastodon_length
from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import (
    ApiError,
    RateLimit,
    SandboxRequest,
    SandboxResponse,
    Token,
    route,
)
from cm_toolkit.sandbox.mastodon.base import IDEMPOTENCY_KEPT, MastodonEmulatorBase
from cm_toolkit.sandbox.mastodon.model import (
    DESCRIPTION_MAX,
    IMAGE_BYTES_MAX,
    MEDIA_MAX,
    Account,
    Media,
    Status,
    content_html,
    stamp,
)

UPLOADS = RateLimit(30, timedelta(minutes=30))
_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def sniff(data: bytes) -> str | None:
    """The image type of ``data`` from its first bytes (Mastodon reads the file, not its name)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


class StatusRoutes(MastodonEmulatorBase):
    @route("GET", r"/api/v2/instance", auth=False)
    def instance(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(200, self.instance_of(request).shape())

    @route("GET", r"/api/v1/accounts/verify_credentials")
    def verify_credentials(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        account = self.account_of(token)
        followers = self.ctx.audience.followers(self.network, account.acct, self.ctx.now())
        mine = sum(1 for s in self.statuses.values() if s.account == account.acct)
        return SandboxResponse.json(200, account.shape(followers, mine))

    @route("POST", r"/api/v2/media", rate_limit=UPLOADS)
    def upload(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        data = request.files().get("file")
        if data is None:
            raise ApiError(422, "Validation failed: File can't be blank")
        mime = sniff(data)
        if mime is None or mime not in self.instance_of(request).shape()["configuration"][
                "media_attachments"]["supported_mime_types"]:
            raise ApiError(422, "Validation failed: File content type is invalid, "
                                "File file type is not supported")
        if len(data) > IMAGE_BYTES_MAX:
            raise ApiError(422, "Validation failed: File file size must be less than 16 MB")
        description = request.arg("description")
        if description is not None and len(description) > DESCRIPTION_MAX:
            raise ApiError(422, "Validation failed: Description is too long (maximum is "
                                f"{DESCRIPTION_MAX} characters)")
        media = Media(str(self.ctx.next_id("mastodon.media", 110000000000000001)),
                      token.account_id, "image", mime, len(data), description)
        self.media[media.id] = media
        return SandboxResponse.json(200, media.shape(self.account_of(token).instance))

    @route("POST", r"/api/v1/statuses", creates=True)
    def create(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        account = self.account_of(token)
        now = self.ctx.now()
        key = request.header("idempotency-key")
        if key:
            kept = self.idempotency.get((account.acct, key))
            if kept is not None and now - kept[1] < IDEMPOTENCY_KEPT and kept[0] in self.statuses:
                response = self._answer(self.statuses[kept[0]])
                response.journal["idempotent_replay"] = kept[0]
                return response
        fields = _fields(request)
        text = str(fields.get("status") or "")
        media_ids = [str(m) for m in fields.get("media_ids") or []]
        if not text.strip() and not media_ids:
            raise ApiError(422, "Validation failed: Text can't be blank")
        top = self.instance_of(request).max_characters
        if mastodon_length(text) > top:
            raise ApiError(422, f"Validation failed: Text character limit of {top} exceeded")
        if len(media_ids) > MEDIA_MAX:
            raise ApiError(422, f"Cannot attach more than {MEDIA_MAX} files")
        attached = [self.media[m] for m in media_ids
                    if m in self.media and self.media[m].account == account.acct
                    and self.media[m].status_id is None]  # others are ignored, as Mastodon does
        reply_to = fields.get("in_reply_to_id")
        if reply_to and str(reply_to) not in self.statuses:
            self.materialise()  # a learner's status not shown yet is there all the same
        if reply_to and str(reply_to) not in self.statuses:
            raise ApiError(404, "The post you are trying to reply to does not appear to exist.")
        status = Status(
            str(self.ctx.next_id("mastodon.status", 113000000000000001)), account.acct, text, now,
            str(fields.get("visibility") or "public"), fields.get("language") or None,
            str(reply_to) if reply_to else None, [m.id for m in attached], key)
        for media in attached:
            media.status_id = status.id
        self.statuses[status.id] = status
        if key:
            self.idempotency[(account.acct, key)] = (status.id, now)
        if not status.in_reply_to_id:
            self.ctx.audience.published(Publication(self.network, account.acct, status.id,
                                                    "post", now))
        return self._answer(status)

    @route("GET", r"/api/v1/statuses")
    def many(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        ids = request.query.get("id[]", []) + request.query.get("id", [])
        found = [self._shape(self.statuses[i]) for i in ids if i in self.statuses]
        return SandboxResponse.json(200, found)

    @route("GET", r"/api/v1/statuses/(?P<status_id>[^/]+)")
    def one(self, request: SandboxRequest, token: Token, status_id: str) -> SandboxResponse:
        if status_id not in self.statuses:
            raise ApiError(404, "Record not found")
        return self._answer(self.statuses[status_id])

    @route("DELETE", r"/api/v1/statuses/(?P<status_id>[^/]+)")
    def delete(self, request: SandboxRequest, token: Token, status_id: str) -> SandboxResponse:
        status = self.statuses.get(status_id)
        if status is None or status.account != token.account_id:
            raise ApiError(404, "Record not found")
        shape = self._shape(status)  # Mastodon answers the deleted status (for redraft)
        shape["text"] = status.text
        del self.statuses[status_id]
        self.ctx.audience.unpublished(self.network, status_id)
        return SandboxResponse.json(200, shape)

    # -- shapes -------------------------------------------------------------------------------

    def materialise(self) -> None:
        """What the audience wrote up to now (``audience.py``): nothing at this level."""

    def mentioned(self, status: Status) -> list[Account]:
        """The accounts ``status`` names (``@user@host``, or ``@user`` on its own instance)."""
        author = self.accounts[status.account]
        found = []
        for account in self.accounts.values():
            names = [account.acct] + ([account.username]
                                      if account.instance == author.instance else [])
            if any(re.search(rf"(?<![\w@/])@{re.escape(n)}(?![\w@-])", status.text,
                             re.IGNORECASE) for n in names):
                found.append(account)
        return found


    def _answer(self, status: Status) -> SandboxResponse:
        return SandboxResponse.json(200, self._shape(status))

    def _shape(self, status: Status) -> dict[str, Any]:
        account = self.accounts[status.account]
        counts = self.ctx.audience.engagement(self.network, status.id, status.created_at,
                                              self.ctx.now())
        followers = self.ctx.audience.followers(self.network, account.acct, self.ctx.now())
        mine = sum(1 for s in self.statuses.values() if s.account == account.acct)
        named = self.mentioned(status)
        reply_account = (self.accounts[self.statuses[status.in_reply_to_id].account].id
                         if status.in_reply_to_id in self.statuses else None)
        return {
            "id": status.id, "created_at": stamp(status.created_at),
            "in_reply_to_id": status.in_reply_to_id, "in_reply_to_account_id": reply_account,
            "sensitive": False, "spoiler_text": "", "visibility": status.visibility,
            "language": status.language,
            "uri": f"https://{account.instance}/users/{account.username}/statuses/{status.id}",
            "url": f"https://{account.instance}/@{account.username}/{status.id}",
            "replies_count": counts["comments"], "reblogs_count": counts["shares"],
            "favourites_count": counts["reactions"], "edited_at": None,
            "favourited": False, "reblogged": False, "muted": False, "bookmarked": False,
            "pinned": False, "content": content_html(status.text, {
                (a.username if a.instance == account.instance else a.acct):
                f"https://{a.instance}/@{a.username}" for a in named}), "filtered": [],
            "reblog": None, "application": {"name": "cm-toolkit", "website": None},
            "account": account.shape(followers, mine, local=account.instance in self.instances),
            "media_attachments": [self.media[m].shape(account.instance) for m in status.media_ids
                                  if m in self.media],
            "mentions": [{"id": a.id, "username": a.username, "acct": a.acct,
                          "url": f"https://{a.instance}/@{a.username}"} for a in named],
            "tags": [], "emojis": [], "card": None, "poll": None,
        }


def _fields(request: SandboxRequest) -> dict[str, Any]:
    """The status's fields, from a form (``media_ids[]``) or a JSON body."""
    if (request.header("content-type") or "").startswith("application/json"):
        body = request.json()
        return body if isinstance(body, dict) else {}
    found: dict[str, Any] = {}
    for name, values in request.form().items():
        if name.endswith("[]"):
            found[name[:-2]] = values
        else:
            found[name] = values[-1]
    return found
