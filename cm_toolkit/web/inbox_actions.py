"""What the Inbox page's forms do, only under ``cm dashboard --allow-replies``.

Every change goes through the inbox's own paths, the same as the CLI's: a reply through
``ReplyService.reply_now`` (claimed, sent once, outcome recorded), an assignment or a state
change through ``InboxLedger`` (compare-and-set with an event). The actor is ``dashboard``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.clock import Clock
from cm_toolkit.inbox import load_faq
from cm_toolkit.inbox.replies import (
    ReplyOutcome,
    ReplyService,
    recover_reply_orphans,
    replies_inflight_folder,
)
from cm_toolkit.ledger.inbox import InboxLedger
from cm_toolkit.ledger.states import MessageState
from cm_toolkit.sending.inflight import InflightLog
from cm_toolkit.sending.worker import new_worker_id

ACTOR = "dashboard"
STATE_ACTIONS = {"close": MessageState.CLOSED, "ignore": MessageState.IGNORED,
                 "reopen": MessageState.OPEN}


class InboxActions:
    def __init__(self, inbox: InboxLedger, replies: ReplyService, clock: Clock,
                 on_close: Callable[[], None] | None = None) -> None:
        self.inbox = inbox
        self.replies = replies
        self.clock = clock
        self._on_close = on_close

    def reply(self, message_id: int, *, text: str | None, faq_id: str | None) -> ReplyOutcome:
        return self.replies.reply_now(message_id, text=text, faq_id=faq_id, actor=ACTOR)

    def assign(self, message_id: int, who: str) -> None:
        self.inbox.assign(message_id, who, self.clock.now(), ACTOR)

    def set_state(self, message_id: int, action: str) -> None:
        self.inbox.set_state(message_id, STATE_ACTIONS[action], self.clock.now(), ACTOR)

    def close(self) -> None:
        """At a clean stop: every reply's outcome is in the ledger, the in-flight file goes."""
        if self._on_close is not None:
            self._on_close()


def dashboard_actions(root: Path, inbox: InboxLedger, channels: ChannelSource,
                      clock: Clock) -> InboxActions:
    """The actions of a dashboard serving the workspace at ``root`` (its FAQ, its channels).

    Connected like ``cm inbox reply``: replies left ``sending`` by a killed process are settled
    first (``recover_reply_orphans``), and replies keep an in-flight file, so a dashboard killed
    while a reply was leaving leaves it for that recovery (``unknown`` for ``cm review`` when
    it may have left), never a second send."""
    worker_id = new_worker_id()
    folder = replies_inflight_folder(root)
    # replies left sending by a killed dashboard or cm inbox reply: settled before new ones
    recover_reply_orphans(inbox, worker_id, clock.now(), folder)
    sends = InflightLog(folder, worker_id)
    replies = ReplyService(ledger=inbox, channels=channels, clock=clock, worker_id=worker_id,
                           faq=load_faq(root), inflight=sends)
    return InboxActions(inbox, replies, clock, on_close=sends.close)
