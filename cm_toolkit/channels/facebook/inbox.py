"""Reading and answering comments on the Page's posts (the inbox) through facebook-sdk.

Read: ``GET /{post-id}/comments?filter=stream&order=reverse_chronological`` (every comment and
reply of the post, newest first), page after page (``after`` cursors) until a comment already
seen. Answer: ``POST /{comment-id}/comments`` with ``message``, as the Page (its token).

The cursor is JSON: ``{"seen": {post_id: "created_time|comment_id"}, "walk": ...}``. ``seen``
keeps, per post, the newest comment read (its Graph time, then its id to break ties); a read
collects what is newer, so the same cursor gives the same messages again. When ``max_items``
stops a read in the middle of a post, ``walk`` keeps where (post, Graph's ``after`` cursor, the
newest comment of that walk, where it stops) and ``more`` is set: the next call goes on there.
Graph gives times to the second; two comments of one post in the same second, the first one
read before the second was written, would hide the second (accepted: very rare on a Page).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cm_toolkit.channels.base import (
    ConversationFacts,
    ConversationPage,
    ConversationQuery,
    IncomingMessage,
    MessageKind,
    ReplyRequest,
    ReplyResult,
)
from cm_toolkit.channels.inbox_cursor import read_cursor
from cm_toolkit.channels.reply_outcome import refuse_invalid, reply_outcome
from cm_toolkit.errors import Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.facebook.channel import FacebookChannel

PAGE_SIZE = 100  # Graph's largest comments page
REPLY_MAX = 8000  # a comment's message (Facebook's documented comment length)
FACTS = ConversationFacts(
    sources=("comments",),
    reply_text_max=REPLY_MAX,
    reply_rule=None,
)
FIELDS = "id,created_time,from{id,name},message,parent{id},permalink_url"


def graph_key(created_time: str, comment_id: str) -> str:
    """The ordering key stored in the cursor: Graph time normalised to UTC ISO, then the id."""
    return f"{parse_time(created_time).isoformat()}|{comment_id}"


def parse_time(text: str) -> datetime:
    """Graph's ``2027-01-11T09:05:00+0000``."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC)


def _load(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, "facebook", "Facebook", empty={"seen": {}}, mapping="seen")


def read_comments(channel: FacebookChannel, query: ConversationQuery) -> ConversationPage:
    if query.source != "comments":
        raise Rejected(f"Facebook has no inbox source {query.source!r}", network="facebook",
                       fix="read the source 'comments'")
    state = _load(query.cursor)
    seen: dict[str, str] = dict(state["seen"])
    walk: dict[str, Any] | None = state.get("walk")
    posts = sorted(set(query.post_remote_ids) | ({walk["post"]} if walk else set()))
    if walk:  # an unfinished post first
        posts.remove(walk["post"])
        posts.insert(0, walk["post"])
    floor = f"{query.since.astimezone(UTC).isoformat()}|" if query.since else ""
    found: list[IncomingMessage] = []
    for post_id in posts:
        if walk and walk["post"] == post_id:
            after, stop, top = walk.get("after"), walk["stop"], walk.get("top")
        else:
            after, stop, top = None, seen.get(post_id, floor), None
        walk = None
        while True:
            args: dict[str, Any] = {
                "filter": "stream",
                "order": "reverse_chronological",
                "fields": FIELDS,
                "limit": str(max(1, min(PAGE_SIZE, query.max_items))),
            }
            if after:
                args["after"] = after
            answer = channel._call(
                "reading comments",
                lambda g, args=args, post_id=post_id: g.get_connections(  # type: ignore[misc]
                    post_id, "comments", **args
                ),
                creates=False,
            )
            reached = False
            for item in answer.get("data", []):
                key = graph_key(str(item["created_time"]), str(item["id"]))
                if key <= stop:
                    reached = True
                    break
                top = top or key
                found.append(_message(channel, item, post_id))
            following = answer.get("paging", {}).get("cursors", {}).get("after")
            more_pages = bool(answer.get("paging", {}).get("next")) and not reached
            if not more_pages:
                if top:
                    seen[post_id] = top
                break
            after = following
            if len(found) >= query.max_items:
                cursor = {"seen": seen, "walk": {"post": post_id, "after": after,
                                                 "stop": stop, "top": top}}
                return ConversationPage(
                    tuple(sorted(found, key=lambda m: (m.created_at, m.remote_id))),
                    json.dumps(cursor, sort_keys=True), more=True,
                )
    return ConversationPage(
        tuple(sorted(found, key=lambda m: (m.created_at, m.remote_id))),
        json.dumps({"seen": seen}, sort_keys=True),
    )


def _message(channel: FacebookChannel, item: dict[str, Any], post_id: str) -> IncomingMessage:
    author = item.get("from") or {}
    parent = (item.get("parent") or {}).get("id")
    return IncomingMessage(
        remote_id=str(item["id"]),
        kind=MessageKind.REPLY if parent else MessageKind.COMMENT,
        author_id=str(author.get("id", "")),
        author_name=str(author.get("name", "")),
        text=str(item.get("message", "")),
        created_at=parse_time(str(item["created_time"])),
        thread_remote_id=post_id,
        parent_remote_id=str(parent) if parent else post_id,
        post_remote_id=post_id,
        url=item.get("permalink_url") or f"https://www.facebook.com/{item['id']}",
        from_us=str(author.get("id", "")) == channel.page.page_id,
        source="comments",
    )


def send_reply(channel: FacebookChannel, request: ReplyRequest) -> ReplyResult:
    """``POST /{comment-id}/comments`` as the Page. Graph has no idempotency key: a lost
    answer is ``OutcomeUnknown`` (look under the comment on the Page)."""
    refuse_invalid(channel, request)
    with reply_outcome(channel.display_name, "under the comment on the Page"):
        answer = channel._call(
            "answering a comment",
            lambda g: g.put_object(request.message_remote_id, "comments", message=request.text),
            creates=True,
        )
    remote_id = str(answer["id"])
    return ReplyResult(remote_id=remote_id, url=f"https://www.facebook.com/{remote_id}")
