"""Reading and answering on Mastodon (the inbox) through Mastodon.py.

One source, ``mentions``: ``GET /api/v1/notifications?types[]=mention`` (newest first, at most
80 a page). A mention notification carries the status that names the account: a learner's
reply under one of our posts, or a post of theirs that mentions us. Each is one message; its
``content`` (HTML) is read as plain text (``text.plain_text``).

The cursor is JSON: ``{"since_id": S}`` once a read is done (``S``: the newest notification
seen); while paging down a backlog ``{"since_id": S, "max_id": M, "newest": N}``, ``M`` taken
from the answer's ``Link: <...max_id=M>; rel="next"`` header, so a read that stops midway
(``more``) goes on from the same place and the same cursor reads the same page again. Without
a cursor, ``query.since`` bounds the first read (notifications older than it are left).

A reply is ``POST /api/v1/statuses`` with ``in_reply_to_id`` and the author's ``@acct`` at the
start (the inbox adds it: ``FACTS.reply_address``; Mastodon notifies whom a status mentions),
the account's visibility and language, and an ``Idempotency-Key`` (the reply's key from the
ledger). As for posts (``channel.MastodonChannel._create``), a create without an answer is sent
once more under the same key: the instance answers with the status created the first time, so
a lost answer never makes a second reply; only when the second try goes unanswered too is it
``OutcomeUnknown``, in the inbox's words (``reply_outcome``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cm_toolkit.channels.base import (
    ConversationFacts,
    ConversationPage,
    IncomingMessage,
    MessageKind,
    ReplyResult,
)
from cm_toolkit.channels.inbox_cursor import read_cursor
from cm_toolkit.channels.mastodon.text import plain_text
from cm_toolkit.channels.mastodon.wire import NETWORK
from cm_toolkit.channels.reply_outcome import refuse_invalid, reply_outcome
from cm_toolkit.errors import Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.base import ConversationQuery, ReplyRequest
    from cm_toolkit.channels.mastodon.channel import MastodonChannel

PAGE_MAX = 80  # GET /api/v1/notifications: "Max 80 notifications"
FACTS = ConversationFacts(
    sources=("mentions",),
    reply_text_max=500,  # Mastodon's default; an instance may allow more
    # A reply names its author: Mastodon notifies only the accounts a status mentions, and a
    # remote mention ``@user@domain`` counts as ``@user`` (text.countable_text)
    reply_address="@{handle} ",
    handle_max=30,  # Mastodon user names: at most 30 characters
)


def _state(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, NETWORK, "Mastodon")


def read(channel: MastodonChannel, query: ConversationQuery) -> ConversationPage:
    if query.source != "mentions":
        raise Rejected(f"Mastodon has no inbox source {query.source!r}", network=NETWORK,
                       fix="read the source 'mentions'")
    state = _state(query.cursor)
    since_id, max_id = state.get("since_id"), state.get("max_id")
    limit = max(1, min(PAGE_MAX, query.max_items))
    params: dict[str, Any] = {"types": ["mention"], "limit": limit}
    if since_id:
        params["since_id"] = since_id
    if max_id:
        params["max_id"] = max_id
    answer = channel._call("reading mentions",
                           lambda: channel.client.notifications(**params))
    items = [dict(n) for n in answer]
    floor = query.since if not since_id and query.since is not None else None
    kept = [n for n in items if floor is None or _when(n) >= floor]
    ours = set(query.post_remote_ids)
    messages = [_message(channel, n["status"], ours) for n in kept if n.get("status")]
    newest = max([int(state.get("newest") or 0), *(int(n["id"]) for n in items)])
    following = getattr(answer, "_pagination_next", None) or {}
    next_max = following.get("max_id")
    # more only when the page was full and nothing older than ``since`` was met
    if next_max and len(items) == limit and len(kept) == len(items):
        cursor: dict[str, Any] = {"max_id": str(next_max), "newest": str(newest)}
        if since_id:
            cursor["since_id"] = since_id
        more = True
    else:
        done = max(newest, int(since_id or 0))
        cursor, more = ({"since_id": str(done)} if done else {}), False
    ordered = tuple(sorted(messages, key=lambda m: (m.created_at, int(m.remote_id))))
    return ConversationPage(ordered, json.dumps(cursor, sort_keys=True), more=more,
                            items_read=len(items))


def _when(item: dict[str, Any]) -> datetime:
    value = item["created_at"]
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.astimezone(UTC)


def _message(channel: MastodonChannel, status: dict[str, Any], ours: set[str]) -> IncomingMessage:
    account = dict(status.get("account") or {})
    acct = str(account.get("acct") or account.get("username") or "")
    parent = str(status["in_reply_to_id"]) if status.get("in_reply_to_id") else None
    status_id = str(status["id"])
    on_ours = parent if parent in ours else None
    return IncomingMessage(
        remote_id=status_id,
        kind=MessageKind.REPLY if parent else MessageKind.MENTION,
        author_id=str(account.get("id") or acct),
        author_name=str(account.get("display_name") or acct),
        author_handle=acct or None,
        text=plain_text(str(status.get("content") or "")),
        created_at=_when(status),
        # a reply under our post belongs to it; otherwise the status it answers (or itself)
        thread_remote_id=on_ours or parent or status_id,
        parent_remote_id=parent,
        post_remote_id=on_ours,
        url=str(status["url"]) if status.get("url") else None,
        language=str(status["language"]) if status.get("language") else None,
        from_us=acct.lower() == channel.m_settings.username.lower(),
        source="mentions",
    )


def send_reply(channel: MastodonChannel, request: ReplyRequest) -> ReplyResult:
    refuse_invalid(channel, request, f"channel {channel.channel_id}: ")
    params: dict[str, Any] = {
        "status": request.text, "in_reply_to_id": request.message_remote_id,
        "visibility": channel.m_settings.visibility, "language": channel.m_settings.language,
        "idempotency_key": request.idempotency_key or f"cm-{uuid.uuid4()}",
    }
    where = f"under status {request.message_remote_id} on {channel.m_settings.instance}"
    with reply_outcome(channel.display_name, where):
        status = channel._create(params)
    return ReplyResult(remote_id=str(status["id"]), url=status.get("url"))
