"""LinkedIn's Comments API (``/rest/socialActions/{urn}/comments``) in the sandbox.

- ``GET /rest/socialActions/{post urn}/comments?start&count``: the post's top-level comments,
  oldest first, each with ``commentsSummary`` (its nested comments); ``GET`` on a comment's URN
  lists its nested comments; ``GET .../comments/{id}`` one comment (with ``parentComment``).
- ``POST /rest/socialActions/{post or comment urn}/comments``: ``actor`` (the organization the
  token administers), ``object`` (the post's activity, optional), ``message.text`` (1 250
  characters), ``parentComment`` for a nested comment (a top-level comment of that post: LinkedIn
  nests one level). Checked the Rest.li way: every problem in one 422 ``ERROR :: /path :: ...``.

Learners' comments come from the simulated audience; a learner answering another is a nested
comment of the top-level one. URNs are ``urn:li:comment:(urn:li:activity:N,ID)``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.linkedin.base import LinkedInBase
from cm_toolkit.sandbox.linkedin.content import json_body
from cm_toolkit.sandbox.linkedin.model import (
    Post,
    access_denied,
    bad_request,
    epoch_ms,
    fraction,
    not_found_entity,
    validation_error,
)

COMMENT_MAX = 1250
COMMENT_FIELDS = ("actor", "object", "message", "parentComment", "content", "created")


def comment_urn(activity: str, number: str) -> str:
    return f"urn:li:comment:(urn:li:activity:{activity},{number})"


class CommentRoutes(LinkedInBase):
    def _post_of(self, urn: str) -> Post:
        post = self.data.posts.get(urn)
        if post is None or post.deleted_at is not None:
            raise not_found_entity()
        return post

    def _target(self, raw: str) -> tuple[Post, str | None]:
        """(the post, the top-level comment URN or None) a socialActions URN names."""
        urn = unquote(raw)
        if urn.startswith("urn:li:comment:("):
            activity = urn[len("urn:li:comment:(urn:li:activity:"):].split(",", 1)[0]
            for post in self.data.posts.values():
                if (
                    post.urn.rsplit(":", 1)[1] == activity
                    and post.deleted_at is None
                    and any(c["commentUrn"] == urn for c in self.comments_of(post))
                ):
                    return post, urn
            raise not_found_entity()
        return self._post_of(urn), None

    def comments_of(self, post: Post) -> list[dict[str, Any]]:
        """Every comment on ``post`` up to now, oldest first (learners' and the page's)."""
        activity = post.urn.rsplit(":", 1)[1]
        found = self.ctx.audience.comments(self.network, post.urn, post.created_at, self.ctx.now())
        urns: dict[str, str] = {}
        tops: dict[str, str | None] = {}
        out: list[dict[str, Any]] = []
        for comment in found:
            number = str(6_900_000_000_000_000_000 + int(fraction(comment["id"]) * 10**15))
            urns[comment["id"]] = comment_urn(activity, number)
            parent = comment.get("reply_to")
            top = (tops.get(parent) or urns[parent]) if parent else None  # one level
            tops[comment["id"]] = top
            actor = "urn:li:person:" + "".join(c for c in comment["author"] if c.isalnum())
            at = epoch_ms(datetime.fromisoformat(comment["created_at"]))
            out.append(self._element(activity, number, actor, comment["text"], at, top))
        out += self.data.comments.get(post.urn, [])
        return sorted(out, key=lambda c: (c["created"]["time"], c["id"]))

    @staticmethod
    def _element(
        activity: str, number: str, actor: str, text: str, at: int, parent: str | None
    ) -> dict[str, Any]:
        urn = comment_urn(activity, number)
        element: dict[str, Any] = {
            "actor": actor,
            "commentUrn": urn,
            "$URN": urn,
            "id": number,
            "object": f"urn:li:activity:{activity}",
            "message": {"text": text, "attributes": []},
            "created": {"actor": actor, "time": at},
            "lastModified": {"actor": actor, "time": at},
        }
        if parent:
            element["parentComment"] = parent
        return element

    def _with_summary(self, element: dict[str, Any], every: list[dict[str, Any]]) -> dict[str, Any]:
        nested = sum(1 for c in every if c.get("parentComment") == element["commentUrn"])
        return {**element, "commentsSummary": {"totalFirstLevelComments": nested,
                                               "aggregatedTotalComments": nested}}

    @route("GET", r"/rest/socialActions/(?P<urn>[^/]+)/comments")
    def comments(self, request: SandboxRequest, token: Token, urn: str) -> SandboxResponse:
        self.spend("comments.get", token, request)
        post, parent = self._target(urn)
        try:
            start = int(request.arg("start") or 0)
            count = int(request.arg("count") or 10)
        except ValueError:
            raise bad_request("start and count must be integers") from None
        if not 0 <= count <= 100 or start < 0:
            raise bad_request("count must be between 0 and 100, start at least 0")
        every = self.comments_of(post)
        level = [c for c in every if c.get("parentComment") == parent]
        elements = [self._with_summary(c, every) for c in level[start : start + count]]
        paging: dict[str, Any] = {"start": start, "count": count, "links": [],
                                  "total": len(level)}
        if start + count < len(level):
            paging["links"] = [{"rel": "next", "type": "application/json",
                                "href": f"/rest/socialActions/{quote(unquote(urn), safe='')}"
                                f"/comments?count={count}&start={start + count}"}]
        return SandboxResponse.json(200, {"paging": paging, "elements": elements})

    @route("GET", r"/rest/socialActions/(?P<urn>[^/]+)/comments/(?P<number>[^/]+)")
    def comment(
        self, request: SandboxRequest, token: Token, urn: str, number: str
    ) -> SandboxResponse:
        self.spend("comments.get", token, request)
        post, _ = self._target(urn)
        every = self.comments_of(post)
        for element in every:
            if element["id"] == unquote(number) or element["commentUrn"] == unquote(number):
                return SandboxResponse.json(200, self._with_summary(element, every))
        raise not_found_entity()

    @route("POST", r"/rest/socialActions/(?P<urn>[^/]+)/comments", creates=True)
    def create_comment(self, request: SandboxRequest, token: Token, urn: str) -> SandboxResponse:
        self.spend("comments.create", token, request)
        body = json_body(request)
        post, parent_in_path = self._target(urn)
        errors = [f"ERROR :: /{k} :: unrecognized field found but not allowed"
                  for k in body if k not in COMMENT_FIELDS]
        text = (body.get("message") or {}).get("text") if isinstance(body.get("message"),
                                                                     dict) else None
        if "actor" not in body:
            errors.append("ERROR :: /actor :: field is required but not found and has no default "
                          "value")
        if not isinstance(text, str):
            errors.append("ERROR :: /message/text :: field is required but not found and has no "
                          "default value")
        elif len(text) > COMMENT_MAX:
            errors.append(f"ERROR :: /message/text :: length of {len(text)} exceeds the maximum "
                          f"allowed length of {COMMENT_MAX}")
        if errors:
            raise validation_error("\n".join(errors) + "\n")
        actor = str(body["actor"])
        if not self.administers(token, actor):
            raise access_denied("/actor")
        every = self.comments_of(post)
        parent = body.get("parentComment") or parent_in_path
        if parent is not None:
            top = next((c for c in every if c["commentUrn"] == parent), None)
            if top is None or top.get("parentComment"):
                raise validation_error(f"ERROR :: /parentComment :: {parent} is not a top-level "
                                       "comment of this post\n")
        activity = post.urn.rsplit(":", 1)[1]
        number = str(7_100_000_000_000_000_000 + self.ctx.next_id("linkedin-comment"))
        element = self._element(activity, number, actor, str(text),
                                epoch_ms(self.ctx.now()), parent)
        self.data.comments.setdefault(post.urn, []).append(element)
        return SandboxResponse(201, json.dumps(element).encode(), {
            "content-type": "application/json", "x-restli-id": element["commentUrn"],
        })
