"""What a PostgreSQL cluster (``scheduler/cluster*.py``, ``scheduler/queue.py``) runs on the
ledger's database besides the state machine: Procrastinate's tables beside the ledger's, the
leader's planning read (each waiting delivery with the queue's jobs for it), the jobs it
closes or cancels, and the advisory lock that lets one worker per machine recover orphans.

The queue's jobs are Procrastinate's (``procrastinate_jobs``); they are changed only through
its own SQL functions (``procrastinate_finish_job_v1``, ``procrastinate_cancel_job_v1``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text

from cm_toolkit.ledger.states import CLAIMABLE

WAITING = [state.value for state in CLAIMABLE]

_SCHEMA_LOCK = zlib.crc32(b"cm procrastinate schema") & 0x7FFFFFFF
_RECOVERY_SPACE = 0x6372  # "cr": advisory lock key space of orphan recovery, per machine

_DUE = text("""
SELECT d.id, COALESCE(d.next_attempt_at, d.due_at) AS at,
       j.id AS job_id, j.status::text AS job_status, j.args->>'at' AS job_at
  FROM deliveries d
  LEFT JOIN procrastinate_jobs j
    ON j.queueing_lock = 'delivery-' || d.id::text AND j.status IN ('todo', 'doing')
 WHERE d.state = ANY(:waiting) AND COALESCE(d.next_attempt_at, d.due_at) <= :until
""")

_CLOSE_STALLED = text("""
SELECT procrastinate_finish_job_v1(j.id, 'failed', false)
  FROM procrastinate_jobs j
  LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
 WHERE j.status = 'doing'
   AND (w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => :stalled))
""")

_CANCEL = text("SELECT procrastinate_cancel_job_v1(:id, false, false)")

_ANALYZE = text("ANALYZE deliveries, procrastinate_jobs, pacing_slots")


@dataclass(frozen=True)
class WaitingDelivery:
    """A delivery waiting to be sent, with one job the queue holds for it (if any): a delivery
    with two jobs (one ``doing``, one ``todo``) comes as two rows."""

    delivery_id: int
    at: datetime  # its ledger instant (next attempt, else due)
    job_id: int | None
    job_status: str | None  # 'todo' or 'doing'
    job_at: str | None  # the ledger instant the job was deferred for (ISO text)


def create_queue_tables(engine: Engine, schema: Callable[[], str]) -> bool:
    """Run ``schema()`` (Procrastinate's DDL) unless its tables exist; True if it ran.

    Idempotent and safe when several workers start at once: a transaction-level advisory lock
    serialises them, and the second finds the tables."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        exists = connection.execute(
            text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar_one()
        if exists:
            return False
        connection.exec_driver_sql(schema().replace("%", "%%"))
        return True


def close_stalled_and_read_due(engine: Engine, *, stalled_seconds: float,
                               until: datetime) -> tuple[int, list[WaitingDelivery]]:
    """In one transaction: close as failed every job left ``doing`` by a worker silent for
    ``stalled_seconds`` (or gone), then read the deliveries waiting whose instant is before
    ``until`` with their jobs. (jobs closed, deliveries)."""
    with engine.begin() as connection:
        closed = len(connection.execute(_CLOSE_STALLED, {"stalled": stalled_seconds}).all())
        rows = connection.execute(_DUE, {"waiting": WAITING, "until": until}).all()
    return closed, [WaitingDelivery(*row) for row in rows]


def cancel_jobs(engine: Engine, job_ids: list[int]) -> None:
    """Cancel waiting jobs (one transaction)."""
    with engine.begin() as connection:
        for job_id in job_ids:
            connection.execute(_CANCEL, {"id": job_id})


def analyze_queue(engine: Engine) -> None:
    """Refresh the statistics of the tables the queue's and the planning's queries read."""
    with engine.begin() as connection:
        connection.execute(_ANALYZE)


@contextmanager
def machine_turn(engine: Engine, host: str) -> Iterator[bool]:
    """This machine's orphan-recovery lock for this ledger (a session advisory lock keyed by
    ``host`` and the ledger's schema: two ledgers on one server do not wait on each other), if
    no other process holds it: yields True while held (released on leaving), False if taken."""
    with engine.connect() as connection:
        key = connection.execute(text("SELECT hashtext(:h || ' ' || current_schema())"),
                                 {"h": f"cm recovery {host}"}).scalar_one()
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:s, :k)"),
                                   {"s": _RECOVERY_SPACE, "k": key}).scalar_one()
        connection.commit()
        if not taken:
            yield False
            return
        try:
            yield True
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:s, :k)"),
                               {"s": _RECOVERY_SPACE, "k": key})
            connection.commit()
