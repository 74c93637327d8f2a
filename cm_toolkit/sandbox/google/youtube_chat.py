"""YouTube live chat: ``liveChatMessages.list`` and ``liveChatMessages.insert``.

A broadcast's chat (``snippet.liveChatId``) is open from its start (actual, else scheduled) to
its end (actual, else scheduled, else 90 minutes later) and ``CHAT_OPEN_AFTER`` more; after that
YouTube answers 403 ``liveChatEnded``, and 404 ``liveChatNotFound`` for an unknown id. The
simulated audience writes a burst while on air. ``list`` (5 units) answers
``pollingIntervalMillis`` (``LIVE_POLL_MS`` on air, ``IDLE_POLL_MS`` before or after) and
always a ``nextPageToken`` (the position in the chat), so the same token gives the same lines and
a poll with the last token gives only what is new. ``insert`` (``textMessageEvent``) costs 50
units (often cited; unconfirmed) and needs the chat open.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.google.base import google_error
from cm_toolkit.sandbox.google.youtube_base import V3, YouTubeBase, page_offset, page_token
from cm_toolkit.sandbox.google.youtube_state import Broadcast, etag, rfc3339

CHAT_OPEN_AFTER = timedelta(hours=1)
LIVE_POLL_MS, IDLE_POLL_MS = 10_000, 30_000
CHAT_TEXT_MAX = 200  # characters of a chat message


def chat_token(offset: int) -> str:
    return page_token("GLC", offset)


def _chat_offset(token: str | None) -> int:
    return page_offset("GLC", token, "pageTokenInvalid", "youtube.liveChat")


class ChatRoutes(YouTubeBase):
    def chat_window(self, broadcast: Broadcast) -> tuple[datetime, datetime]:
        start = broadcast.actual_start or broadcast.scheduled_start
        end = broadcast.actual_end or broadcast.scheduled_end or start + timedelta(minutes=90)
        return start, end

    def chat_of(self, chat_id: str) -> Broadcast:
        for broadcast in self.store.broadcasts.values():
            if f"KicKGFVD{broadcast.id}" == chat_id:
                if self.ctx.now() > self.chat_window(broadcast)[1] + CHAT_OPEN_AFTER:
                    raise google_error(403, "The live chat is no longer live.",
                                       reason="liveChatEnded", domain="youtube.liveChat")
                return broadcast
        raise google_error(404, "The live chat that you are trying to retrieve cannot be found.",
                           reason="liveChatNotFound", domain="youtube.liveChat",
                           location="liveChatId")

    def chat_lines(self, chat_id: str, broadcast: Broadcast) -> list[dict[str, Any]]:
        now = self.ctx.now()
        start, end = self.chat_window(broadcast)
        lines = self.ctx.audience.live_chat(chat_id, start, end, now)
        lines += [line for line in self.store.chat.get(chat_id, []) if line["created_at"]
                  <= now.isoformat()]
        return sorted(lines, key=lambda line: (line["created_at"], line["id"]))

    def chat_resource(self, chat_id: str, line: dict[str, Any]) -> dict[str, Any]:
        owner = line.get("owner", False)
        author = line.get("author_channel") or "UC" + etag(line["author"])[:22]
        out: dict[str, Any] = {
            "kind": "youtube#liveChatMessage",
            "id": line["id"],
            "snippet": {
                "type": "textMessageEvent",
                "liveChatId": chat_id,
                "authorChannelId": author,
                "publishedAt": rfc3339(datetime.fromisoformat(line["created_at"])),
                "hasDisplayContent": True,
                "displayMessage": line["text"],
                "textMessageDetails": {"messageText": line["text"]},
            },
            "authorDetails": {
                "channelId": author,
                "channelUrl": f"http://www.youtube.com/channel/{author}",
                "displayName": line["author"],
                "profileImageUrl": "https://yt3.ggpht.com/ytc/default-user=s88",
                "isVerified": False,
                "isChatOwner": owner,
                "isChatSponsor": False,
                "isChatModerator": owner,
            },
        }
        out["etag"] = etag(out)
        return out

    @route("GET", V3 + "/liveChat/messages")
    def live_chat_list(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveChatMessages.list"

        def check() -> tuple[list[str], dict[str, str], Broadcast]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "LiveChatMessage")
            _chat_offset(query.get("pageToken"))
            return parts, query, self.chat_of(query["liveChatId"])

        parts, query, broadcast = self.metered(method, check)
        chat_id = query["liveChatId"]
        lines = self.chat_lines(chat_id, broadcast)
        offset = min(_chat_offset(query.get("pageToken")), len(lines))
        size = int(query.get("maxResults", "500"))
        page = lines[offset : offset + size]
        items = []
        for line in page:
            item = self.chat_resource(chat_id, line)
            items.append({k: v for k, v in item.items()
                          if k in ("kind", "id", "etag") or k in parts})
        start, end = self.chat_window(broadcast)
        on_air = start <= self.ctx.now() <= end
        answer: dict[str, Any] = {
            "kind": "youtube#liveChatMessageListResponse",
            "etag": etag([i["etag"] for i in items]),
            "pollingIntervalMillis": LIVE_POLL_MS if on_air else IDLE_POLL_MS,
            "pageInfo": {"totalResults": len(lines), "resultsPerPage": len(items)},
            "nextPageToken": chat_token(offset + len(page)),
            "items": items,
        }
        if self.ctx.now() > end:
            answer["offlineAt"] = rfc3339(end)
        return SandboxResponse.json(200, answer)

    @route("POST", V3 + "/liveChat/messages", creates=True)
    def live_chat_insert(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveChatMessages.insert"
        account = self.account(token)

        def check() -> tuple[str, str]:
            query = self.doc.check_query(request, method)
            self.doc.check_part(query["part"], "LiveChatMessage")
            body = self.json_body(request)
            self.doc.check_body(body, "LiveChatMessage", method)
            snippet = body.get("snippet") or {}
            text = str((snippet.get("textMessageDetails") or {}).get("messageText") or "")
            if snippet.get("type") != "textMessageEvent" or not text.strip():
                raise google_error(400, "The message text is required.",
                                   reason="messageTextInvalid", domain="youtube.liveChat")
            if len(text) > CHAT_TEXT_MAX:
                raise google_error(400, "The message is too long.", reason="messageTooLong",
                                   domain="youtube.liveChat")
            chat_id = str(snippet.get("liveChatId") or "")
            self.chat_of(chat_id)
            return chat_id, text

        chat_id, text = self.metered(method, check)
        number = self.ctx.next_id("youtube-chat")
        line = {
            "id": f"LCC.{etag([chat_id, number])[:26]}",
            "author": account.title,
            "author_channel": account.channel_id,
            "owner": True,
            "text": text,
            "created_at": self.ctx.now().isoformat(),
        }
        self.store.chat.setdefault(chat_id, []).append(line)
        return SandboxResponse.json(200, self.chat_resource(chat_id, line))
