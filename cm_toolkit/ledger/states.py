"""Delivery states and the transitions allowed between them.

::

    planned ──claim──> sending ──> published          (final)
       │                  ├──────> retry_wait ──claim──> sending
       │                  ├──────> failed             (a person may re-plan it)
       │                  ├──────> awaiting_done      (manual channel: a task for a person)
       │                  └──────> unknown            (lease expired, or no answer came back)
       ├──> missed      (its grace passed before it could be sent)
       └──> cancelled   (removed from the workspace, or cancelled by a person)

    sending    -> planned | retry_wait (recovery only: its worker died before the request
                  left, as its in-flight file shows; sending/inflight.py)
    retry_wait -> sending | failed | cancelled | planned (apply: rescheduled)
    unknown    -> published (a person found it online) | planned (a person resends) | cancelled
    failed     -> planned (a person retries after fixing the cause) | cancelled
    missed     -> planned (apply: moved to a new time; a person) | cancelled
    cancelled  -> planned (apply: the item is back in the workspace, unless a person held it)
    awaiting_done -> published (``cm done``: the person posted it) | cancelled

``unknown`` is never left automatically: the request may have been published, and a duplicate
post is worse than a late one. ``published`` is final.
"""

from __future__ import annotations

import enum


class DeliveryState(enum.Enum):
    """Stored in the ledger by its lowercase name (the value)."""

    PLANNED = "planned"
    SENDING = "sending"
    PUBLISHED = "published"
    RETRY_WAIT = "retry_wait"
    FAILED = "failed"
    UNKNOWN = "unknown"
    MISSED = "missed"
    CANCELLED = "cancelled"
    AWAITING_DONE = "awaiting_done"  # a manual channel's ready-to-paste task is with a person


S = DeliveryState

ALLOWED_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    S.PLANNED: frozenset({S.SENDING, S.MISSED, S.CANCELLED}),
    S.SENDING: frozenset({S.PUBLISHED, S.RETRY_WAIT, S.FAILED, S.UNKNOWN, S.AWAITING_DONE,
                          S.PLANNED}),  # -> planned: Ledger.release_unsent only
    S.AWAITING_DONE: frozenset({S.PUBLISHED, S.CANCELLED}),
    S.RETRY_WAIT: frozenset({S.SENDING, S.FAILED, S.CANCELLED, S.PLANNED}),
    S.UNKNOWN: frozenset({S.PUBLISHED, S.PLANNED, S.CANCELLED}),
    S.FAILED: frozenset({S.PLANNED, S.CANCELLED}),
    S.MISSED: frozenset({S.PLANNED, S.CANCELLED}),
    S.CANCELLED: frozenset({S.PLANNED}),
    S.PUBLISHED: frozenset(),
}

CLAIMABLE: frozenset[DeliveryState] = frozenset({S.PLANNED, S.RETRY_WAIT})
"""States a worker may claim (compare-and-set to ``sending``)."""

NOT_STARTED: frozenset[DeliveryState] = frozenset({S.PLANNED, S.RETRY_WAIT})
"""States ``apply`` may change or cancel: nothing has left for the network yet."""

OUTCOMES: frozenset[DeliveryState] = frozenset(
    {S.PUBLISHED, S.RETRY_WAIT, S.FAILED, S.UNKNOWN, S.AWAITING_DONE}
)
"""States a ``sending`` delivery may end in (``record_outcome``)."""


def can_transition(source: DeliveryState, target: DeliveryState) -> bool:
    return target in ALLOWED_TRANSITIONS[source]


class EventKind(enum.Enum):
    """What an ``events`` row records."""

    PLANNED = "planned"  # apply created the delivery
    CHANGED = "changed"  # apply changed its due time and/or content
    TEXT = "text"  # cm apply recorded the text its templates render now (ledger/texts.py)
    REPLANNED = "replanned"  # apply brought a cancelled/missed delivery back
    CANCELLED = "cancelled"  # apply: removed from the workspace
    CLAIMED = "claimed"  # a worker took it (-> sending)
    OUTCOME = "outcome"  # the send ended (published, retry_wait, failed, unknown)
    LEASE_EXPIRED = "lease_expired"  # the worker vanished while sending (-> unknown)
    RECOVERED = "recovered"  # the worker died before its request left (-> planned/retry_wait)
    MISSED = "missed"  # grace passed
    RESOLVED = "resolved"  # a person decided (unknown/failed/missed -> ...)


class MessageState(enum.Enum):
    """Where an incoming message stands in the inbox (stored by its lowercase name).

    ``new`` (just synced, nobody looked) -> ``open`` (seen, assigned or being handled) ->
    ``answered`` (a reply reached the network, or a person answered elsewhere) | ``closed``
    (nothing to answer) | ``ignored`` (spam, off-topic). ``reopen`` brings any of the last three
    back to ``open``. A new message in the same conversation does not reopen the others.
    """

    NEW = "new"
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    IGNORED = "ignored"


ACTIONABLE: frozenset[MessageState] = frozenset({MessageState.NEW, MessageState.OPEN})
"""Messages the inbox lists by default: someone still has to do something."""


class InboxEventKind(enum.Enum):
    """What an ``inbox_events`` row records (every change of a message or a reply)."""

    RECEIVED = "received"  # a sync stored the message
    STATE = "state"  # a person or the engine changed the message's state
    ASSIGNED = "assigned"
    REPLY_REQUESTED = "reply_requested"  # a reply row was created (planned)
    REPLY_CLAIMED = "reply_claimed"  # planned/retry_wait -> sending
    REPLY_OUTCOME = "reply_outcome"  # sending -> published | retry_wait | failed | unknown
    REPLY_RESOLVED = "reply_resolved"  # a person decided on an unknown reply
    AUTO_ANSWERED = "auto_answered"  # an FAQ entry with auto: true answered it
    PURGED = "purged"  # retention removed the message's text and author
