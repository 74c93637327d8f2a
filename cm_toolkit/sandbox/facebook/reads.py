"""Graph reads: nodes (``GET /{id}``) and edges (``GET /{id}/{edge}``), with field expansion.

A node answers its default fields (Page: ``name,id``; post: ``created_time,message,id``) or the
requested ones; a field the spec knows but the sandbox holds no value for is omitted, as Graph
omits empty fields. Edges answer ``{"data": [...], "paging": {...}}``; ``.summary(true)`` adds
``summary.total_count``. Engagement and learners' comments come from the simulated audience.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from cm_toolkit.sandbox.core import SandboxRequest, Token
from cm_toolkit.sandbox.facebook.base import (
    USER_NAME,
    GraphBase,
    Target,
    graph_time,
)
from cm_toolkit.sandbox.facebook.errors import invalid_parameter, unknown_path
from cm_toolkit.sandbox.facebook.specs import FieldRequest, node_spec
from cm_toolkit.sandbox.facebook.state import (
    GraphComment,
    GraphPage,
    GraphPhoto,
    GraphPost,
    PostState,
    TokenKind,
)
from cm_toolkit.sandbox.facebook.versions import served_as

PAGE_TASKS = ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"]
USER_FIELDS = frozenset({"id", "name", "accounts", "first_name", "last_name"})


def _cursor(index: int) -> str:
    return base64.b64encode(str(index).encode()).decode()


def _uncursor(text: str | None) -> int:
    try:
        return int(base64.b64decode(text or "").decode()) if text else -1
    except ValueError:
        return -1


def comment_order(request: SandboxRequest) -> tuple[bool, bool]:
    """(stream, newest first) of a comments edge read; Graph's code 100 for other values."""
    wanted = {"filter": ("toplevel", "stream"), "order": ("chronological", "reverse_chronological")}
    for name, allowed in wanted.items():
        value = request.arg(name)
        if value is not None and value.lower() not in allowed:
            choices = ", ".join(a.upper() for a in allowed)
            raise invalid_parameter(f"(#100) param {name} must be one of {{{choices}}} - got "
                                    f'"{value}"')
    return (
        (request.arg("filter") or "").lower() == "stream",
        (request.arg("order") or "").lower() == "reverse_chronological",
    )


class GraphReads(GraphBase):
    # -- entry points -----------------------------------------------------------------------

    def read_node(self, request: SandboxRequest, token: Token, node: str) -> dict[str, Any]:
        target = self.resolve("GET", node, token)
        if target.spec == "User":
            return self.render_user(request, token)
        requested = self.fields(request, node_spec(target.spec))
        if isinstance(target.obj, GraphPage):
            return self.render_page(target.obj, requested, token)
        if isinstance(target.obj, GraphPost):
            return self.render_post(target.obj, requested, request, token)
        if isinstance(target.obj, GraphPhoto):
            return self.render_photo(target.obj, requested)
        return self.render_comment(target.obj, requested, request, token)

    def read_edge(
        self, request: SandboxRequest, token: Token, node: str, edge: str
    ) -> dict[str, Any]:
        target = self.resolve("GET", node, token)
        if target.spec == "User":
            if edge == "accounts":
                return self.list_accounts(token, request)
            raise unknown_path(f"/{edge}")
        spec = node_spec(target.spec)
        if not spec.knows(edge):
            raise unknown_path(f"/{edge}")
        limit = int(request.arg("limit") or 25) if (request.arg("limit") or "").isdigit() else 25
        after = _uncursor(request.arg("after"))
        if isinstance(target.obj, GraphPage):
            page = target.obj
            if edge in ("feed", "posts", "published_posts"):
                requested = self.fields(request, node_spec("PagePost"))
                posts = self.visible_posts(page, PostState.PUBLISHED)
                items = [self.render_post(p, requested, request, token) for p in posts]
                return self.edge(items, limit, after, request, token, node, edge)
            if edge == "scheduled_posts":
                self.require_page_token(token, page, "reading scheduled posts")
                requested = self.fields(request, node_spec("PagePost"))
                posts = self.visible_posts(page, PostState.SCHEDULED)
                items = [self.render_post(p, requested, request, token) for p in posts]
                return self.edge(items, limit, after, request, token, node, edge)
            if edge == "photos":
                requested = self.fields(request, node_spec("Photo"))
                photos = [p for p in page.photos.values() if p.published]
                items = [self.render_photo(p, requested) for p in reversed(photos)]
                return self.edge(items, limit, after, request, token, node, edge)
        if edge == "comments" and isinstance(target.obj, (GraphPost, GraphComment, GraphPhoto)):
            requested = self.fields(request, node_spec("Comment"))
            comments = self.comments_of(target, *comment_order(request))
            items = [self.render_comment(c, requested, request, token) for c in comments]
            summary = self.comment_summary(len(comments)) if self.wants_summary(request) else None
            return self.edge(items, limit, after, request, token, node, edge, summary)
        if edge == "reactions" and isinstance(target.obj, GraphPost):
            total = self.engagement_of(target.obj)["reactions"]
            summary = self.reaction_summary(total) if self.wants_summary(request) else None
            return self.edge([], limit, after, request, token, node, edge, summary)
        return {"data": []}  # an edge Graph has and the sandbox does not simulate

    # -- nodes ------------------------------------------------------------------------------

    def render_user(self, request: SandboxRequest, token: Token) -> dict[str, Any]:
        requested = self.fields(request, None)
        names = [f.name for f in requested] if requested else ["name", "id"]
        for name in names:
            if name not in USER_FIELDS:
                self.fields_error(name, "User")
        values: dict[str, Any] = {
            "id": token.account_id,
            "name": USER_NAME,
            "first_name": "Community",
            "last_name": "Manager",
        }
        out = {n: values[n] for n in names if n in values}
        if "accounts" in names:
            out["accounts"] = self.list_accounts(token, request)
        return out

    def fields_error(self, name: str, node_type: str) -> None:
        raise invalid_parameter(
            f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
        )

    def render_page(
        self, page: GraphPage, requested: list[FieldRequest] | None, token: Token
    ) -> dict[str, Any]:
        names = [f.name for f in requested] if requested else ["name", "id"]
        now = self.now()
        out: dict[str, Any] = {}
        for name in names:
            if name in ("followers_count", "fan_count"):
                followers = self.ctx.audience.followers("facebook", page.id, now)
                # Page likes lag behind follows: most followers also like the Page
                out[name] = followers if name == "followers_count" else round(followers * 0.93)
            elif name == "access_token":
                minted = self.page_token_for(token, page)
                if minted is not None:
                    out[name] = minted
            else:
                values = {
                    "id": page.id,
                    "name": page.name,
                    "username": page.username,
                    "category": page.category,
                    "link": f"https://www.facebook.com/{page.username}",
                    "is_published": True,
                    "can_post": True,
                    "about": "Le MOOC du management au leadership 2.0.",
                    "verification_status": "not_verified",
                }
                if name in values:
                    out[name] = values[name]
        return out

    def render_post(
        self,
        post: GraphPost,
        requested: list[FieldRequest] | None,
        request: SandboxRequest,
        token: Token,
    ) -> dict[str, Any]:
        wanted = requested or [
            FieldRequest("created_time"),
            FieldRequest("message"),
            FieldRequest("id"),
        ]
        page = self.pages[post.page_id]
        engagement = self.engagement_of(post)
        photo_url = None
        if post.photo_ids:
            first = page.photos[post.photo_ids[0]]
            photo_url = first.source_url or f"https://scontent.xx.fbcdn.net/v/t39/{first.id}.jpg"
        values: dict[str, Any] = {
            "id": post.id,
            "created_time": graph_time(post.published_at or post.created_at),
            "updated_time": graph_time(post.published_at or post.created_at),
            "permalink_url": f"https://www.facebook.com/{page.id}/posts/{post.object_id}",
            "is_published": post.state is PostState.PUBLISHED,
            "is_hidden": False,
            "from": {"name": page.name, "id": page.id},
            "status_type": (
                "added_photos"
                if post.photo_ids
                else "shared_story"
                if post.link
                else "mobile_status_update"
            ),
        }
        if post.message:
            values["message"] = post.message
        if post.scheduled_at is not None and post.state is PostState.SCHEDULED:
            values["scheduled_publish_time"] = int(post.scheduled_at.timestamp())
        if photo_url:
            values["full_picture"] = photo_url
            values["picture"] = photo_url
        if engagement["shares"]:
            values["shares"] = {"count": engagement["shares"]}  # Graph omits zero shares
        out: dict[str, Any] = {}
        for item in wanted:
            if item.name == "reactions":
                summary = self.reaction_summary(engagement["reactions"])
                out["reactions"] = self.inline_edge([], item, summary)
            elif item.name == "comments":
                comments = self.comments_of(Target("PagePost", post, page))
                sub = list(item.subfields) or None
                data = [self.render_comment(c, sub, request, token) for c in comments]
                out["comments"] = self.inline_edge(data, item, self.comment_summary(len(data)))
            elif item.name == "attachments":
                out["attachments"] = {"data": self.attachments(post)}
            elif item.name in values:
                out[item.name] = values[item.name]
        return out

    def render_photo(
        self, photo: GraphPhoto, requested: list[FieldRequest] | None
    ) -> dict[str, Any]:
        names = [f.name for f in requested] if requested else ["created_time", "id"]
        page = self.pages[photo.page_id]
        values: dict[str, Any] = {
            "id": photo.id,
            "created_time": graph_time(photo.created_at),
            "from": {"name": page.name, "id": page.id},
            "link": f"https://www.facebook.com/photo.php?fbid={photo.id}",
            "page_story_id": photo.post_id,
        }
        if photo.caption:
            values["name"] = photo.caption
        if photo.alt_text:
            values["alt_text_custom"] = photo.alt_text
        return {n: values[n] for n in names if values.get(n) is not None}

    def render_comment(
        self,
        comment: GraphComment,
        requested: list[FieldRequest] | None,
        request: SandboxRequest,
        token: Token,
    ) -> dict[str, Any]:
        names = (
            [f.name for f in requested] if requested else ["created_time", "from", "message", "id"]
        )
        replies = [c for c in self.all_comments() if c.parent_id == comment.id]
        values: dict[str, Any] = {
            "id": comment.id,
            "created_time": graph_time(comment.created_at),
            "from": {"name": comment.author_name, "id": comment.author_id},
            "message": comment.message,
            "comment_count": len(replies),
            "can_comment": True,
            "parent": None if comment.parent_id == comment.post_id else {"id": comment.parent_id},
            "permalink_url": f"https://www.facebook.com/{comment.post_id.replace('_', '/posts/')}"
            f"?comment_id={comment.id.split('_')[-1]}",
        }
        return {n: values[n] for n in names if values.get(n) is not None}

    # -- pieces -----------------------------------------------------------------------------

    def visible_posts(self, page: GraphPage, state: PostState) -> list[GraphPost]:
        posts = [p for p in page.posts.values() if p.state is state]
        return sorted(
            posts, key=lambda p: p.published_at or p.scheduled_at or p.created_at, reverse=True
        )

    def engagement_of(self, post: GraphPost) -> dict[str, int]:
        if post.state is not PostState.PUBLISHED or post.published_at is None:
            return {"views": 0, "reactions": 0, "comments": 0, "shares": 0}
        return self.ctx.audience.engagement("facebook", post.id, post.published_at, self.now())

    def all_comments(self) -> list[GraphComment]:
        return [c for page in self.pages.values() for c in page.comments.values()]

    def comments_of(
        self, target: Target, stream: bool = False, newest_first: bool = False
    ) -> list[GraphComment]:
        """Comments on an object: its direct ones, or with ``stream`` every comment and reply
        of the post (``filter=stream``), oldest first unless ``newest_first``."""
        obj = target.obj
        obj_id = getattr(obj, "id", "")
        post = obj if isinstance(obj, GraphPost) else None
        every = self.all_comments()
        if post is None:
            every += [
                c for c in self.learner_comments_of_post(getattr(obj, "post_id", ""))
                if c.parent_id == obj_id
            ]
        else:
            every += self.learner_comments(post)
        if stream and post is not None:
            found = [c for c in every if c.post_id == obj_id]
        else:
            found = [c for c in every if c.parent_id == obj_id]
        return sorted(found, key=lambda c: (c.created_at, c.id), reverse=newest_first)

    def learner_comments_of_post(self, post_id: str) -> list[GraphComment]:
        post = self.find_post(post_id) if post_id else None
        return self.learner_comments(post) if post is not None else []

    def attachments(self, post: GraphPost) -> list[dict[str, Any]]:
        page = self.pages[post.page_id]
        if len(post.photo_ids) > 1:
            subs = [{"media_type": "photo", "target": {"id": pid}} for pid in post.photo_ids]
            return [{"media_type": "album", "subattachments": {"data": subs}}]
        if post.photo_ids:
            photo = page.photos[post.photo_ids[0]]
            return [{"media_type": "photo", "target": {"id": photo.id}}]
        if post.link:
            return [{"media_type": "link", "url": post.link}]
        return []

    def wants_summary(self, request: SandboxRequest) -> bool:
        return (request.arg("summary") or "").lower() in ("true", "1", "total_count")

    def reaction_summary(self, total: int) -> dict[str, Any]:
        return {"total_count": total, "viewer_reaction": "NONE"}

    def comment_summary(self, total: int) -> dict[str, Any]:
        return {"order": "ranked", "total_count": total, "can_comment": True}

    def inline_edge(
        self, data: list[dict[str, Any]], item: FieldRequest, summary: dict[str, Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"data": data[: item.limit(25)]}
        if out["data"]:
            out["paging"] = {
                "cursors": {"before": _cursor(0), "after": _cursor(len(out["data"]) - 1)}
            }
        if item.flag("summary"):
            out["summary"] = summary
        return out

    def edge(
        self,
        items: list[dict[str, Any]],
        limit: int,
        after: int,
        request: SandboxRequest,
        token: Token,
        node: str,
        edge: str,
        summary: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        start = after + 1
        page_items = items[start : start + limit]
        out: dict[str, Any] = {"data": page_items}
        if page_items:
            end = start + len(page_items) - 1
            paging: dict[str, Any] = {"cursors": {"before": _cursor(start), "after": _cursor(end)}}
            if end + 1 < len(items):
                query = {k: v[0] for k, v in request.query.items() if k != "after"}
                query.update(
                    {"limit": str(limit), "after": _cursor(end), "access_token": token.value}
                )
                version = served_as(request.path)  # Graph's links name the version it used
                paging["next"] = (
                    f"https://graph.facebook.com/{version}/{node}/{edge}?{urlencode(query)}"
                )
            out["paging"] = paging
        if summary is not None:
            out["summary"] = summary
        return out

    # -- tokens -----------------------------------------------------------------------------

    def list_accounts(self, token: Token, request: SandboxRequest) -> dict[str, Any]:
        items = []
        for page_id in self.user_pages.get(token.account_id, []):
            page = self.pages[page_id]
            items.append(
                {
                    "access_token": self.page_token_for(token, page),
                    "category": page.category,
                    "category_list": [{"id": "2250", "name": page.category}],
                    "name": page.name,
                    "id": page.id,
                    "tasks": PAGE_TASKS,
                }
            )
        return {
            "data": items,
            "paging": {"cursors": {"before": _cursor(0), "after": _cursor(max(0, len(items) - 1))}},
        }

    def page_token_for(self, token: Token, page: GraphPage) -> str | None:
        """The Page token a user (or the Page itself) obtains: Graph's page-token exchange."""
        kind = self.token_kind(token)
        if kind is TokenKind.PAGE:
            return token.value if token.account_id == page.id else None
        if kind is TokenKind.USER and page.id in self.user_pages.get(token.account_id, []):
            return self.mint_page_token(token, page.id).value
        return None
