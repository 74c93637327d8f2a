"""Reading and answering on Bluesky (the inbox) through the ``atproto`` SDK.

One source, ``notifications``: ``app.bsky.notification.listNotifications`` with ``reasons``
``mention``, ``reply`` and ``quote`` (newest first, up to 100 a page, an opaque ``cursor`` to
the next older page). Each is one message: a reply under our posts (``REPLY``, in the thread of
its root), a post naming the account or quoting one of its posts (``MENTION``).

Bluesky has no "since" parameter: the read goes down from the newest until it meets what it
saw. The cursor is JSON: ``{"seen": T, "uris": [...]}`` once a read is done (``T``: the newest
``indexedAt`` read, ``uris``: the notifications at that instant); while paging down a backlog
``{"seen": ..., "uris": ..., "page": C, "newest": T2, "newest_uris": [...]}`` (``C``: Bluesky's
cursor), so a read that stops midway (``more``) goes on from the same place and the same cursor
reads the same page again. Without a cursor, ``query.since`` bounds the first read.

A reply is one ``app.bsky.feed.post`` record made with ``com.atproto.repo.createRecord``:
``reply: {root, parent}`` strong refs (uri + cid) read from the answered post itself
(``app.bsky.feed.getPosts``: its cid, and its own ``reply.root`` when it is a reply), the
author's ``@handle`` at the start with its mention facet (the inbox adds it:
``FACTS.reply_address``), 300 graphemes at most. Never twice: as for posts
(``channel.BlueskyChannel._create``), the record key is derived from the reply's idempotency
key and text, and a create without an answer (or a 5xx) is settled by reading the record at
that key: there -> the reply is online; absent -> sent again under the same key, which cannot
make a second record. Only when that stays unanswered is it ``OutcomeUnknown``, in the inbox's
words (``reply_outcome``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atproto_core.uri import AtUri

from cm_toolkit.channels.base import (
    ConversationFacts,
    ConversationPage,
    IncomingMessage,
    MessageKind,
    ReplyResult,
)
from cm_toolkit.channels.bluesky import text as rich
from cm_toolkit.channels.bluesky.wire import NETWORK
from cm_toolkit.channels.inbox_cursor import read_cursor
from cm_toolkit.channels.reply_outcome import refuse_invalid, reply_outcome
from cm_toolkit.errors import Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.base import ConversationQuery, ReplyRequest
    from cm_toolkit.channels.bluesky.channel import BlueskyChannel

SOURCE = "notifications"
REASONS = ("mention", "reply", "quote")
PAGE_MAX = 100  # listNotifications: "maximum": 100
FACTS = ConversationFacts(
    sources=(SOURCE,),
    reply_text_max=rich.TEXT_MAX_GRAPHEMES,
    # A reply names its author, with a mention facet: the same FAQ answer to two learners is
    # then two texts, and the learner sees it addressed to them in the thread
    reply_address="@{handle} ",
    # the room ``cm check`` leaves for the handle: most are ``name.bsky.social`` (longer ones
    # are measured on the real text before sending)
    handle_max=30,
)


def _state(cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, NETWORK, "Bluesky")


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value)).astimezone(UTC)


def read(channel: BlueskyChannel, query: ConversationQuery) -> ConversationPage:
    if query.source != SOURCE:
        raise Rejected(f"Bluesky has no inbox source {query.source!r}", network=NETWORK,
                       fix=f"read the source {SOURCE!r}")
    state = _state(query.cursor)
    seen = _when(state["seen"]) if state.get("seen") else None
    seen_uris = set(state.get("uris") or ())
    floor = query.since.astimezone(UTC) if seen is None and query.since is not None else None
    limit = max(1, min(PAGE_MAX, query.max_items))
    params: dict[str, Any] = {"reasons": list(REASONS), "limit": limit}
    if state.get("page"):
        params["cursor"] = state["page"]
    answer = channel.session.call("reading notifications", lambda: (
        channel.session.client.app.bsky.notification.list_notifications(params=params)))
    items = list(answer.notifications)
    fresh, reached = [], False
    for item in items:  # newest first: stop at the first one already seen (or before since)
        at = _when(item.indexed_at)
        if (seen is not None and (at < seen or (at == seen and item.uri in seen_uris))) or (
                floor is not None and at < floor):
            reached = True
            break
        fresh.append(item)
    newest, newest_uris = state.get("newest"), list(state.get("newest_uris") or ())
    if fresh and not state.get("page"):  # the first page of this read holds the newest
        newest = fresh[0].indexed_at
        newest_uris = [i.uri for i in fresh if _when(i.indexed_at) == _when(newest)]
        if seen is not None and _when(newest) == seen:  # the same instant as the last read
            newest_uris += sorted(seen_uris)
    ours = set(query.post_remote_ids)
    messages = [_message(channel, item, ours) for item in fresh
                if item.reason in REASONS]
    cursor: dict[str, Any] = {"seen": state["seen"], "uris": sorted(seen_uris)} \
        if state.get("seen") else {}
    more = bool(answer.cursor) and not reached and len(items) >= limit
    if more:
        cursor.update(page=answer.cursor, newest=newest, newest_uris=newest_uris)
    elif newest:
        cursor = {"seen": newest, "uris": sorted(newest_uris)}
    ordered = tuple(sorted(messages, key=lambda m: (m.created_at, m.remote_id)))
    return ConversationPage(ordered, json.dumps(cursor, sort_keys=True), more=more,
                            items_read=len(items))


def _message(channel: BlueskyChannel, item: Any, ours: set[str]) -> IncomingMessage:
    record = item.record
    reply = getattr(record, "reply", None)
    root = reply.root.uri if reply is not None else None
    parent = reply.parent.uri if reply is not None else (
        item.reason_subject if item.reason == "quote" else None)
    subject = root or (item.reason_subject if item.reason == "quote" else None)
    author = item.author
    langs = getattr(record, "langs", None) or []
    created = getattr(record, "created_at", None) or item.indexed_at
    return IncomingMessage(
        remote_id=item.uri,
        kind=MessageKind.REPLY if item.reason == "reply" else MessageKind.MENTION,
        author_id=author.did,
        author_name=author.display_name or author.handle,
        author_handle=author.handle,
        text=str(getattr(record, "text", "") or ""),
        created_at=_when(created),
        thread_remote_id=root or item.uri,
        parent_remote_id=parent,
        post_remote_id=subject if subject in ours else None,
        url=f"https://bsky.app/profile/{author.handle}/post/{AtUri.from_str(item.uri).rkey}",
        language=langs[0] if langs else None,
        from_us=author.did == channel.session.did,
        source=SOURCE,
    )


def send_reply(channel: BlueskyChannel, request: ReplyRequest) -> ReplyResult:
    from atproto_client import models

    refuse_invalid(channel, request, f"channel {channel.channel_id}: ")
    if len(request.text.encode("utf-8")) > rich.TEXT_MAX_BYTES:
        raise Rejected(f"channel {channel.channel_id}: the reply is over "
                       f"{rich.TEXT_MAX_BYTES} bytes of UTF-8", network=NETWORK,
                       fix="shorten it")
    answered = channel.session.call("reading the post to answer", lambda: (
        channel.session.client.get_posts([request.message_remote_id])))
    if not answered.posts:
        raise Rejected(
            f"channel {channel.channel_id}: the post {request.message_remote_id} is gone "
            "(deleted, or its author blocked the account)", network=NETWORK,
            fix="nothing was sent; close the message (cm inbox close)")
    post = answered.posts[0]
    parent = models.ComAtprotoRepoStrongRef.Main(uri=post.uri, cid=post.cid)
    thread = getattr(post.record, "reply", None)
    root = thread.root if thread is not None else parent
    record = models.AppBskyFeedPost.Record(
        text=request.text, created_at=channel.session.client.get_current_time_iso(),
        facets=channel._facets(request.text) or None, langs=list(channel.bsky.langs) or None,
        reply=models.AppBskyFeedPost.ReplyRef(root=root, parent=parent),
    )
    key = rich.record_key(channel.channel_id, request.idempotency_key, "reply",
                          request.text) if request.idempotency_key else None
    where = f"under https://bsky.app/profile/{post.author.handle}/post/{AtUri.from_str(post.uri).rkey}"
    with reply_outcome(channel.display_name, where):
        made = channel._create(record, key)
    return ReplyResult(remote_id=made.uri, url=channel.post_url(made.uri))
