"""The publisher: one due delivery, claimed, sent once, its outcome recorded.

The order of the steps is what makes a crash at any line safe:

1. read the delivery; not claimable (published, sending elsewhere, cancelled...) -> nothing.
2. grace closed -> ``missed`` (reported). Too early -> the alarm is moved.
3. an announcement whose live session has no link yet -> wait (never announce without a link).
4. render (a template error is recorded as ``failed`` with file:line; a render over its time or
   size limit is a template error; a render stopped because ``cm run`` stops claims nothing).
5. pacing: spacing per account and network budgets -> the alarm is moved, nothing changes.
6. **claim**: one compare-and-set ``planned|retry_wait -> sending`` with a lease. From here a
   crash leaves ``sending``; at restart it becomes ``unknown`` (never re-sent automatically),
   unless this process's in-flight file shows its request had not started (then it waits
   again: ``sending/inflight.py``).
7. call the adapter. ``OutcomeUnknown`` (no answer to a create call) -> ``unknown``; retryable
   errors -> ``retry_wait`` (not before the network's reset, within the grace window) else
   ``failed``; other errors -> ``failed`` with the network's words.
8. record the outcome (compare-and-set on the claim) and notify on failed / unknown / missed.
"""

from __future__ import annotations

import enum
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from cm_toolkit.channels.base import Capability
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.clock import Clock
from cm_toolkit.errors import ChannelError, CmError, LedgerError, OutcomeUnknown, RateLimited
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import CLAIMABLE, DeliveryState, EventKind
from cm_toolkit.planning.models import DeliveryKind, PlannedDelivery
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.scheduler.live import LiveSessions
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.scheduler.pacing import Pacing
from cm_toolkit.sending.inflight import InflightLog
from cm_toolkit.sending.retry import RetryPolicy
from cm_toolkit.templates.limits import RenderCancelled
from cm_toolkit.workspace.models import Network

log = logging.getLogger("cm.publisher")

LINK_WAIT = timedelta(minutes=1)
RECORD_PATIENCE = 120.0  # seconds an outcome waits for the database to come back


class Step(enum.Enum):
    """What one run of the publisher did with a delivery."""

    PUBLISHED = "published"
    AWAITING_DONE = "awaiting_done"  # a manual channel's task is with a person
    RETRY = "retry_wait"
    FAILED = "failed"
    UNKNOWN = "unknown"
    MISSED = "missed"
    DEFERRED = "deferred"  # not now: run again at ``at``
    SKIPPED = "skipped"  # nothing to do (not claimable, claimed elsewhere, not in the workspace)


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    step: Step
    at: datetime | None = None  # when to run again (DEFERRED, RETRY)
    detail: str = ""


class Publisher:
    def __init__(
        self,
        *,
        ledger: Ledger,
        view: Callable[[], WorkspaceView],
        channels: ChannelSource,
        clock: Clock,
        worker_id: str,
        pacer: Pacing,
        retry: RetryPolicy | None = None,
        notifier: Notifier | None = None,
        lease: timedelta = timedelta(minutes=10),
        prepare_ahead: timedelta = timedelta(0),
        inflight: InflightLog | None = None,
    ) -> None:
        """``prepare_ahead``: how early a delivery may be read, rendered and claimed; the
        request itself still waits for its instant. With the database work done beforehand
        the request leaves on time (real clocks only: a replay clock may stand still).
        ``inflight``: this process's record of requests started (``sending/inflight.py``),
        so that a crash before the request lets recovery send the delivery after all."""
        self.prepare_ahead = prepare_ahead
        self.inflight = inflight
        self.ledger = ledger
        self.view = view
        self.channels = channels
        self.clock = clock
        self.worker_id = worker_id
        self.pacer = pacer
        self.retry = retry or RetryPolicy()
        self.notifier = notifier
        self.lease = lease
        self.live = LiveSessions(ledger)

    def run(self, delivery_id: int) -> Attempt:
        row = self.ledger.snapshot(delivery_id)
        if row is None or row.state not in CLAIMABLE:
            return Attempt(delivery_id, Step.SKIPPED, detail="not waiting to be sent")
        now = self.clock.now()
        deadline = row.due_at + timedelta(seconds=row.grace_seconds)
        when = row.next_attempt_at or row.due_at
        if when - self.prepare_ahead > now:
            return Attempt(delivery_id, Step.DEFERRED, when)
        view = self.view()
        planned = view.by_key.get((row.post_key, row.channel_id, row.occurrence))
        if planned is None:
            # removed from the workspace: the next apply cancels it
            return Attempt(delivery_id, Step.SKIPPED, detail="no longer in the workspace")

        links = self.live.links_for(planned.session_id) if planned.session_id else {}
        needs_link = planned.kind is DeliveryKind.ANNOUNCEMENT and planned.session_id and not links
        if now > deadline:
            reason = "its grace window closed before it could be sent"
            if needs_link:
                reason = self._no_link_reason(planned, reason)
            return self._missed(delivery_id, row.state, now, reason)
        if needs_link:
            return self._wait_for_link(delivery_id, planned, now, deadline)

        rendered_text = None
        post = None
        problem = None
        if planned.kind is not DeliveryKind.LIVE_SETUP:
            try:
                post = view.render(planned, delivery_id, links, at=row.due_at)
                rendered_text = post.text
            except CmError as error:
                problem = str(error)
            except RenderCancelled:  # cm run is stopping: nothing claimed, rendered next start
                log.info("delivery %s: render stopped, cm run is stopping", delivery_id)
                return Attempt(delivery_id, Step.SKIPPED, detail="cm run is stopping")

        # a delivery whose text cannot be made sends nothing: it takes no slot from the
        # account's next posts (a burst of broken ones would leave the good ones missed)
        if problem is None:
            wait = self.pacer.reserve(row.channel_id, planned.network, max(now, when),
                                      delivery_id)
            if wait is not None:
                if wait > deadline:
                    return self._missed(
                        delivery_id, row.state, now,
                        "spacing and network budget left no slot inside its grace window",
                    )
                return Attempt(delivery_id, Step.DEFERRED, wait, "pacing")

        # the times were checked above on this very version: the claim checks them again and
        # is one compare-and-set on it
        if not self.ledger.claim(row, self.worker_id, now, self.lease, text=rendered_text,
                                 early=self.prepare_ahead):
            if problem is None:
                self.pacer.release(row.channel_id, now, delivery_id)
            return Attempt(delivery_id, Step.SKIPPED, detail="claimed by another worker")

        # --- claimed: from here on, a crash leaves 'sending' -> 'unknown' at restart ---------
        if problem is not None:
            return self._record(delivery_id, DeliveryState.FAILED, error=problem,
                                rendered_text=rendered_text)
        remote_id: str
        remote_url: str | None
        manual = False
        try:
            with self.channels.using(row.channel_id) as channel:
                manual = Capability.MANUAL in channel.capabilities
                self._wait_until(when)
                self._wait_turn(row.channel_id, planned.network, delivery_id)
                if self.inflight is not None:  # from here the request may reach the network
                    self.inflight.started(delivery_id)
                try:
                    if planned.kind is DeliveryKind.LIVE_SETUP:
                        result = channel.schedule_live(view.live_request(planned))
                        self.live.record_host(planned, result, self.clock.now())
                        remote_id, remote_url = result.remote_id, result.url
                    else:
                        assert post is not None
                        published = channel.publish(post)
                        remote_id, remote_url = published.remote_id, published.url
                finally:
                    self.pacer.sent(row.channel_id, self.clock.now(), delivery_id)
        except OutcomeUnknown as error:
            return self._record(delivery_id, DeliveryState.UNKNOWN, error=str(error),
                                rendered_text=rendered_text)
        except ChannelError as error:
            if error.retryable:
                reset_at = error.reset_at if isinstance(error, RateLimited) else None
                retry_at = self.retry.next_attempt(
                    row.attempts + 1, self.clock.now(), deadline, reset_at
                )
                if retry_at is not None:
                    return self._record(delivery_id, DeliveryState.RETRY_WAIT, error=str(error),
                                        rendered_text=rendered_text, retry_at=retry_at)
                return self._record(delivery_id, DeliveryState.FAILED,
                                    error=f"{error} (gave up: the grace window closed)",
                                    rendered_text=rendered_text)
            return self._record(delivery_id, DeliveryState.FAILED, error=str(error),
                                rendered_text=rendered_text)
        except CmError as error:  # e.g. a channel that cannot be built (missing secret)
            return self._record(delivery_id, DeliveryState.FAILED, error=str(error),
                                rendered_text=rendered_text)
        except Exception as error:  # noqa: BLE001 (a bug: we cannot tell whether the request left)
            log.error("unexpected error publishing delivery %s:\n%s", delivery_id,
                      traceback.format_exc())
            return self._record(delivery_id, DeliveryState.UNKNOWN,
                                error=f"unexpected {type(error).__name__}: {error}",
                                rendered_text=rendered_text)
        # a manual channel handed a task to a person: published when they say so (cm done)
        outcome = DeliveryState.AWAITING_DONE if manual else DeliveryState.PUBLISHED
        return self._record(delivery_id, outcome, remote_id=remote_id,
                            remote_url=remote_url, rendered_text=rendered_text)

    def _wait_until(self, when: datetime) -> None:
        """A delivery prepared ahead of its instant leaves at its instant, not before."""
        early = (when - self.clock.now()).total_seconds()
        if early > 0:
            time.sleep(early)

    def _wait_turn(self, channel_id: str, network: Network, delivery_id: int) -> None:
        """Hold the request until spacing and budget allow it where the network counts them.

        The wait is the lag of the previous request behind its own slot (milliseconds under
        load, none otherwise): ``reserve`` already moved the alarm for anything longer. In a
        cluster it includes another worker's request on the account still waiting for its
        answer. The pacer is asked again after each wait, until it says go (which records the
        request as leaving); a clock that stood still through the wait (a test's manual clock)
        ends it.
        """
        asked: datetime | None = None
        while True:
            now = self.clock.now()
            until = self.pacer.before_send(channel_id, network, now, delivery_id)
            if until is None or (asked is not None and until <= asked):
                return
            asked = until
            wait = self.clock.wall_time(until) - self.clock.wall_time(now)
            time.sleep(max(wait.total_seconds(), 0.0))

    # -- outcomes ---------------------------------------------------------------------------

    def _record(
        self,
        delivery_id: int,
        outcome: DeliveryState,
        *,
        error: str | None = None,
        remote_id: str | None = None,
        remote_url: str | None = None,
        rendered_text: str | None = None,
        retry_at: datetime | None = None,
    ) -> Attempt:
        now = self.clock.now()
        try:
            self._record_outcome_surely(
                delivery_id, outcome, now, remote_id=remote_id, remote_url=remote_url,
                rendered_text=rendered_text, error=error, retry_at=retry_at)
        except LedgerError as exc:
            # our claim was taken from us (lease expired and reviewed meanwhile): say so loudly
            log.error("delivery %s: outcome %s not recorded: %s", delivery_id, outcome.value, exc)
            return Attempt(delivery_id, Step.UNKNOWN, detail=str(exc))
        step = Step(outcome.value)
        log.info("delivery %s -> %s%s", delivery_id, outcome.value,
                 f" ({error})" if error else f" {remote_url or remote_id or ''}")
        if outcome in (DeliveryState.FAILED, DeliveryState.UNKNOWN) and self.notifier:
            self.notifier.notify(delivery_id, outcome.value, error or "")
        return Attempt(delivery_id, step, retry_at, error or remote_url or remote_id or "")

    def _record_outcome_surely(self, delivery_id: int, outcome: DeliveryState, now: datetime,
                               **values: Any) -> None:
        """``record_outcome``, tried again while the database is unreachable (a server restart):
        the request has left, and only this process knows how it ended. The claim's lease keeps
        every other worker off meanwhile; past it, the delivery becomes ``unknown`` anyway."""
        waited = 0.0
        while True:
            try:
                self.ledger.record_outcome(delivery_id, self.worker_id, outcome, now, **values)
                return
            except OperationalError as exc:
                if waited >= min(self.lease.total_seconds() / 2, RECORD_PATIENCE):
                    raise
                pause = min(5.0, 0.5 + waited / 2)  # 0.5 s, then longer, at most 5 s
                log.warning("delivery %s: outcome %s not recorded yet (%s); trying again",
                            delivery_id, outcome.value, str(exc.orig).splitlines()[0]
                            if exc.orig else exc)
                time.sleep(pause)
                waited += pause

    def _missed(self, delivery_id: int, state: DeliveryState, now: datetime, reason: str) -> Attempt:
        if state is not DeliveryState.PLANNED:
            # a retry that ran out of time: retry_wait -> failed (missed is for never-tried)
            target, kind = DeliveryState.FAILED, EventKind.OUTCOME
        else:
            target, kind = DeliveryState.MISSED, EventKind.MISSED
        if not self.ledger.transition(delivery_id, target, now, kind, {"reason": reason},
                                      last_error=reason):
            return Attempt(delivery_id, Step.SKIPPED, detail="changed meanwhile")
        log.warning("delivery %s -> %s (%s)", delivery_id, target.value, reason)
        if self.notifier:
            self.notifier.notify(delivery_id, target.value, reason)
        return Attempt(delivery_id, Step(target.value), detail=reason)

    def _no_link_reason(self, planned: PlannedDelivery, closed: str) -> str:
        """Why an announcement without its link is missed: its session's creation did not
        succeed (a person must look), or it was simply not done by then (the grace window
        closed: cm run was not running, or the session is created after this reminder)."""
        assert planned.session_id is not None
        session_id = planned.session_id
        states = self.live.setup_states(session_id)
        stuck = {channel: state for channel, state in states.items()
                 if state not in (DeliveryState.PLANNED, DeliveryState.PUBLISHED)}
        if stuck:
            shown = ", ".join(f"{channel} {state.value}" for channel, state in sorted(
                stuck.items()))
            return (f"live session {session_id!r} has no link: its creation did not succeed "
                    f"({shown}; see cm review)")
        return (f"{closed}: live session {session_id!r} was not created by then (its creation "
                "is still planned: was cm run running? is create_before shorter than this "
                "reminder's time before the start?)")

    def _wait_for_link(
        self, delivery_id: int, planned: PlannedDelivery, now: datetime, deadline: datetime
    ) -> Attempt:
        reason = f"waiting for live session {planned.session_id!r} to be created (no link yet)"
        # look again in a minute, and once more right at the deadline (then: missed, reported)
        retry_at = min(now + LINK_WAIT, deadline + timedelta(microseconds=1))
        return Attempt(delivery_id, Step.DEFERRED, retry_at, reason)
