"""``InboxSync``: read what arrived on every channel since its cursor, into the ledger.

For each channel whose adapter declares ``Capability.CONVERSATIONS``, for each of its
``conversation_facts.sources``: pages are read from the stored cursor (our published posts of
that channel passed as ``post_remote_ids``; ``live_chat`` only for a session on air, with the
chat id from its live host's details), each page stored with its cursor in one transaction
(``InboxLedger.store_page``), with what it cost. New messages get ``is_question`` and FAQ
suggestions. A network that bills reads (X) stops being polled, with a warning, before the
month's budget (``inbox.x_read_budget_usd``) would be exceeded. An error on one channel is
reported and the others go on; ``RateLimited`` sets the source's next sync after its reset.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cm_toolkit.channels.base import (
    Capability,
    ConversationFacts,
    ConversationPage,
    ConversationQuery,
    IncomingMessage,
)
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.channels.registry import channel_class
from cm_toolkit.clock import Clock
from cm_toolkit.errors import CmError, RateLimited
from cm_toolkit.inbox import Faq
from cm_toolkit.inbox.faq_text import guess_language
from cm_toolkit.inbox.faq_text import is_question as faq_is_question
from cm_toolkit.ledger.inbox import Annotation, InboxLedger, ReadCost
from cm_toolkit.ledger.sync_reads import live_chat_on_air, recent_published
from cm_toolkit.workspace.models import Network, Workspace

log = logging.getLogger("cm.inbox")

MAX_PAGES = 20  # per source and sync: a backlog is read over several syncs
FIRST_SYNC = timedelta(days=30)  # how far back a source without a cursor starts
RECENT_POSTS = 200  # our latest published posts whose comments are read
LIVE_CHAT = "live_chat"



def is_question(text: str, language: str | None = None) -> bool:
    """The FAQ's rule (a '?' or an interrogative start in FR/EN), @mentions set aside."""
    return faq_is_question(re.sub(r"@\w+", " ", text), language)


def annotate(message: IncomingMessage, faq: Faq | None) -> Annotation:
    """``is_question`` and the FAQ's suggestions, stored as ``{"faq": [[id, score, title,
    auto], ...]}`` (best first) in ``inbox_messages.suggestions``."""
    if message.from_us:
        return Annotation()
    language = message.language or guess_language(message.text)
    suggestions = None
    if faq is not None:
        found = faq.suggest(message.text, language=language)
        suggestions = {"faq": [[s.faq_id, round(s.score, 4), s.title, s.auto] for s in found]}
    return Annotation(is_question(message.text, language), suggestions, language)


@dataclass
class SourceReport:
    """What one sync of one (channel, source) did: for ``cm inbox sync`` and the logs."""

    channel_id: str
    network: Network
    source: str
    new: int = 0
    known: int = 0
    pages: int = 0
    items: int = 0
    units: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    warning: str | None = None
    skipped: str | None = None  # not read this time, and why (not due, not on air)
    new_ids: tuple[int, ...] = ()


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class InboxSync:
    def __init__(self, *, inbox: InboxLedger, channels: ChannelSource, clock: Clock,
                 workspace: Workspace, faq: Faq | None = None, max_pages: int = MAX_PAGES,
                 stopping: Callable[[], bool] = lambda: False) -> None:
        self.inbox = inbox
        # ``cm run`` is stopping: no further page is read (a read of many sources on a slow
        # network must not hold SIGTERM for minutes); the cursor kept says where to go on
        self.stopping = stopping
        self.channels = channels
        self.clock = clock
        self.workspace = workspace
        self.faq = faq
        self.max_pages = max_pages
        self.settings = workspace.schedules.inbox

    def conversation_channels(self) -> list[tuple[str, Network, ConversationFacts]]:
        """The workspace's channels that can read conversations (from adapter class data)."""
        found = []
        for channel_id, channel_file in sorted(self.workspace.channels.items()):
            try:
                cls = channel_class(channel_file.network)
            except CmError:
                continue
            facts = cls.conversation_facts
            if Capability.CONVERSATIONS in cls.capabilities and facts is not None:
                found.append((channel_id, channel_file.network, facts))
        return found

    def sync(self, *, networks: frozenset[Network] = frozenset(),
             channel_ids: frozenset[str] = frozenset(), only_due: bool = False,
             sources: frozenset[str] = frozenset()) -> list[SourceReport]:
        """Sync every conversation channel (or the ones asked); one report per source."""
        reports: list[SourceReport] = []
        for channel_id, network, facts in self.conversation_channels():
            if (networks and network not in networks) or (channel_ids
                                                          and channel_id not in channel_ids):
                continue
            for source in facts.sources:
                if sources and source not in sources:
                    continue
                if self.stopping():
                    return reports
                reports.append(self.sync_source(channel_id, network, facts, source,
                                                only_due=only_due))
        return reports

    def cadence(self, network: Network, facts: ConversationFacts, source: str) -> timedelta:
        if source == LIVE_CHAT:
            return self.settings.live_chat
        wanted = self.settings.sync.get(network, timedelta(minutes=15))
        return max(wanted, facts.min_poll_interval)

    def sync_source(self, channel_id: str, network: Network, facts: ConversationFacts,
                    source: str, *, only_due: bool = False) -> SourceReport:
        report = SourceReport(channel_id, network, source)
        now = self.clock.now()
        stored = self.inbox.cursor(channel_id, source)
        if stored is not None and stored.next_sync_at is not None and stored.next_sync_at > now:
            report.skipped = f"waiting until {stored.next_sync_at:%Y-%m-%d %H:%M} UTC"
            return report
        if only_due and stored is not None and stored.last_sync_at is not None \
                and stored.last_sync_at + self.cadence(network, facts, source) > now:
            report.skipped = "not due"
            return report
        cursor = stored.cursor if stored is not None else None
        live_chat_id = session_id = None
        if source == LIVE_CHAT:
            on_air = self.live_chat_on_air(channel_id, now)
            if on_air is None:
                report.skipped = "no live session on air"
                return report
            live_chat_id, session_id = on_air
            # one cursor row per source: it remembers which chat it belongs to
            chat, _, token = (cursor or "").partition(" ")
            cursor = token or None if chat == live_chat_id else None
        posts = self.published_posts(channel_id)
        since = now - min(FIRST_SYNC, self.settings.retention)
        try:
            while report.pages < self.max_pages and not self.stopping():
                query = ConversationQuery(source=source, cursor=cursor, since=since,
                                          post_remote_ids=posts, live_chat_id=live_chat_id)
                warning = self._over_budget(network, facts, source, query)
                if warning is not None:
                    report.warning = warning
                    log.warning("%s %s: %s", channel_id, source, warning)
                    break
                # a replay clock stands still during one page's calls: a session refreshed
                # for the read is not already expired when the read is sent again
                with self.channels.using(channel_id) as channel, self.clock.hold():
                    page = channel.conversations(query)
                cursor = self._store(report, facts, page, live_chat_id, session_id,
                                     stored_cursor=cursor)
                if not page.more:
                    break
        except RateLimited as error:
            until = error.reset_at or self.clock.now() + self.cadence(network, facts, source)
            report.error = f"rate limited until {until:%Y-%m-%d %H:%M:%S} UTC: {error}"
            self.inbox.store_page(channel_id, network, source, [], self.clock.now(),
                                  cursor=None, next_sync_at=until)
        except CmError as error:
            report.error = str(error)
        except Exception as error:  # a bug on one channel: the others go on
            log.exception("%s %s: unexpected error while syncing", channel_id, source)
            report.error = f"unexpected {type(error).__name__} (see the log)"
        if report.error:
            log.warning("%s %s: sync failed: %s", channel_id, source, report.error)
        elif report.new:
            log.info("%s %s: %d new message(s)", channel_id, source, report.new)
        return report

    def _store(self, report: SourceReport, facts: ConversationFacts, page: ConversationPage,
               live_chat_id: str | None, session_id: str | None, *,
               stored_cursor: str | None) -> str | None:
        now = self.clock.now()
        per_item = self.item_cost(facts, report.source)
        read = ReadCost(items=page.items_read, units=page.units,
                        cost_usd=round(page.items_read * per_item, 6))
        cursor = page.cursor if page.cursor is not None else stored_cursor
        kept = f"{live_chat_id} {cursor or ''}" if live_chat_id is not None else cursor
        next_sync = now + page.poll_after if page.poll_after else None
        result = self.inbox.store_page(
            report.channel_id, report.network, report.source, page.messages, now, cursor=kept,
            next_sync_at=next_sync, read=read, annotate=self.annotate,
            session_id=session_id)
        report.pages += 1
        report.new += len(result.new_ids)
        report.known += result.already_known
        report.items += read.items
        report.units += read.units
        report.cost_usd += read.cost_usd
        report.new_ids += tuple(result.new_ids)
        return cursor

    def annotate(self, message: IncomingMessage) -> Annotation:
        return annotate(message, self.faq)

    # -- what to read ------------------------------------------------------------------------

    def published_posts(self, channel_id: str) -> tuple[str, ...]:
        """Remote ids of our latest published posts on the channel, newest first."""
        return recent_published(self.inbox.ledger, channel_id, RECENT_POSTS)

    def live_chat_on_air(self, channel_id: str, now: datetime) -> tuple[str, str] | None:
        """(chat id, session id) of a live session hosted on the channel and on air now."""
        return live_chat_on_air(self.inbox.ledger, channel_id, now)

    # -- what reading costs ------------------------------------------------------------------

    @staticmethod
    def item_cost(facts: ConversationFacts, source: str) -> float:
        """Per message returned: X bills mentions of the owner's account as owned reads."""
        if source == "mentions" and facts.owned_read_cost_usd is not None:
            return facts.owned_read_cost_usd
        return facts.read_cost_usd

    def _over_budget(self, network: Network, facts: ConversationFacts, source: str,
                     query: ConversationQuery) -> str | None:
        per_item = self.item_cost(facts, source)
        if per_item <= 0:
            return None
        budget = self.settings.x_read_budget_usd
        spent = self.inbox.read_spend(network, month_start(self.clock.now())).cost_usd
        next_call = query.max_items * per_item
        if spent + next_call > budget:
            return (f"{network} reads stopped: ${spent:.2f} spent this month, the next "
                    f"read may cost ${next_call:.2f}, the budget is ${budget:.2f} "
                    "(raise inbox.x_read_budget_usd in schedules.yaml, or wait for next month)")
        return None
