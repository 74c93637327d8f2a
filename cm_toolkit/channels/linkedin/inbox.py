"""Reading and answering comments on the organization's posts (the inbox) through RestliClient.

Read, per post: ``GET /rest/socialActions/{post urn}/comments`` (the URN encoded by the SDK;
top-level comments, oldest first, ``start``/``count`` pages of ``PAGE``), then, for a comment
whose ``commentsSummary`` shows nested comments not yet seen,
``GET /rest/socialActions/{comment urn}/comments``. Answer: ``POST
/rest/socialActions/{post urn}/comments`` with ``actor`` the organization, ``object`` the post,
``message.text`` and, to answer a comment, ``parentComment`` (LinkedIn nests one level: the
answer to a nested comment goes under its top-level comment, read with ``GET
.../comments/{id}``).

The cursor is JSON: per post, ``seen`` (the newest ``created.time`` read, in ms) and ``nested``
(per top-level comment, how many nested comments were seen). Comments newer than ``seen`` are
new; the same cursor reads the same messages again. A read goes through every page of every
post (``more`` is never set: LinkedIn comments per post are few), so ``max_items`` is a page
size here, not a bound.
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
from cm_toolkit.errors import OutcomeUnknown, Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.linkedin.channel import LinkedInChannel

PAGE = 100
COMMENT_MAX = 1250  # characters of a comment's message.text
FACTS = ConversationFacts(sources=("comments",), reply_text_max=COMMENT_MAX)


def _state(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, "linkedin", "LinkedIn", empty={"posts": {}}, mapping="posts")


def read_comments(channel: LinkedInChannel, query: ConversationQuery) -> ConversationPage:
    if query.source != "comments":
        raise Rejected(f"LinkedIn has no inbox source {query.source!r}", network="linkedin",
                       fix="read the source 'comments'")
    posts: dict[str, Any] = dict(_state(query.cursor)["posts"])
    floor = int(query.since.astimezone(UTC).timestamp() * 1000) if query.since else 0
    found: list[IncomingMessage] = []
    for post in sorted(set(query.post_remote_ids)):
        known = posts.get(post, {"seen": floor, "nested": {}})
        seen, nested = int(known["seen"]), dict(known["nested"])
        newest = seen
        for element in _all(channel, post, query.max_items):
            if _time(element) > seen:
                found.append(_message(channel, element, post))
                newest = max(newest, _time(element))
            summary = element.get("commentsSummary", {})
            count = int(summary.get("aggregatedTotalComments", 0))
            if count > int(nested.get(element["commentUrn"], 0)):
                for reply in _all(channel, element["commentUrn"], query.max_items):
                    if _time(reply) > seen:
                        found.append(_message(channel, reply, post))
                        newest = max(newest, _time(reply))
                nested[element["commentUrn"]] = count
        posts[post] = {"seen": newest, "nested": nested}
    messages = tuple(sorted(found, key=lambda m: (m.created_at, m.remote_id)))
    return ConversationPage(messages, json.dumps({"posts": posts}, sort_keys=True),
                            items_read=len(messages))


def _all(channel: LinkedInChannel, urn: str, size: int) -> list[dict[str, Any]]:
    """Every comment under ``urn`` (a post or a comment), page after page."""
    out: list[dict[str, Any]] = []
    start = 0
    count = max(1, min(PAGE, size))
    while True:
        response = channel._call(
            "read comments",
            lambda token, start=start: channel.client.get_all(  # type: ignore[misc]
                resource_path="/socialActions/{id}/comments",
                path_keys={"id": urn},
                query_params={"start": start, "count": count},
                access_token=token,
                version_string=channel.li.version,
            ),
        )
        body = response.json()
        elements = list(body.get("elements", []))
        out += elements
        total = body.get("paging", {}).get("total")
        start += len(elements)
        if not elements or (total is not None and start >= int(total)) or len(elements) < count:
            return out


def _time(element: dict[str, Any]) -> int:
    return int(element.get("created", {}).get("time", 0))


def _message(channel: LinkedInChannel, element: dict[str, Any], post: str) -> IncomingMessage:
    actor = str(element.get("actor", ""))
    parent = element.get("parentComment")
    return IncomingMessage(
        remote_id=str(element["commentUrn"]),
        kind=MessageKind.REPLY if parent else MessageKind.COMMENT,
        author_id=actor,
        author_name=actor.rsplit(":", 1)[-1],  # LinkedIn gives the actor's URN, not a name
        text=str(element.get("message", {}).get("text", "")),
        created_at=datetime.fromtimestamp(_time(element) / 1000, UTC),
        thread_remote_id=post,
        parent_remote_id=str(parent) if parent else post,
        post_remote_id=post,
        url=f"https://www.linkedin.com/feed/update/{post}/?commentUrn={element['commentUrn']}",
        from_us=actor == channel.li.organization,
        source="comments",
    )


def send_reply(channel: LinkedInChannel, request: ReplyRequest) -> ReplyResult:
    refuse_invalid(channel, request)
    post = request.thread_remote_id
    parent = request.message_remote_id
    if request.message_kind is MessageKind.REPLY:
        parent = _top_level(channel, post, parent)
    activity = parent[len("urn:li:comment:("):].split(",", 1)[0]
    entity = {
        "actor": channel.li.organization,
        "object": activity,
        "message": {"text": request.text},
        "parentComment": parent,
    }
    with reply_outcome(channel.display_name, "under the comment on the page"):
        response = _create(channel, post, entity)
    urn = response.headers.get("x-restli-id") or (response.json() or {}).get("commentUrn")
    if not urn:
        raise OutcomeUnknown(
            f"LinkedIn ({channel.channel_id}) accepted the comment but did not say its id",
            network="linkedin", status=response.status_code,
            fix="look under the comment on the page",
        )
    return ReplyResult(
        remote_id=str(urn), url=f"https://www.linkedin.com/feed/update/{post}/?commentUrn={urn}"
    )


def _create(channel: LinkedInChannel, post: str, entity: dict[str, Any]) -> Any:
    return channel._call(
        "answer a comment",
        lambda token: channel.client.create(
            resource_path="/socialActions/{id}/comments",
            path_keys={"id": post},
            entity=entity,
            access_token=token,
            version_string=channel.li.version,
        ),
        creates=True,
    )


def _top_level(channel: LinkedInChannel, post: str, comment: str) -> str:
    """The top-level comment a nested comment belongs to (one more read)."""
    number = comment.rstrip(")").rsplit(",", 1)[-1]
    response = channel._call(
        "read a comment",
        lambda token: channel.client.get(
            resource_path="/socialActions/{id}/comments/{commentId}",
            path_keys={"id": post, "commentId": number},
            access_token=token,
            version_string=channel.li.version,
        ),
    )
    return str(response.json().get("parentComment") or comment)
