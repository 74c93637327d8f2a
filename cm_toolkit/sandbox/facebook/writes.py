"""Graph writes: Page posts, photos, comments and deletes, validated the way Graph does.

- ``POST /{page-id}/feed``: ``message``, ``link``, ``published``, ``scheduled_publish_time``
  (unix or ISO 8601, 10 minutes to 30 days ahead, only with ``published=false``), and
  ``attached_media[i]={"media_fbid": ...}`` naming unpublished photos of the Page.
- ``POST /{page-id}/photos``: ``url`` or a multipart ``source`` file, ``caption``/``message``,
  ``published``; answers ``{id, post_id}`` (``{id}`` alone when unpublished).
- ``POST /{post-or-comment-id}/comments``: ``message``; a comment on a comment is a reply.
- ``DELETE /{id}``: ``{"success": true}``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import SandboxRequest, Token
from cm_toolkit.sandbox.facebook.base import GraphBase, Target
from cm_toolkit.sandbox.facebook.errors import (
    THROTTLE_MESSAGES,
    GraphCode,
    graph_error,
    invalid_parameter,
    missing_object,
    unknown_path,
)
from cm_toolkit.sandbox.facebook.specs import node_spec
from cm_toolkit.sandbox.facebook.state import (
    GraphComment,
    GraphPage,
    GraphPhoto,
    GraphPost,
    PostState,
    Window,
)

MESSAGE_MAX = 63206
PHOTO_BYTES_MAX = 4 * 1024 * 1024  # "Photos should be less than 4 MB"
SCHEDULE_MIN = timedelta(minutes=10)
SCHEDULE_MAX = timedelta(days=30)

# Leading bytes of the image formats Graph accepts for Page photos.
_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
    b"II*\x00": "image/tiff",
    b"MM\x00*": "image/tiff",
}


def sniff_image(data: bytes) -> str | None:
    for magic, mime in _MAGIC.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class GraphWrites(GraphBase):
    def write_edge(
        self, request: SandboxRequest, token: Token, node: str, edge: str
    ) -> dict[str, Any]:
        target = self.resolve("POST", node, token)
        spec = node_spec(target.spec) if target.spec != "User" else None
        allowed = spec.accepts("POST", edge) if spec else None
        if allowed is None:
            raise unknown_path(f"/{edge}")
        if isinstance(target.obj, GraphPage) and edge == "feed":
            self.check_params(request, allowed)
            return self.create_feed_post(request, token, target.obj)
        if isinstance(target.obj, GraphPage) and edge == "photos":
            self.check_params(request, allowed | {"source"})
            return self.create_photo(request, token, target.obj)
        if edge == "comments" and isinstance(target.obj, (GraphPost, GraphComment)):
            self.check_params(request, allowed)
            return self.create_comment(request, token, target)
        raise graph_error(
            GraphCode.INVALID_PARAMETER,
            "Unsupported post request.",
            error_type="GraphMethodException",
        )

    # -- posts ------------------------------------------------------------------------------

    def create_feed_post(
        self, request: SandboxRequest, token: Token, page: GraphPage
    ) -> dict[str, Any]:
        self.require_page_token(token, page, "posting to a page")
        message = request.arg("message") or ""
        link = request.arg("link") or None
        published = self.bool_param(request, "published", True)
        scheduled = self.schedule_time(request, published)
        photos = self.attached_photos(request, page)
        if len(message) > MESSAGE_MAX:
            raise invalid_parameter(
                f"(#100) Param message must be at most {MESSAGE_MAX} characters long."
            )
        if link is not None and not link.startswith(("http://", "https://")):
            raise invalid_parameter("(#100) The parameter link is not a valid URL.")
        if not (message or link or photos):
            raise invalid_parameter(
                "(#100) Invalid parameter",
                error_user_title="Empty post",
                error_user_msg="A post needs a message, a link or attached media.",
            )
        if message and message == page.last_status:
            raise graph_error(GraphCode.DUPLICATE, "(#506) Duplicate status message")
        self.count_post(page)
        post = self.new_post(page, message, link, published, scheduled)
        for photo in photos:
            photo.post_id = post.id
            post.photo_ids.append(photo.id)
        if message:
            page.last_status = message
        self.announce(post)
        return {"id": post.id}

    def schedule_time(self, request: SandboxRequest, published: bool) -> datetime | None:
        raw = request.arg("scheduled_publish_time")
        if raw is None or raw == "":
            return None
        if published:
            raise invalid_parameter(
                "(#100) You cannot specify a scheduled publish time on a published post"
            )
        try:
            when = (
                datetime.fromtimestamp(int(raw), UTC)
                if raw.isdigit()
                else datetime.fromisoformat(raw).astimezone(UTC)
            )
        except (ValueError, OverflowError):
            when = None
        now = self.now()
        if when is None or not (now + SCHEDULE_MIN <= when <= now + SCHEDULE_MAX):
            raise invalid_parameter("(#100) The specified scheduled publish time is invalid.")
        return when

    def attached_photos(self, request: SandboxRequest, page: GraphPage) -> list[GraphPhoto]:
        keys = [
            k for k in list(request.query) + list(request.form()) if k.startswith("attached_media")
        ]
        photos = []
        for key in sorted(set(keys), key=lambda k: int(k[15:-1]) if k[15:-1].isdigit() else -1):
            raw = request.arg(key) or ""
            try:
                fbid = str(json.loads(raw)["media_fbid"])
            except (ValueError, KeyError, TypeError):
                raise invalid_parameter(
                    f'(#100) Param {key} must be a JSON object like {{"media_fbid": "..."}}'
                ) from None
            photo = page.photos.get(fbid)
            if photo is None or photo.published or photo.post_id is not None:
                raise invalid_parameter(
                    f"(#100) Param {key} names {fbid}, which is not an unpublished, unattached "
                    "photo of this Page"
                )
            photos.append(photo)
        return photos

    def new_post(
        self,
        page: GraphPage,
        message: str,
        link: str | None,
        published: bool,
        scheduled: datetime | None,
    ) -> GraphPost:
        now = self.now()
        state = (
            PostState.PUBLISHED
            if published
            else PostState.SCHEDULED
            if scheduled
            else PostState.UNPUBLISHED
        )
        post = GraphPost(
            id=f"{page.id}_{self.new_object_id('post')}",
            page_id=page.id,
            created_at=now,
            message=message,
            link=link,
            state=state,
            scheduled_at=scheduled,
            published_at=now if published else None,
        )
        page.posts[post.id] = post
        return post

    def announce(self, post: GraphPost) -> None:
        """Tell the simulated audience about a post once it is visible."""
        if post.state is PostState.PUBLISHED and post.published_at is not None:
            self.ctx.audience.published(
                Publication("facebook", post.page_id, post.id, post.kind, post.published_at)
            )

    def publish_due(self) -> None:
        """Scheduled posts whose time has come (on the sandbox clock) become published."""
        now = self.now()
        for page in self.pages.values():
            for post in page.posts.values():
                if (
                    post.state is PostState.SCHEDULED
                    and post.scheduled_at
                    and post.scheduled_at <= now
                ):
                    post.state = PostState.PUBLISHED
                    post.published_at = post.scheduled_at
                    for photo_id in post.photo_ids:
                        page.photos[photo_id].published = True
                    self.announce(post)

    def count_post(self, page: GraphPage) -> None:
        """Creation throttle per Page (code 613)."""
        window = self.post_windows.setdefault(
            page.id, Window(self.page_posts_per_hour, timedelta(hours=1))
        )
        window.limit = self.page_posts_per_hour
        if window.full(self.now()):
            raise graph_error(GraphCode.CUSTOM_LIMIT, THROTTLE_MESSAGES[GraphCode.CUSTOM_LIMIT])
        window.record(self.now())

    # -- photos -----------------------------------------------------------------------------

    def create_photo(
        self, request: SandboxRequest, token: Token, page: GraphPage
    ) -> dict[str, Any]:
        self.require_page_token(token, page, "posting to a page")
        published = self.bool_param(request, "published", True)
        scheduled = self.schedule_time(request, published)
        url = request.arg("url")
        data = request.files().get("source")
        if data is None and not url:
            raise graph_error(GraphCode.UPLOAD, "(#324) Requires upload file")
        mime = "image/jpeg"
        if data is not None:
            sniffed = sniff_image(data)
            if sniffed is None:
                raise graph_error(GraphCode.UPLOAD, "(#324) Missing or invalid image file")
            if len(data) > PHOTO_BYTES_MAX:
                raise invalid_parameter(
                    "Your photos couldn't be uploaded. Photos should be less than 4 MB and "
                    "saved as JPG, PNG, GIF, TIFF, HEIF or WebP files.",
                    subcode=1366046,
                )
            mime = sniffed
        elif url is not None and not url.startswith(("http://", "https://")):
            raise invalid_parameter("(#100) url should represent a valid URL")
        caption = request.arg("message") or request.arg("caption") or ""
        photo = GraphPhoto(
            id=self.new_object_id("photo"),
            page_id=page.id,
            created_at=self.now(),
            size=len(data) if data is not None else 0,
            mime_type=mime,
            source_url=url,
            caption=caption,
            alt_text=request.arg("alt_text_custom"),
            published=published,
        )
        if published or scheduled:
            self.count_post(page)
        page.photos[photo.id] = photo
        if not published and scheduled is None:
            return {"id": photo.id}
        post = self.new_post(page, caption, None, published, scheduled)
        post.photo_ids.append(photo.id)
        post.via_photos_edge = True
        photo.post_id = post.id
        self.announce(post)
        return {"id": photo.id, "post_id": post.id}

    # -- comments and deletes ---------------------------------------------------------------

    def create_comment(
        self, request: SandboxRequest, token: Token, target: Target
    ) -> dict[str, Any]:
        page = target.page
        assert page is not None
        self.require_page_token(token, page, "commenting as a page")
        message = request.arg("message") or ""
        if not message and not request.arg("attachment_url"):
            raise invalid_parameter("(#100) Missing message or attachment")
        obj = target.obj
        post_id = obj.id if isinstance(obj, GraphPost) else obj.post_id
        object_id = post_id.split("_", 1)[1]
        # Facebook shows two levels: an answer to a reply joins the reply's top-level comment
        parent_id = obj.parent_id if isinstance(obj, GraphComment) and obj.parent_id != post_id \
            else obj.id
        comment = GraphComment(
            id=f"{object_id}_{self.ctx.next_id('facebook-comment', start=9000001)}",
            parent_id=parent_id,
            post_id=post_id,
            author_name=page.name,
            author_id=page.id,
            message=message,
            created_at=self.now(),
        )
        page.comments[comment.id] = comment
        return {"id": comment.id}

    def delete_node(self, request: SandboxRequest, token: Token, node: str) -> dict[str, Any]:
        target = self.resolve("DELETE", node, token)
        page = target.page
        if page is None:
            raise missing_object("DELETE", node)
        self.require_page_token(token, page, "deleting from a page")
        obj = target.obj
        if isinstance(obj, GraphPost):
            del page.posts[obj.id]
            for photo_id in obj.photo_ids:
                page.photos.pop(photo_id, None)
            self.ctx.audience.unpublished("facebook", obj.id)
            if page.last_status == obj.message:
                page.last_status = self.latest_status(page)
        elif isinstance(obj, GraphPhoto):
            del page.photos[obj.id]
        elif isinstance(obj, GraphComment) and obj.id in page.comments:
            del page.comments[obj.id]
        else:  # learners' comments are not the Page's to delete
            raise missing_object("DELETE", node)
        return {"success": True}

    def latest_status(self, page: GraphPage) -> str | None:
        with_text = [p for p in page.posts.values() if p.message and not p.via_photos_edge]
        return max(with_text, key=lambda p: p.created_at).message if with_text else None
