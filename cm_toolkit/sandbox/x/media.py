"""X media upload (API v2): one-shot images, chunked video, processing status, alt text.

- ``POST /2/media/upload``: multipart ``media`` (file) + ``media_category`` (or JSON with base64
  ``media``) -> ``{data: {id, media_key, size, expires_after_secs, image: {image_type, w, h}}}``
- ``POST /2/media/upload/initialize`` ``{media_type, total_bytes, media_category}`` ->
  ``{data: {id, media_key, expires_after_secs}}``
- ``POST /2/media/upload/{id}/append``: multipart ``media`` + ``segment_index`` ->
  ``{data: {expires_at}}``
- ``POST /2/media/upload/{id}/finalize`` -> ``{data: {id, media_key, size, expires_after_secs,
  processing_info?}}``; videos are processed: each ``GET /2/media/upload?command=STATUS``
  poll moves them one step (pending -> in_progress -> succeeded), so tests need no clock.
- ``POST /2/media/metadata`` ``{id, metadata: {alt_text: {text}}}``
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Any

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, epoch_seconds, route
from cm_toolkit.sandbox.x import problems
from cm_toolkit.sandbox.x.base import XEmulatorBase, per_15_min
from cm_toolkit.sandbox.x.model import (
    GIF_MAX_BYTES,
    IMAGE_MAX_BYTES,
    MEDIA_EXPIRES_AFTER,
    VIDEO_MAX_BYTES,
    MediaState,
    XMedia,
    snowflake,
)

UPLOADS = per_15_min(500)


def sniff_image(data: bytes) -> tuple[str, int | None, int | None] | None:
    """(MIME type, width, height) of an image X accepts, from its first bytes; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data.startswith((b"GIF87a", b"GIF89a")) and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "image/gif", width, height
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp", None, None
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", *_jpeg_size(data)
    if data.startswith(b"BM"):
        return "image/bmp", None, None
    return None


def _jpeg_size(data: bytes) -> tuple[int | None, int | None]:
    index = 2
    while index + 9 < len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None, None


class MediaRoutes(XEmulatorBase):
    def _new_media(self, token: Token, category: str, media_type: str) -> XMedia:
        now = self.ctx.now()
        item = XMedia(
            snowflake(now, self.ctx.next_id("x.seq")), token.account_id, category, media_type, now
        )
        self.media[item.id] = item
        return item

    def _owned(self, media_id: str, token: Token) -> XMedia:
        if not media_id.isdigit():
            raise problems.invalid(
                f"The `id` path parameter value [{media_id}] does not match ^[0-9]{{1,19}}$",
                id=[media_id],
            )
        item = self.media.get(media_id)
        if item is None or item.owner_id != token.account_id:
            raise problems.not_found("media", "id", media_id)
        return item

    def _payload(self, request: SandboxRequest, operation: str) -> tuple[dict[str, Any], bytes]:
        """The fields and the media bytes of a multipart or JSON upload, schema-checked."""
        ctype = (request.header("content-type") or "").split(";")[0].strip()
        if ctype == "multipart/form-data":
            fields: dict[str, Any] = {k: v[-1] for k, v in request.form().items()}
            files = request.files()
            if "segment_index" in fields and fields["segment_index"].isdigit():
                fields["segment_index"] = int(fields["segment_index"])
            checked = {**fields, **({"media": "<binary>"} if "media" in files else {})}
            self.check_body(checked, operation, "multipart/form-data")
            return fields, files.get("media", fields.get("media", "").encode())
        body = request.json()
        self.check_body(body, operation)
        try:
            data = base64.b64decode(body.get("media", ""), validate=True)
        except (binascii.Error, ValueError):
            raise problems.invalid("$.media: is not valid base64", media=["<binary>"]) from None
        return body, data

    @route("POST", r"/2/media/upload", rate_limit=UPLOADS)
    def upload(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "media.write")
        fields, data = self._payload(request, "mediaUpload")
        sniffed = sniff_image(data)
        if sniffed is None:
            raise problems.invalid("media type unrecognized.", media=["<binary>"])
        media_type, width, height = sniffed
        limit = GIF_MAX_BYTES if media_type == "image/gif" else IMAGE_MAX_BYTES
        if len(data) > limit:
            raise problems.invalid(
                f"File size exceeds {limit} bytes.", media=[f"<{len(data)} bytes>"]
            )
        item = self._new_media(token, fields["media_category"], media_type)
        item.size, item.width, item.height = len(data), width, height
        image: dict[str, Any] = {"image_type": media_type}
        if width is not None:
            image.update(w=width, h=height)
        return SandboxResponse.json(200, {"data": {**self._describe(item), "image": image}})

    @route("POST", r"/2/media/upload/initialize", rate_limit=UPLOADS)
    def initialize(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "media.write")
        body = request.json()
        self.check_body(body, "initializeMediaUpload")
        media_type = body.get("media_type", "video/mp4")
        category = body.get("media_category") or (
            "tweet_video" if media_type.startswith("video/") else "tweet_image"
        )
        limit = {"tweet_video": VIDEO_MAX_BYTES, "tweet_gif": GIF_MAX_BYTES}.get(
            category, IMAGE_MAX_BYTES
        )
        if body.get("total_bytes", 0) > limit:
            raise problems.invalid(
                f"File size exceeds {limit} bytes.", total_bytes=[str(body["total_bytes"])]
            )
        item = self._new_media(token, category, media_type)
        item.state, item.total_bytes = MediaState.UPLOADING, body.get("total_bytes")
        data = {"id": item.id, "media_key": item.key, "expires_after_secs": MEDIA_EXPIRES_AFTER}
        return SandboxResponse.json(200, {"data": data})

    @route("POST", r"/2/media/upload/(?P<media_id>[^/]+)/append", rate_limit=UPLOADS)
    def append(self, request: SandboxRequest, token: Token, media_id: str) -> SandboxResponse:
        self.require_scopes(token, "media.write")
        item = self._owned(media_id, token)
        fields, data = self._payload(request, "appendMediaUpload")
        if item.state is not MediaState.UPLOADING:
            raise problems.invalid("The media upload was already finalized.", id=[media_id])
        item.segments[int(fields["segment_index"])] = len(data)
        expires = epoch_seconds(item.expires_at())
        return SandboxResponse.json(200, {"data": {"expires_at": expires}})

    @route("POST", r"/2/media/upload/(?P<media_id>[^/]+)/finalize", rate_limit=UPLOADS)
    def finalize(self, request: SandboxRequest, token: Token, media_id: str) -> SandboxResponse:
        self.require_scopes(token, "media.write")
        item = self._owned(media_id, token)
        if item.state is not MediaState.UPLOADING:
            raise problems.invalid("The media upload was already finalized.", id=[media_id])
        size = sum(item.segments.values())
        missing = [i for i in range(len(item.segments)) if i not in item.segments]
        if (
            not item.segments
            or missing
            or (item.total_bytes is not None and size != item.total_bytes)
        ):
            raise problems.invalid(
                f"File size mismatch: received {size} bytes in {len(item.segments)} segments, "
                f"expected {item.total_bytes}.",
                id=[media_id],
            )
        item.size = size
        processed = item.media_type.startswith("video/") or item.category == "tweet_gif"
        item.state = MediaState.PENDING if processed else MediaState.SUCCEEDED
        return SandboxResponse.json(200, {"data": self._describe(item)})

    @route("GET", r"/2/media/upload", rate_limit=UPLOADS)
    def status(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "media.write")
        self.check_query(request, "getMediaUploadStatus")
        item = self._owned(request.query["media_id"][-1], token)
        item.polls += 1
        if item.state in (MediaState.PENDING, MediaState.IN_PROGRESS):
            item.state = MediaState.IN_PROGRESS if item.polls == 1 else MediaState.SUCCEEDED
        return SandboxResponse.json(200, {"data": self._describe(item)})

    @route("POST", r"/2/media/metadata", rate_limit=UPLOADS)
    def metadata(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.require_scopes(token, "media.write")
        body = request.json()
        self.check_body(body, "createMediaMetadata")
        item = self._owned(body["id"], token)
        alt = body.get("metadata", {}).get("alt_text")
        if alt is not None:
            item.alt_text = alt["text"]
        associated = {"alt_text": {"text": item.alt_text}} if item.alt_text is not None else {}
        return SandboxResponse.json(
            200, {"data": {"id": item.id, "associated_metadata": associated}}
        )

    def _describe(self, item: XMedia) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": item.id,
            "media_key": item.key,
            "size": item.size,
            "expires_after_secs": max(0, int((item.expires_at() - self.ctx.now()).total_seconds())),
        }
        if item.state in (MediaState.PENDING, MediaState.IN_PROGRESS):
            progress = 0 if item.state is MediaState.PENDING else 50
            data["processing_info"] = {
                "state": item.state.value,
                "check_after_secs": 1,
                "progress_percent": progress,
            }
        elif item.state is MediaState.SUCCEEDED and item.polls:
            data["processing_info"] = {"state": "succeeded", "progress_percent": 100}
        return data
