"""Reading and answering on YouTube (the inbox) through google-api-python-client.

- ``comments``: ``commentThreads.list(part=snippet,replies, allThreadsRelatedToChannelId,
  order=time, textFormat=plainText, maxResults)`` (1 unit a page) over the whole channel, newest
  activity first, page after page (``pageToken``) until a thread with nothing newer than the
  cursor. The cursor is JSON ``{"seen": "<RFC 3339>"}``, the newest comment time read; a read
  stopped by ``max_items`` keeps ``{"seen", "walk": {"token", "stop", "top"}}`` and says
  ``more``. A thread shows its five latest replies: more new replies than that in one thread
  between two reads are not all seen (the next sync sees the later ones).
- ``live_chat``: ``liveChatMessages.list(liveChatId, part=snippet,authorDetails, pageToken)``
  (5 units a call) while a session is on air; the cursor is YouTube's ``nextPageToken`` and
  ``poll_after`` its ``pollingIntervalMillis``. The chat id is the broadcast's
  ``snippet.liveChatId`` (``schedule_live`` returns it in ``extra["live_chat_id"]``).

Answers: ``comments.insert`` with ``snippet.parentId`` (50 units; a reply to a reply goes to its
top-level comment, the part of its id before the dot) and, in a live chat,
``liveChatMessages.insert`` (``textMessageEvent``; 50 units, unconfirmed).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cm_toolkit.channels import base
from cm_toolkit.channels.inbox_cursor import read_cursor
from cm_toolkit.channels.reply_outcome import refuse_invalid, reply_outcome
from cm_toolkit.errors import Problem, Rejected

if TYPE_CHECKING:
    from cm_toolkit.channels.youtube import YouTubeChannel

COMMENT_MAX = 10_000  # characters of a comment
CHAT_MAX = 200  # characters of a live chat message
CHAT_PAGE = 500  # liveChatMessages.list's default maxResults
READ_UNITS, LIVE_CHAT_UNITS, REPLY_UNITS = 1, 5, 50
FACTS = base.ConversationFacts(
    sources=("comments", "live_chat"),
    reply_text_max=COMMENT_MAX,
    read_units=READ_UNITS,
    reply_units=REPLY_UNITS,
    live_chat_units=LIVE_CHAT_UNITS,
    min_poll_interval=timedelta(minutes=15),
)


def read(channel: YouTubeChannel, query: base.ConversationQuery) -> base.ConversationPage:
    if query.source == "comments":
        return _comments(channel, query)
    if query.source == "live_chat":
        return _live_chat(channel, query)
    raise Rejected(f"YouTube has no inbox source {query.source!r}", network=channel.network,
                   fix="read 'comments' or 'live_chat'")


def _state(channel: YouTubeChannel, cursor: str | None) -> dict[str, Any]:
    return read_cursor(cursor, channel.network, "YouTube")


def _comments(channel: YouTubeChannel, query: base.ConversationQuery) -> base.ConversationPage:
    state = _state(channel, query.cursor)
    walk = state.get("walk") or {}
    seen = state.get("seen") or (query.since.astimezone(UTC).isoformat() if query.since else "")
    stop, top, token = walk.get("stop", seen), walk.get("top"), walk.get("token")
    api = channel._api()
    found: list[base.IncomingMessage] = []
    units = 0
    while True:
        args: dict[str, Any] = {
            "part": "snippet,replies",
            "allThreadsRelatedToChannelId": channel.youtube_settings.channel_id,
            "order": "time",
            "textFormat": "plainText",
            "maxResults": max(1, min(100, query.max_items)),
        }
        if token:
            args["pageToken"] = token
        answer = channel._run(api.commentThreads().list(**args), "reading comments")
        units += READ_UNITS
        reached = False
        for thread in answer.get("items", []):
            comments = [thread["snippet"]["topLevelComment"],
                        *thread.get("replies", {}).get("comments", [])]
            newer = [c for c in comments if _when(c).isoformat() > stop]
            if not newer:
                reached = True  # threads come newest activity first: the rest is older
                break
            for comment in newer:
                top = max(top or "", _when(comment).isoformat())
                found.append(_comment(channel, thread, comment, set(query.post_remote_ids)))
        token = answer.get("nextPageToken")
        if reached or not token:
            cursor: dict[str, Any] = {"seen": max(top or "", seen) or None}
            return _ordered(found, cursor, False, units)
        if len(found) >= query.max_items:
            walk_state = {"token": token, "stop": stop, "top": top}
            return _ordered(found, {"seen": seen or None, "walk": walk_state}, True, units)


def _ordered(
    found: list[base.IncomingMessage], cursor: dict[str, Any], more: bool, units: int
) -> base.ConversationPage:
    unique = {m.remote_id: m for m in found}  # a thread met on two pages gives its replies once
    messages = tuple(sorted(unique.values(), key=lambda m: (m.created_at, m.remote_id)))
    return base.ConversationPage(messages, json.dumps(cursor, sort_keys=True), more=more,
                            items_read=len(messages), units=units)


def _when(comment: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(comment["snippet"]["publishedAt"]))


def _comment(
    channel: YouTubeChannel, thread: dict[str, Any], comment: dict[str, Any], ours: set[str]
) -> base.IncomingMessage:
    snippet = comment["snippet"]
    video = str(thread["snippet"].get("videoId", ""))
    parent = snippet.get("parentId")
    author = str(snippet.get("authorChannelId", {}).get("value", ""))
    return base.IncomingMessage(
        remote_id=str(comment["id"]),
        kind=base.MessageKind.REPLY if parent else base.MessageKind.COMMENT,
        author_id=author,
        author_name=str(snippet.get("authorDisplayName", "")),
        text=str(snippet.get("textOriginal") or snippet.get("textDisplay", "")),
        created_at=_when(comment),
        thread_remote_id=video,
        parent_remote_id=str(parent) if parent else video,
        post_remote_id=video if not ours or video in ours else None,
        url=f"https://www.youtube.com/watch?v={video}&lc={comment['id']}",
        from_us=author == channel.youtube_settings.channel_id,
        source="comments",
    )


def _live_chat(channel: YouTubeChannel, query: base.ConversationQuery) -> base.ConversationPage:
    if not query.live_chat_id:
        raise Rejected("reading a YouTube live chat needs its liveChatId", network=channel.network,
                       fix="pass the live session's live_chat_id (schedule_live's extra)")
    args: dict[str, Any] = {"liveChatId": query.live_chat_id, "part": "snippet,authorDetails"}
    if query.cursor:
        args["pageToken"] = query.cursor
    api = channel._api()
    answer = channel._run(api.liveChatMessages().list(**args), "reading the live chat")
    messages = []
    for item in answer.get("items", []):
        snippet, author = item.get("snippet", {}), item.get("authorDetails", {})
        text = snippet.get("textMessageDetails", {}).get("messageText")
        if text is None:
            continue  # not a text line (a super chat, a membership, a deleted message)
        messages.append(
            base.IncomingMessage(
                remote_id=str(item["id"]),
                kind=base.MessageKind.LIVE_CHAT,
                author_id=str(author.get("channelId") or snippet.get("authorChannelId", "")),
                author_name=str(author.get("displayName", "")),
                text=str(text),
                created_at=datetime.fromisoformat(str(snippet["publishedAt"])),
                thread_remote_id=query.live_chat_id,
                parent_remote_id=None,
                from_us=bool(author.get("isChatOwner")),
                source="live_chat",
            )
        )
    polling = answer.get("pollingIntervalMillis")
    return base.ConversationPage(
        tuple(messages),
        answer.get("nextPageToken") or query.cursor,
        more=len(answer.get("items", [])) >= CHAT_PAGE,  # a full page: more is waiting
        items_read=len(messages),
        units=LIVE_CHAT_UNITS,
        poll_after=timedelta(milliseconds=int(polling)) if polling is not None else None,
    )


def reply_problems(channel: YouTubeChannel, request: base.ReplyRequest) -> list[Problem]:
    """A live chat line is shorter than a comment."""
    if request.message_kind is base.MessageKind.LIVE_CHAT and len(request.text) > CHAT_MAX:
        return [Problem(channel.channel_id, None, None,
                        f"the chat answer is {len(request.text)} characters; YouTube's live "
                        f"chat takes {CHAT_MAX}", "shorten it, or answer under the replay")]
    return []


def send_reply(channel: YouTubeChannel, request: base.ReplyRequest) -> base.ReplyResult:
    refuse_invalid(channel, request, "youtube: ")
    api = channel._api()
    if request.message_kind is base.MessageKind.LIVE_CHAT:
        chat_id = request.live_chat_id or request.thread_remote_id
        body = {"snippet": {"liveChatId": chat_id, "type": "textMessageEvent",
                            "textMessageDetails": {"messageText": request.text}}}
        with reply_outcome("YouTube", "in the session's live chat"):
            answer = channel._run(api.liveChatMessages().insert(part="snippet", body=body),
                                  "answering in the live chat", creates=True)
        return base.ReplyResult(remote_id=str(answer["id"]), units=REPLY_UNITS)
    parent = request.message_remote_id.split(".", 1)[0]  # replies hang under the top comment
    body = {"snippet": {"parentId": parent, "textOriginal": request.text}}
    with reply_outcome("YouTube", "under the comment on the video"):
        answer = channel._run(api.comments().insert(part="snippet", body=body),
                              "answering a comment", creates=True)
    video = answer.get("snippet", {}).get("videoId") or request.thread_remote_id
    return base.ReplyResult(
        remote_id=str(answer["id"]),
        url=f"https://www.youtube.com/watch?v={video}&lc={answer['id']}",
        units=REPLY_UNITS,
    )
