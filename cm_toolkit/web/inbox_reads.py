"""What the Inbox page shows of one message: its thread, the post it answers, its FAQ
suggestions. The page of open items is read by ``ledger/inbox_pages.py``; the thread comes
through ``InboxLedger`` (``cm_toolkit/ledger/inbox.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cm_toolkit.ledger.inbox import InboxLedger
from cm_toolkit.ledger.models import Conversation, Delivery, InboxMessage, InboxReply


@dataclass(frozen=True)
class Thread:
    message: InboxMessage
    conversation: Conversation | None
    messages: list[InboxMessage]  # the whole conversation, oldest first, ours included
    post: Delivery | None  # our published post the conversation answers, if the ledger knows it
    replies: list[InboxReply]


def thread_of(inbox: InboxLedger, message_id: int) -> Thread:
    """One message with its conversation (``InboxError`` when there is no such message)."""
    message = inbox.message(message_id)
    conversation = inbox.conversation(message.conversation_id)
    post = inbox.delivery(conversation.delivery_id) \
        if conversation is not None and conversation.delivery_id is not None else None
    return Thread(message, conversation, inbox.thread(message.conversation_id), post,
                  inbox.replies_of(message_id))


def suggestions_of(message: InboxMessage) -> list[dict[str, Any]]:
    """``inbox_messages.suggestions`` as the page shows them: id, score, title, auto.

    Stored at sync time as ``{"faq": [[id, score, title?, auto?], ...]}``."""
    stored = message.suggestions or {}
    found = []
    for entry in stored.get("faq", []) if isinstance(stored, dict) else []:
        if not isinstance(entry, list | tuple) or not entry:
            continue
        faq_id = str(entry[0])
        score = float(entry[1]) if len(entry) > 1 and isinstance(entry[1], int | float) else None
        title = str(entry[2]) if len(entry) > 2 and entry[2] else faq_id
        found.append({"faq_id": faq_id, "score": score, "title": title,
                      "auto": bool(entry[3]) if len(entry) > 3 else False})
    return found
