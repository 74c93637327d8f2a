"""Reading and answering on X (the inbox) through tweepy's ``Client``.

Two sources, each with its own cursor (JSON):

- ``mentions``: ``GET /2/users/:id/mentions`` with ``since_id`` (newest first, ``pagination_token``
  pages). Cursor ``{"since_id": S}``; while paging ``{"since_id": S, "token": T, "newest": N}``,
  so a read that stops midway (``more``) goes on from the same place and a re-read from a cursor
  gives the same posts. The account's own mentions are an "owned read" for X's billing.
- ``replies``: ``GET /2/tweets/search/recent`` with ``conversation_id:A OR conversation_id:B...``
  over our posts (``query.post_remote_ids``, ``CHUNK`` a query so it stays under X's 512
  characters), ``since_id`` the newest reply seen. Cursor ``{"since_id": S}``; during a sweep
  ``{"since_id": S, "chunk": k, "token": T, "newest": N}``. Recent search covers seven days: a
  ``since_id`` older than that is refused by X, so the read is made again without it and the
  posts not newer than it are dropped here.

Every post a read returns is counted in ``items_read`` (X bills each one: ``read_cost_usd``,
``owned_read_cost_usd`` for mentions). A reply is ``POST /2/tweets`` with
``reply.in_reply_to_tweet_id``; X lets self-serve apps reply only to posts that mention or quote
the account: a post that does is read as ``MENTION`` (from either source), one that does not as
``REPLY``, and ``validate_reply`` refuses a ``REPLY`` before anything is sent.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cm_toolkit.channels.base import (
    ConversationFacts,
    ConversationPage,
    IncomingMessage,
    MessageKind,
    ReplyResult,
)
from cm_toolkit.channels.inbox_cursor import read_cursor
from cm_toolkit.channels.reply_outcome import refuse_invalid, reply_outcome
from cm_toolkit.channels.x.text import TEXT_MAX
from cm_toolkit.errors import Problem, Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.base import ConversationQuery, ReplyRequest
    from cm_toolkit.channels.x.channel import XChannel

CHUNK = 10  # conversation ids per search query (10 x 39 characters < 512)
REPLY_RULE = (
    "X lets self-serve apps reply only to posts that mention or quote the account "
    "(since 2026-02-23)"
)
FACTS = ConversationFacts(
    sources=("mentions", "replies"),
    reply_text_max=TEXT_MAX,
    read_cost_usd=0.005,
    owned_read_cost_usd=0.001,
    reply_cost_usd=0.010,
    reply_rule=REPLY_RULE,
    # A reply names its author: what X shows anyway, and two learners answered from the same
    # FAQ entry then get two texts (X refuses a text the account already posted: 403).
    reply_address="@{handle} ",
    handle_max=15,  # X usernames: at most 15 characters
    refuses_repeated_text=True,
)
TWEET_FIELDS = [
    "author_id", "created_at", "conversation_id", "in_reply_to_user_id", "referenced_tweets",
    "entities", "lang",
]


def _state(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, "x", "X")


def user_id(channel: XChannel) -> str:
    """The account's numeric id: from the channel file, else looked up once (``users/me``)."""
    if channel.x_settings.user_id:
        return channel.x_settings.user_id
    found = getattr(channel, "_inbox_user_id", None)
    if found is None:
        found = str(channel.me()["id"])
        channel._inbox_user_id = found  # type: ignore[attr-defined]
    return str(found)


def read(channel: XChannel, query: ConversationQuery) -> ConversationPage:
    if query.source == "mentions":
        return _mentions(channel, query)
    if query.source == "replies":
        return _replies(channel, query)
    raise Rejected(f"X has no inbox source {query.source!r}", network="x",
                   fix="read 'mentions' or 'replies'")


def _common(channel: XChannel) -> dict[str, Any]:
    return {
        "tweet_fields": TWEET_FIELDS,
        "expansions": ["author_id"],
        "user_fields": ["username", "name"],
        "user_auth": channel._user_auth,
    }


def _mentions(channel: XChannel, query: ConversationQuery) -> ConversationPage:
    state = _state(query.cursor)
    me = user_id(channel)
    params = _common(channel)
    params["max_results"] = max(5, min(100, query.max_items))
    if state.get("since_id"):
        params["since_id"] = state["since_id"]
    elif query.since is not None:
        params["start_time"] = query.since
    if state.get("token"):
        params["pagination_token"] = state["token"]
    answer = channel._call("reading mentions",
                           lambda: channel.client.get_users_mentions(me, **params))
    messages = _messages(channel, answer, "mentions", set(query.post_remote_ids))
    meta = answer.get("meta", {})
    newest = max([int(state.get("newest") or 0), int(meta.get("newest_id") or 0)])
    return _page(messages, len(answer.get("data", [])), state.get("since_id"), newest,
                 meta.get("next_token"), {})


def _replies(channel: XChannel, query: ConversationQuery) -> ConversationPage:
    state = _state(query.cursor)
    posts = sorted(set(query.post_remote_ids), key=int)  # new posts last: read after the old
    chunks = [posts[i : i + CHUNK] for i in range(0, len(posts), CHUNK)]
    chunk = int(state.get("chunk", 0))
    since_id = state.get("since_id")
    if chunk >= len(chunks):  # the posts changed under a sweep: close it
        return _page([], 0, since_id, int(state.get("newest") or 0), None, {})
    params = _common(channel)
    params["max_results"] = max(10, min(100, query.max_items))
    if state.get("token"):
        params["next_token"] = state["token"]
    text = " OR ".join(f"conversation_id:{post}" for post in chunks[chunk])

    def search(**more: Any) -> Any:
        return channel._call("reading replies to our posts",
                             lambda: channel.client.search_recent_tweets(text, **params, **more))

    try:
        answer = search(**({"since_id": since_id} if since_id else {}))
        dropped = False
    except Rejected as error:
        if not since_id or "since_id" not in (error.info.network_message or ""):
            raise
        answer, dropped = search(), True  # older than seven days: filter here instead
    messages = _messages(channel, answer, "replies", set(posts))
    if dropped and since_id:
        messages = [m for m in messages if int(m.remote_id) > int(since_id)]
    meta = answer.get("meta", {})
    newest = max([int(state.get("newest") or 0), int(meta.get("newest_id") or 0)])
    following = {"chunk": chunk + 1} if chunk + 1 < len(chunks) else {}
    return _page(messages, len(answer.get("data", [])), since_id, newest,
                 meta.get("next_token"), following, chunk=chunk)


def _page(
    messages: list[IncomingMessage], read_count: int, since_id: str | None, newest: int,
    token: str | None, following: dict[str, Any], chunk: int | None = None,
) -> ConversationPage:
    """The page and its cursor: the same place while pages or chunks remain, then the newest
    id seen as the next ``since_id``."""
    base: dict[str, Any] = {"since_id": since_id} if since_id else {}
    if token:
        cursor = {**base, "token": token, "newest": str(newest or "")}
        if chunk is not None:
            cursor["chunk"] = chunk
        more = True
    elif following:
        cursor, more = {**base, **following, "newest": str(newest or "")}, True
    else:
        done = max(newest, int(since_id or 0))
        cursor, more = ({"since_id": str(done)} if done else {}), False
    ordered = tuple(sorted(messages, key=lambda m: int(m.remote_id)))
    return ConversationPage(ordered, json.dumps(cursor, sort_keys=True), more=more,
                            items_read=read_count)


def _messages(
    channel: XChannel, answer: dict[str, Any], source: str, ours: set[str]
) -> list[IncomingMessage]:
    me = user_id(channel)
    handle = channel.x_settings.username.lower()
    users = {u["id"]: u for u in answer.get("includes", {}).get("users", [])}
    found = []
    for item in answer.get("data", []):
        if str(item["id"]) in ours:
            continue  # the post itself (a conversation's search finds its root too)
        author = users.get(item.get("author_id"), {})
        named = item.get("entities", {}).get("mentions", [])
        summons = any(m.get("id") == me or str(m.get("username", "")).lower() == handle
                      for m in named)
        refs = {r["type"]: r["id"] for r in item.get("referenced_tweets", [])}
        quoted_ours = refs.get("quoted") in ours
        from_us = item.get("author_id") == me
        conversation = str(item.get("conversation_id") or item["id"])
        kind = MessageKind.MENTION if (summons or quoted_ours) and not from_us else (
            MessageKind.REPLY if "replied_to" in refs or source == "replies"
            else MessageKind.MENTION
        )
        found.append(
            IncomingMessage(
                remote_id=str(item["id"]),
                kind=kind,
                author_id=str(item.get("author_id", "")),
                author_name=str(author.get("name") or author.get("username") or ""),
                author_handle=str(author["username"]) if author.get("username") else None,
                text=str(item.get("text", "")),
                created_at=datetime.fromisoformat(str(item["created_at"])),
                thread_remote_id=conversation,
                parent_remote_id=refs.get("replied_to") or refs.get("quoted"),
                post_remote_id=conversation if conversation in ours else None,
                url=f"https://x.com/{author.get('username', 'i')}/status/{item['id']}",
                language=item.get("lang"),
                from_us=from_us,
                source=source,
            )
        )
    return found


def reply_problems(channel: XChannel, request: ReplyRequest) -> list[Problem]:
    """X's reply rule, when the message's kind makes it certain: a REPLY did not mention us."""
    if request.message_kind is not MessageKind.REPLY:
        return []
    return [
        Problem(
            channel.channel_id, None, None,
            f"{REPLY_RULE}; this post in the conversation does not mention "
            f"@{channel.x_settings.username}",
            "answer it on X itself, or answer the learner's earlier post that mentions the "
            "account",
        )
    ]


def send_reply(channel: XChannel, request: ReplyRequest) -> ReplyResult:
    refuse_invalid(channel, request, f"channel {channel.channel_id}: ")
    try:
        with reply_outcome(channel.display_name, f"under post {request.message_remote_id} on X"):
            answer = channel._call(
                "replying",
                lambda: channel.client.create_tweet(
                    text=request.text, in_reply_to_tweet_id=request.message_remote_id,
                    user_auth=channel._user_auth,
                ),
                creates=True,
            )
    except Rejected as error:
        said = error.info.network_message or ""
        if error.info.status == 403 and "not been mentioned" in said:
            raise Rejected(
                f"channel {channel.channel_id}: X refused the reply: {REPLY_RULE}, and post "
                f"{request.message_remote_id} does not",
                network="x", status=403, network_message=said,
                fix="answer it on X itself; nothing was sent",
            ) from error
        raise
    remote_id = str(answer["data"]["id"])
    return ReplyResult(remote_id=remote_id, url=channel.post_url(remote_id))
