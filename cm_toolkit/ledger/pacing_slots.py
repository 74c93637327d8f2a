"""The ``pacing_slots`` table: the sends granted on each account across a cluster's workers, and
the places in the queue handed to deliveries told to wait (``scheduler/global_pacing.py`` decides;
this module holds its statements). PostgreSQL only (advisory locks).

``account_slots`` opens one transaction holding an advisory lock on one account: two workers
asking for the same account at once are served one after the other, and everything read and
written through the ``AccountSlots`` it yields is one atomic step.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, text

_LOCK_SPACE = 0x7061  # "pa": first half of the advisory lock key; the account gives the second


@dataclass(frozen=True)
class Slot:
    id: int
    delivery_id: int | None
    at: datetime
    granted: bool


class AccountSlots:
    """One account's slots, inside the transaction (and advisory lock) of ``account_slots``."""

    def __init__(self, connection: Connection, channel_id: str) -> None:
        self._connection = connection
        self.channel_id = channel_id

    def forget_before(self, old: datetime) -> None:
        """Delete the slots older than ``old`` (outside every rule's window)."""
        self._connection.execute(
            text("DELETE FROM pacing_slots WHERE channel_id = :c AND at < :old"),
            {"c": self.channel_id, "old": old})

    def attempts_of(self, delivery_id: int) -> int | None:
        """The delivery's ``attempts`` in the ledger (None: no such delivery)."""
        attempts: int | None = self._connection.execute(
            text("SELECT attempts FROM deliveries WHERE id = :d"), {"d": delivery_id}).scalar()
        return attempts

    def free_unsent(self, delivery_id: int, attempt: int) -> None:
        """Delete the slot granted to the delivery at this attempt (it never led to a send)."""
        self._connection.execute(
            text("DELETE FROM pacing_slots WHERE channel_id = :c AND delivery_id = :d "
                 "AND granted AND attempt = :a"),
            {"c": self.channel_id, "d": delivery_id, "a": attempt})

    def since(self, since: datetime) -> list[Slot]:
        """The account's slots after ``since``, in time order."""
        rows = self._connection.execute(
            text("SELECT id, delivery_id, at, granted FROM pacing_slots "
                 "WHERE channel_id = :c AND at > :since ORDER BY at, id"),
            {"c": self.channel_id, "since": since},
        ).all()
        return [Slot(row.id, row.delivery_id, row.at, row.granted) for row in rows]

    def place(self, slot_id: int, attempt: int | None, at: datetime, granted: bool) -> None:
        """A place kept in the queue moves to ``at``, this attempt's, and becomes a send
        granted when ``granted``."""
        self._connection.execute(
            text("UPDATE pacing_slots SET granted = :g, attempt = :a, at = :at WHERE id = :i"),
            {"i": slot_id, "a": attempt, "at": at, "g": granted})

    def departures(self, since: datetime, but: int | None) -> list[Departure]:
        """The requests on the account that left after ``since``, except slot ``but``'s."""
        rows = self._connection.execute(
            # a slot without a delivery row counts as sending: the cap alone ends its wait
            text("SELECT s.left_at, s.done_at, COALESCE(d.state = 'sending', TRUE) AS sending "
                 "FROM pacing_slots s LEFT JOIN deliveries d ON d.id = s.delivery_id "
                 "WHERE s.channel_id = :c AND s.granted AND s.left_at > :since "
                 "AND s.id <> :but"),
            {"c": self.channel_id, "since": since, "but": -1 if but is None else but},
        ).all()
        return [Departure(row.left_at, row.done_at, bool(row.sending)) for row in rows]

    def leave(self, slot_id: int, at: datetime) -> None:
        """The granted send's request leaves at ``at``."""
        self._connection.execute(
            text("UPDATE pacing_slots SET left_at = :at WHERE id = :i"), {"i": slot_id, "at": at})

    def add(self, delivery_id: int | None, attempt: int | None, at: datetime,
            granted: bool) -> int:
        """A new slot (a send granted, or a place in the queue); its id."""
        slot_id: int = self._connection.execute(
            text("INSERT INTO pacing_slots (channel_id, delivery_id, attempt, at, granted) "
                 "VALUES (:c, :d, :a, :at, :g) RETURNING id"),
            {"c": self.channel_id, "d": delivery_id, "a": attempt, "at": at, "g": granted},
        ).scalar_one()
        return slot_id


@dataclass(frozen=True)
class Departure:
    """A granted send whose request left: ``done_at`` None while no answer is recorded;
    ``sending`` whether its delivery is still being sent (not settled by its worker or by
    recovery)."""

    left_at: datetime
    done_at: datetime | None
    sending: bool


@contextmanager
def account_slots(engine: Engine, channel_id: str) -> Iterator[AccountSlots]:
    """One transaction on ``channel_id``'s slots, under its advisory lock (released at commit)."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                           {"space": _LOCK_SPACE,
                            "key": zlib.crc32(channel_id.encode()) & 0x7FFFFFFF})
        yield AccountSlots(connection, channel_id)


def answered(engine: Engine, slot_id: int, at: datetime) -> None:
    """The granted send's request ended (answered or not) at ``at``: the next one on the account
    is spaced from here, and the budget counts it from here (``at`` moves to the answer)."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE pacing_slots SET done_at = :at, "
                 "at = CASE WHEN at < :at THEN :at ELSE at END WHERE id = :i"),
            {"i": slot_id, "at": at})


def delete_slot(engine: Engine, slot_id: int) -> None:
    """Give a granted slot back (its claim was lost: no send came of it)."""
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM pacing_slots WHERE id = :i"), {"i": slot_id})
