"""``videos.insert``: Google's resumable upload protocol, and single-request multipart uploads.

Resumable: ``POST /upload/youtube/v3/videos?uploadType=resumable&part=...`` with the metadata as
JSON and ``X-Upload-Content-Type`` / ``X-Upload-Content-Length`` -> 200, empty body, ``Location``
naming the session (``upload_id``). Then ``PUT`` chunks to that URL with ``Content-Range: bytes
a-b/total``: 308 (Resume Incomplete) with ``Range: bytes=0-n`` until the last byte, then 200 and
the video resource. ``Content-Range: bytes */total`` asks where the upload stands. A PUT to a
finished session answers the same video again: re-sending the last chunk never makes a second
video.

Multipart: ``uploadType=multipart`` with a ``multipart/related`` body (JSON metadata, then the
media) -> 200 and the video resource at once.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from typing import Any

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import ApiError, SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.google.base import google_error
from cm_toolkit.sandbox.google.discovery import parse_datetime
from cm_toolkit.sandbox.google.youtube_base import YouTubeBase
from cm_toolkit.sandbox.google.youtube_state import UploadSession, Video

UPLOAD = r"(?:/resumable)?/upload/youtube/v3/videos"
METHOD = "youtube.videos.insert"
_RANGE = re.compile(r"bytes (?:(?P<start>\d+)-(?P<end>\d+)|\*)/(?P<total>\d+|\*)")
_MEDIA_TYPES = ("video/", "application/octet-stream")


def _bad_request(message: str, reason: str = "badRequest") -> ApiError:
    return google_error(400, message, reason=reason)


def _parse_related(request: SandboxRequest) -> tuple[dict[str, Any], bytes, str]:
    """(metadata, media, media type) of a ``multipart/related`` upload body."""
    ctype = request.header("content-type") or ""
    if not ctype.startswith("multipart/related"):
        raise _bad_request("Multipart uploads need a multipart/related body.")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + request.body
    )
    parts = list(message.iter_parts())
    if len(parts) != 2:
        raise _bad_request("Multipart uploads need two parts: the metadata, then the media.")
    raw_meta = parts[0].get_payload(decode=True)
    raw_media = parts[1].get_payload(decode=True)
    try:
        metadata = json.loads(raw_meta if isinstance(raw_meta, bytes) else b"{}")
    except ValueError:
        raise _bad_request("Invalid JSON payload received.", "parseError") from None
    media = raw_media if isinstance(raw_media, bytes) else b""
    return metadata, media, parts[1].get_content_type()


class UploadRoutes(YouTubeBase):
    """The upload half of the YouTube emulator."""

    def _check_metadata(self, request: SandboxRequest, metadata: Any) -> list[str]:
        query = self.doc.check_query(request, METHOD, also=("uploadType",))
        parts = self.doc.check_part(query["part"], "Video")
        self.doc.check_body(metadata, "Video", METHOD)
        self.check_text(metadata.get("snippet", {}), "youtube.video")
        status = metadata.get("status", {})
        if status.get("publishAt") and status.get("privacyStatus", "public") != "private":
            raise google_error(
                400,
                "The request metadata specifies an invalid scheduled publishing time.",
                reason="invalidPublishAt",
                domain="youtube.video",
            )
        return parts

    @staticmethod
    def _check_media_type(media_type: str) -> None:
        if not media_type.startswith(_MEDIA_TYPES):
            raise google_error(
                400, f"Media type '{media_type}' is not supported.", reason="badContent"
            )

    @route("POST", UPLOAD, creates=True)
    def upload_start(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        account = self.account(token)
        kind = (request.query.get("uploadType") or [""])[0]

        def check() -> tuple[list[str], dict[str, Any], bytes, str, int | None]:
            if kind == "resumable":
                metadata = self.json_body(request) if request.body else {}
                media_type = request.header("x-upload-content-type") or "application/octet-stream"
                length = request.header("x-upload-content-length")
                total = int(length) if length and length.isdigit() else None
                media = b""
            elif kind == "multipart":
                metadata, media, media_type = _parse_related(request)
                total = len(media)
                if not media:
                    raise google_error(
                        400,
                        "Media body is required.",
                        reason="mediaBodyRequired",
                        domain="youtube.video",
                    )
            else:
                raise _bad_request(
                    "Upload requests must include an uploadType URL parameter and a URL path "
                    "beginning with /upload/"
                )
            self._check_media_type(media_type)
            parts = self._check_metadata(request, metadata)
            return parts, metadata, media, media_type, total

        parts, metadata, media, media_type, total = self.metered(METHOD, check)
        number = self.ctx.next_id("youtube-upload")
        session = UploadSession(
            id=f"ADPycdsandbox{self.ctx.seed}u{number}",
            channel_id=account.channel_id,
            channel_title=account.title,
            parts=parts,
            metadata=metadata,
            content_type=media_type,
            total=total,
            created_at=self.ctx.now(),
        )
        self.store.uploads[session.id] = session
        if kind == "multipart":
            session.received.extend(media)
            return self._finish(session)
        query = "&".join(f"{k}={v[0]}" for k, v in request.query.items() if k != "upload_id")
        location = (
            f"https://{request.host.split(':')[0]}{request.path}?{query}&upload_id={session.id}"
        )
        return SandboxResponse(
            200,
            b"",
            {
                "location": location,
                "x-guploader-uploadid": session.id,
                "content-type": "text/plain; charset=utf-8",
            },
        )

    @route("PUT", UPLOAD, creates=True)
    def upload_chunk(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        upload_id = (request.query.get("upload_id") or [""])[0]
        session = self.store.uploads.get(upload_id)
        if session is None or session.channel_id != token.account_id:
            raise google_error(404, "Upload session not found.", reason="notFound")
        if session.video_id is not None:  # a re-sent last chunk: the same video, not a new one
            return self._video_answer(session)
        header = request.header("content-range")
        if header is None:
            start, total = 0, len(request.body)
        else:
            match = _RANGE.fullmatch(header.strip())
            if match is None:
                raise _bad_request(f"Invalid Content-Range header: {header}")
            if match["total"] != "*":
                session.total = int(match["total"])
            if match["start"] is None:  # "bytes */total": where does the upload stand?
                return self._progress(session)
            start, total = int(match["start"]), session.total or 0
        if start != len(session.received):  # out of step: tell the client what we have
            return self._progress(session)
        session.received.extend(request.body)
        if session.total is None and header is None:
            session.total = total
        if session.total is not None and len(session.received) >= session.total:
            return self._finish(session)
        return self._progress(session)

    def _progress(self, session: UploadSession) -> SandboxResponse:
        headers = {"x-guploader-uploadid": session.id, "content-type": "text/plain; charset=utf-8"}
        if session.received:
            headers["range"] = f"bytes=0-{len(session.received) - 1}"
        return SandboxResponse(308, b"", headers)

    def _finish(self, session: UploadSession) -> SandboxResponse:
        if not session.received:
            raise google_error(
                400, "Media body is required.", reason="mediaBodyRequired", domain="youtube.video"
            )
        snippet = session.metadata.get("snippet", {})
        status = session.metadata.get("status", {})
        privacy = status.get("privacyStatus", "public") if self.project_audited else "private"
        publish_at = parse_datetime(status["publishAt"]) if status.get("publishAt") else None
        now = self.ctx.now()
        video = Video(
            id=self.new_video_id(),
            channel_id=session.channel_id,
            channel_title=session.channel_title,
            title=snippet.get("title") or "Unknown",
            description=snippet.get("description", ""),
            privacy=privacy,
            published_at=now,
            publish_at=publish_at,
            tags=list(snippet.get("tags", [])),
            category_id=snippet.get("categoryId", "22"),
            size=len(session.received),
        )
        self.store.videos[video.id] = video
        session.video_id = video.id
        session.received = bytearray()  # the sandbox keeps the size, not the bytes
        if privacy != "private" or publish_at is not None:
            self.ctx.audience.published(
                Publication("youtube", video.channel_id, video.id, "video", publish_at or now)
            )
        return self._video_answer(session)

    def _video_answer(self, session: UploadSession) -> SandboxResponse:
        assert session.video_id is not None
        video = self.store.videos.get(session.video_id)
        if video is None:  # deleted since
            raise google_error(404, "Upload session not found.", reason="notFound")
        return SandboxResponse.json(200, video.resource(session.parts, None))
