"""People's decisions on inbox messages (``InboxLedger`` inherits these): close, ignore, reopen,
answered by hand, assign. Each is a compare-and-set on the message's ``version`` with an
``inbox_events`` row in the same transaction; a message changed meanwhile is an ``InboxError``
saying to look again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, update

from cm_toolkit.errors import InboxError
from cm_toolkit.ledger.inbox_replies import _aware, get_row
from cm_toolkit.ledger.models import InboxEvent, InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import InboxEventKind, MessageState

M = MessageState

STATE_TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    M.NEW: frozenset({M.OPEN, M.ANSWERED, M.CLOSED, M.IGNORED}),
    M.OPEN: frozenset({M.ANSWERED, M.CLOSED, M.IGNORED}),
    M.ANSWERED: frozenset({M.OPEN, M.CLOSED, M.IGNORED}),
    M.CLOSED: frozenset({M.OPEN}),
    M.IGNORED: frozenset({M.OPEN}),
}
"""What a person (or the engine) may do with a message: ``reopen`` is ``-> open``."""


class DecisionRows:
    ledger: Ledger

    def message(self, message_id: int) -> InboxMessage:
        return get_row(self.ledger, InboxMessage, message_id,
                       f"there is no inbox message {message_id}",
                       "cm inbox lists the open ones with their ids")

    def set_state(self, message_id: int, target: MessageState, now: datetime, actor: str,
                  *, expected_version: int | None = None) -> InboxMessage:
        """Move a message (close, ignore, reopen, open...): compare-and-set on its version."""
        _aware(now)
        row = self.message(message_id)
        if row.state is target:
            return row
        if target not in STATE_TRANSITIONS[row.state]:
            raise InboxError(f"message {message_id} is {row.state.value}: it cannot become "
                             f"{target.value}", fix=f"cm inbox reopen {message_id} first"
                             if target is not M.OPEN else "it is already open")
        version = expected_version if expected_version is not None else row.version
        values: dict[str, Any] = {"state": target}
        if target is M.ANSWERED and row.first_answered_at is None:
            values["first_answered_at"] = now  # answered on the network itself, by a person
        self._compare_and_set(message_id, version, now, values,
                              InboxEventKind.STATE, actor, row.state.value, target.value)
        return self.message(message_id)

    def assign(self, message_id: int, who: str, now: datetime, actor: str) -> InboxMessage:
        _aware(now)
        row = self.message(message_id)
        values: dict[str, Any] = {"assignee": who}
        target = row.state
        if row.state is M.NEW:  # someone handles it now
            target = values["state"] = M.OPEN
        self._compare_and_set(message_id, row.version, now, values, InboxEventKind.ASSIGNED,
                              actor, row.state.value, target.value, {"assignee": who})
        return self.message(message_id)

    def _compare_and_set(self, message_id: int, version: int, now: datetime,
                         values: dict[str, Any], kind: InboxEventKind, actor: str,
                         from_state: str | None, to_state: str | None,
                         detail: dict[str, Any] | None = None) -> None:
        with self.ledger.write_engine.begin() as connection:
            result = cast(CursorResult[Any], connection.execute(
                update(InboxMessage)
                .where(InboxMessage.id == message_id, InboxMessage.version == version)
                .values(version=InboxMessage.version + 1, updated_at=now, **values)))
            if result.rowcount != 1:
                raise InboxError(f"message {message_id} changed meanwhile",
                                 fix=f"look again with cm inbox show {message_id}")
            connection.execute(insert(InboxEvent).values(
                at=now, message_id=message_id, kind=kind, from_state=from_state,
                to_state=to_state, actor=actor, detail=detail or {}))
