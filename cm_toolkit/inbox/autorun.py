"""``cm run``'s inbox part: syncs on their cadence, auto answers, replies waiting, retention.

One ``tick`` (the runner calls it every resync, one at a time):

1. sync every source that is due (``inbox.sync`` per network; live chat only while a session
   is on air, at ``inbox.live_chat`` or the network's own interval);
2. auto answers (``inbox.auto_answers``): each new message without a reply whose best FAQ
   suggestion is marked ``auto`` gets ``ReplyService.request(..., auto=True)``; the ledger
   refuses a second reply to a message, so it happens once, even across restarts; a live
   chat's message only while its chat is on air (an ended chat refuses it: 403 liveChatEnded);
3. send the replies waiting (planned, or retry_wait whose time came: a ``cm inbox resolve
   --resend``, a throttled reply, a ``cm inbox reply`` killed before its request left);
4. replies whose lease ended -> ``unknown``; once a day, retention (``inbox.retention``).

At start, ``recover`` settles the replies left ``sending`` by dead processes of this machine
(``inbox/replies.py``). Log lines carry ids only, never a message's text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.clock import Clock
from cm_toolkit.errors import CmError
from cm_toolkit.inbox import Faq, load_faq
from cm_toolkit.inbox.replies import ReplyService, recover_reply_orphans
from cm_toolkit.inbox.sync import LIVE_CHAT, InboxSync
from cm_toolkit.ledger.inbox import InboxLedger
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.sync_reads import live_chat_on_air
from cm_toolkit.sending.inflight import InflightLog
from cm_toolkit.workspace.models import Workspace

log = logging.getLogger("cm.inbox")

AUTO_LOOKBACK = timedelta(days=2)  # new messages older than this are left to people
PURGE_EVERY = timedelta(days=1)
LIVE_ALARM_EVERY = timedelta(minutes=10)


class InboxJob:
    def __init__(self, *, ledger: Ledger, channels: ChannelSource, clock: Clock,
                 workspace: Callable[[], Workspace], worker_id: str, folder: Path,
                 lease: timedelta = timedelta(minutes=10)) -> None:
        self.inbox = InboxLedger(ledger)
        self.channels = channels
        self.clock = clock
        self.workspace = workspace
        self.worker_id = worker_id
        self.folder = folder
        self.lease = lease
        self._sends: InflightLog | None = None
        self._faq: tuple[Workspace, Faq | None] | None = None
        self._auto_refused: set[int] = set()  # tried once in this process: not every tick
        self._purged_at: datetime | None = None
        self._stop = threading.Event()

    def stop(self) -> None:
        """``cm run`` is stopping: a tick in progress ends at its next step (between two pages
        read, two replies sent); the replies left ``planned`` go at the next start."""
        self._stop.set()

    def recover(self) -> None:
        """Before the first claim: orphans of dead processes, then this process's file."""
        recover_reply_orphans(self.inbox, self.worker_id, self.clock.now(), self.folder)
        try:
            self._sends = InflightLog(self.folder, self.worker_id)
        except OSError as error:
            log.warning("no in-flight file for replies (%s): a crash leaves them unknown", error)

    def close(self) -> None:
        if self._sends is not None:
            self._sends.close()
            self._sends = None

    def faq(self, workspace: Workspace) -> Faq | None:
        """The FAQ book, loaded again when the workspace was (its files changed)."""
        if self._faq is None or self._faq[0] is not workspace:
            try:
                self._faq = (workspace, load_faq(workspace.root))
            except CmError as error:
                log.warning("the FAQ cannot be used: %s", error)
                self._faq = (workspace, None)
        return self._faq[1]

    def service(self, faq: Faq | None) -> ReplyService:
        return ReplyService(ledger=self.inbox, channels=self.channels, clock=self.clock,
                            worker_id=self.worker_id, faq=faq, inflight=self._sends,
                            lease=self.lease)

    def live_instants(self, now: datetime) -> list[datetime]:
        """Instants inside the live sessions to come (a minute after the start, then every
        ten minutes): ``cm run`` sets alarms there, so that a replay clock racing through a
        session (``cm demo``) still reads its chat while it is on air."""
        found = []
        for campaign in self.workspace().schedules.campaigns:
            for live in campaign.live_sessions:
                at = live.start + timedelta(minutes=1)
                while at < live.start + live.duration:
                    if at > now:
                        found.append(at)
                    at += LIVE_ALARM_EVERY
        return sorted(found)

    def tick(self) -> None:
        try:
            self._tick()
        except Exception:  # keep cm run alive; the next tick tries again
            log.exception("inbox tick failed")

    def _tick(self) -> None:
        workspace = self.workspace()
        settings = workspace.schedules.inbox
        faq = self.faq(workspace)
        InboxSync(inbox=self.inbox, channels=self.channels, clock=self.clock,
                  workspace=workspace, faq=faq, stopping=self._stop.is_set).sync(only_due=True)
        if self._stop.is_set():
            return
        replies = self.service(faq)
        # The syncs let a replay clock run (their instant does not matter); replies do not: on
        # `cm demo`'s clock a token lives a few real milliseconds and a chat ends in a second,
        # so a reply sent while the clock runs fails where it would succeed in real time.
        with self.clock.hold():
            if settings.auto_answers and faq is not None:
                self.auto_answer(replies)
            for reply_id in self.inbox.expire_reply_leases(self.clock.now()):
                log.warning("reply %s -> unknown (its worker stopped while sending)", reply_id)
            for reply_id in self.inbox.replies_waiting(self.clock.now()):
                if self._stop.is_set():
                    return
                replies.send(reply_id)
        now = self.clock.now()
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            count = self.inbox.purge(now - settings.retention, now)
            self._purged_at = now
            if count:
                log.info("retention: %d message(s) purged", count)

    def auto_answer(self, replies: ReplyService) -> list[int]:
        """Request an auto answer for each new message whose best suggestion allows it."""
        requested = []
        now = self.clock.now()
        for message in self.inbox.unanswered_since(now - AUTO_LOOKBACK):
            found = (message.suggestions or {}).get("faq") or []
            if not found or message.id in self._auto_refused:
                continue
            if message.source == LIVE_CHAT and not self.chat_on_air(message, now):
                continue  # its chat ended: the answer would fail; people answer elsewhere
            best = found[0]
            if len(best) < 4 or not best[3]:
                continue
            try:
                reply_id = replies.request(message.id, faq_id=str(best[0]), actor="auto",
                                           auto=True)
            except CmError as error:  # refused (a second reply, the network's rule...)
                self._auto_refused.add(message.id)
                log.info("message %s: no auto answer (%s)", message.id, type(error).__name__)
                continue
            log.info("message %s: auto answer %s with faq %s", message.id, reply_id, best[0])
            requested.append(reply_id)
        return requested

    def chat_on_air(self, message: InboxMessage, now: datetime) -> bool:
        """Whether the live chat a message was written in is still on air."""
        on_air = live_chat_on_air(self.inbox.ledger, message.channel_id, now)
        conversation = self.inbox.conversation(message.conversation_id)
        return on_air is not None and conversation is not None \
            and conversation.thread_remote_id == on_air[0]
