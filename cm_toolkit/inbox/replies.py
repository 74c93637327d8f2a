"""``ReplyService``: an answer to one message, sent exactly like a post.

1. ``request``: the text (``--text``, or an FAQ answer rendered for the message's network),
   addressed to its author where the network does that (X: ``@username ``), checked by the
   network before anything is sent (``validate_reply``: length, X's reply rule; a text the
   account already sent where the network refuses repeats), then a ``planned`` reply row,
   refused when the message already has one that may reach the network (or a published one,
   unless ``again``).
2. ``send``: claim (compare-and-set ``planned|retry_wait -> sending`` with a lease), write the
   in-flight record just before the request, call ``adapter.reply`` once, record the outcome
   on the claim. ``OutcomeUnknown`` -> ``unknown`` (``cm review``), never a second reply;
   retryable errors -> ``retry_wait`` not before the network's reset; others -> ``failed``.
   Published: the message becomes ``answered``.

A crash between claim and outcome leaves ``sending``: ``recover_reply_orphans`` sends it back
to ``planned`` when the in-flight file proves the request never left, else ``unknown``.
Logs carry ids only, never a message's text.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cm_toolkit.channels.base import Capability, MessageKind, ReplyRequest
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.clock import Clock
from cm_toolkit.errors import ChannelError, CmError, InboxError, OutcomeUnknown, RateLimited
from cm_toolkit.inbox import Faq
from cm_toolkit.ledger.inbox import InboxLedger
from cm_toolkit.ledger.models import InboxMessage, InboxReply
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.sending import inflight
from cm_toolkit.sending.inflight import InflightLog
from cm_toolkit.sending.retry import RetryPolicy
from cm_toolkit.sending.worker import died_here

log = logging.getLogger("cm.inbox")

REQUESTER_HOLD = timedelta(minutes=1)
"""``reply_now`` sends its reply itself; ``cm run`` takes it only if the requester died."""
RETRY_WINDOW = timedelta(hours=24)
"""A reply still worth sending this long after it was asked for; later it ``failed``."""


def replies_inflight_folder(workspace_root: Path) -> Path:
    """Replies keep their own in-flight files: reply ids and delivery ids are two series."""
    return workspace_root / ".cm" / "inflight" / "replies"


@dataclass(frozen=True)
class ReplyOutcome:
    reply_id: int
    message_id: int
    state: DeliveryState | None  # None: not sent by this call (claimed elsewhere, not due)
    detail: str = ""
    remote_url: str | None = None
    retry_at: datetime | None = None


class ReplyService:
    def __init__(
        self,
        *,
        ledger: Ledger | InboxLedger,
        channels: ChannelSource,
        clock: Clock,
        worker_id: str,
        faq: Faq | None = None,
        inflight: InflightLog | None = None,
        lease: timedelta = timedelta(minutes=10),
        retry: RetryPolicy | None = None,
    ) -> None:
        self.inbox = ledger if isinstance(ledger, InboxLedger) else InboxLedger(ledger)
        self.channels = channels
        self.clock = clock
        self.worker_id = worker_id
        self.faq = faq
        self.inflight = inflight
        self.lease = lease
        self.retry = retry or RetryPolicy()

    # -- asking --------------------------------------------------------------------------------

    def render(self, message: InboxMessage, *, text: str | None, faq_id: str | None) -> str:
        if (text is None) == (faq_id is None):
            raise InboxError("a reply needs exactly one of --text TEXT or --faq ID",
                             fix="write the answer, or name an FAQ entry (cm inbox show lists "
                             "the suggested ones)")
        if faq_id is not None:
            if self.faq is None:
                raise InboxError(f"no FAQ to answer {faq_id!r} from",
                                 fix="add faq.yaml to the workspace, or reply with --text")
            text = self.faq.render(faq_id, network=message.network,
                                   language=message.language)
        assert text is not None
        if not text.strip():
            raise InboxError("the reply is empty", fix="write the answer's text")
        return text.strip()

    def request(self, message_id: int, *, text: str | None = None, faq_id: str | None = None,
                actor: str, auto: bool = False, again: bool = False,
                hold: timedelta = timedelta(0)) -> int:
        """A ``planned`` reply to one message (its id); ``InboxError`` with the fix when it is
        refused (see the module docstring)."""
        message = self.inbox.message(message_id)
        if message.purged_at is not None:
            raise InboxError(f"message {message_id} was purged (retention)",
                             fix="its text and author are gone: answer on the network")
        body = self.validate(message, self.render(message, text=text, faq_id=faq_id))
        reply_id = self.inbox.create_reply(message_id, body, self.clock.now(), actor,
                                           faq_id=faq_id, auto=auto, again=again, hold=hold)
        log.info("reply %s requested for message %s by %s%s", reply_id, message_id, actor,
                 f" (faq {faq_id})" if faq_id else "")
        return reply_id

    def validate(self, message: InboxMessage, text: str) -> str:
        """The text as it will be sent (addressed to its author where the network does that:
        X's ``@username``), checked against the network's rules before anything is sent; a
        problem is one ``InboxError``."""
        with self.channels.using(message.channel_id) as channel:
            facts = channel.conversation_facts
            if Capability.CONVERSATIONS not in channel.capabilities or facts is None:
                raise InboxError(
                    f"{message.channel_id} cannot answer from cm-toolkit",
                    fix=f"answer on the network itself, then cm inbox answered {message.id}")
            text = facts.addressed(text, message.author_handle)
            network_name = channel.display_name
            problems = channel.validate_reply(self._request_for(message, text, 0))
        if problems:
            first = problems[0]
            raise InboxError(f"{message.channel_id}: {first.message}", fix=first.fix)
        same = self.inbox.reply_with_text(message.channel_id, text) \
            if facts.refuses_repeated_text else None
        if same is not None:  # the network would refuse it (X: 403 duplicate content)
            raise InboxError(
                f"{message.channel_id}: reply {same.id} (to message {same.message_id}) already "
                f"has this text, and {network_name} refuses a text the account "
                "already posted", fix="write this answer differently (--text)")
        return text

    def _request_for(self, message: InboxMessage, text: str, reply_id: int) -> ReplyRequest:
        conversation = self.inbox.conversation(message.conversation_id)
        thread = conversation.thread_remote_id if conversation else message.remote_id
        kind = MessageKind(message.kind)
        return ReplyRequest(
            text=text, message_remote_id=message.remote_id, message_kind=kind,
            thread_remote_id=thread, idempotency_key=f"reply-{reply_id}",
            live_chat_id=thread if kind is MessageKind.LIVE_CHAT else None)

    # -- sending -------------------------------------------------------------------------------

    def reply_now(self, message_id: int, *, text: str | None = None, faq_id: str | None = None,
                  actor: str, auto: bool = False, again: bool = False) -> ReplyOutcome:
        # held for this caller: a running cm run does not take it meanwhile
        reply_id = self.request(message_id, text=text, faq_id=faq_id, actor=actor, auto=auto,
                                again=again, hold=REQUESTER_HOLD)
        return self.send(reply_id, early=True)

    def send(self, reply_id: int, *, early: bool = False) -> ReplyOutcome:
        row = self.inbox.reply(reply_id)
        now = self.clock.now()
        if not self.inbox.claim_reply(reply_id, self.worker_id, now, self.lease, early=early):
            return ReplyOutcome(reply_id, row.message_id, None,
                                f"not sent: it is {self.inbox.reply(reply_id).state.value}")
        # --- claimed: from here on, a crash leaves 'sending' (recovered at the next start) ---
        message = self.inbox.message(row.message_id)
        request = self._request_for(message, row.rendered_text, reply_id)
        try:
            with self.channels.using(row.channel_id) as channel:
                if self.inflight is not None:  # from here the request may reach the network
                    self.inflight.started(reply_id)
                result = channel.reply(request)
        except OutcomeUnknown as error:
            return self._record(row, DeliveryState.UNKNOWN, error=str(error))
        except ChannelError as error:
            if error.retryable:
                reset_at = error.reset_at if isinstance(error, RateLimited) else None
                retry_at = self.retry.next_attempt(row.attempts + 1, self.clock.now(),
                                                   row.created_at + RETRY_WINDOW, reset_at)
                if retry_at is not None:
                    return self._record(row, DeliveryState.RETRY_WAIT, error=str(error),
                                        retry_at=retry_at)
                return self._record(row, DeliveryState.FAILED,
                                    error=f"{error} (gave up after {RETRY_WINDOW})")
            return self._record(row, DeliveryState.FAILED, error=str(error))
        except CmError as error:  # e.g. a channel that cannot be built (a missing secret)
            return self._record(row, DeliveryState.FAILED, error=str(error))
        except Exception as error:  # noqa: BLE001 (a bug: we cannot tell whether it left)
            log.error("unexpected error sending reply %s:\n%s", reply_id, traceback.format_exc())
            return self._record(row, DeliveryState.UNKNOWN,
                                error=f"unexpected {type(error).__name__}: {error}")
        return self._record(row, DeliveryState.PUBLISHED, remote_id=result.remote_id,
                            remote_url=result.url)

    def _record(self, row: InboxReply, outcome: DeliveryState, *, error: str | None = None,
                remote_id: str | None = None, remote_url: str | None = None,
                retry_at: datetime | None = None) -> ReplyOutcome:
        try:
            self.inbox.record_reply_outcome(row.id, self.worker_id, outcome, self.clock.now(),
                                            remote_id=remote_id, remote_url=remote_url,
                                            error=error, retry_at=retry_at)
        except InboxError as exc:
            log.error("reply %s: outcome %s not recorded (claim lost)", row.id, outcome.value)
            return ReplyOutcome(row.id, row.message_id, DeliveryState.UNKNOWN, str(exc))
        log.info("reply %s (message %s) -> %s", row.id, row.message_id, outcome.value)
        return ReplyOutcome(row.id, row.message_id, outcome, error or remote_url or "",
                            remote_url, retry_at)


def recover_reply_orphans(inbox: InboxLedger, worker_id: str, now: datetime,
                          folder: Path) -> list[int]:
    """``sending`` replies of dead processes of this machine (``scheduler/recovery.py`` for
    replies): back to ``planned`` when the dead process's in-flight file proves the request
    never started, else ``unknown`` (it may be online: a person decides)."""
    orphans = [(reply_id, worker) for reply_id, worker in inbox.sending_replies()
               if worker != worker_id and died_here(worker)]
    started = {worker: inflight.started_ids(folder, worker) for _, worker in orphans}
    for reply_id, worker in orphans:
        ids = started[worker]
        if ids is not None and reply_id not in ids and inbox.release_unsent_reply(
                reply_id, worker, now, "its process stopped before the request left"):
            log.info("reply %s -> planned (its process stopped before sending it)", reply_id)
            continue
        if inbox.reply_unknown(reply_id, now, "the process stopped while sending: check the "
                               "network, then cm inbox resolve", worker_id=worker):
            log.warning("reply %s -> unknown (process died while sending)", reply_id)
    inflight.forget_dead(folder, died_here)
    return [reply_id for reply_id, _ in orphans]


@dataclass(frozen=True)
class ReplyReviewItem:
    """A reply that needs a person (``cm review`` lists it beside deliveries)."""

    id: int
    message_id: int
    channel_id: str
    network: str
    state: DeliveryState
    updated_at: datetime
    attempts: int
    last_error: str | None
    rendered_text: str
    remote_url: str | None

    @property
    def what_to_do(self) -> str:
        if self.state is DeliveryState.UNKNOWN:
            return (f"check {self.network} for the reply under message {self.message_id}; then "
                    f"cm inbox resolve {self.id} --published URL | --resend | --drop")
        return f"fix the cause, then cm inbox resolve {self.id} --resend (or --drop)"

    def as_dict(self) -> dict[str, object]:
        return {"reply": True, "id": self.id, "message": self.message_id,
                "channel": self.channel_id, "network": self.network, "state": self.state.value,
                "updated_at": self.updated_at.isoformat(), "attempts": self.attempts,
                "error": self.last_error, "text": self.rendered_text,
                "remote_url": self.remote_url, "what_to_do": self.what_to_do}


def replies_to_review(ledger: Ledger) -> list[ReplyReviewItem]:
    return [ReplyReviewItem(r.id, r.message_id, r.channel_id, r.network, r.state,
                            r.updated_at, r.attempts, r.last_error, r.rendered_text,
                            r.remote_url)
            for r in InboxLedger(ledger).replies_for_review()]
