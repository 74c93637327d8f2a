"""The leader's planning: every delivery waiting to be sent has one job in the queue.

Each tick, the leader (``scheduler/cluster.py``) reads the deliveries waiting (``planned``,
``retry_wait``) whose instant is within ``horizon`` with the jobs the queue holds for them, and:

- a delivery without a job gets one, run ``lead`` before its instant (jobs are deferred in one
  batch: 10,000 deliveries due at one instant are one INSERT);
- a waiting job for an instant the ledger no longer has (``cm apply`` moved the post, ``cm
  retry``) is cancelled and replaced;
- a job left ``doing`` by a worker that stopped beating (SIGKILL, a lost machine) is closed
  as failed: the delivery it was for is judged by the ledger alone (``sending`` -> orphan
  recovery or lease expiry; still waiting -> a new job at the next tick).

A job carries its delivery's ledger instant (``at``); a job a worker deferred again for pacing
keeps it, so the leader does not mistake a paced job for a stale one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from cm_toolkit.ledger.states import CLAIMABLE
from cm_toolkit.scheduler import queue

log = logging.getLogger("cm.cluster")

WAITING = [state.value for state in CLAIMABLE]

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

ANALYZE_AFTER = 500
"""Jobs deferred in one tick from which the leader refreshes the tables' statistics at once.
PostgreSQL's autovacuum analyzes a table only after a while (and late on a loaded server);
until then its planner takes freshly filled tables for nearly empty ones and chooses nested
loops: with 10,000 deliveries due at one instant the bench saw Procrastinate's job fetch take
7 s and this module's query over a minute (0.13 sends a second), 14 a second once analyzed."""
_ANALYZE = text("ANALYZE deliveries, procrastinate_jobs, pacing_slots")


def delivery_job(delivery_id: int, at: datetime, lead: timedelta) -> Any:
    """The queue's job for one delivery whose ledger instant is ``at``, run ``lead`` before."""
    from procrastinate.jobs import Job

    return Job(queue=queue.QUEUE, lock=queue.delivery_lock(delivery_id),
               queueing_lock=queue.delivery_lock(delivery_id), task_name=queue.DELIVER,
               task_kwargs={"delivery_id": delivery_id, "at": at.isoformat()},
               scheduled_at=at - lead)


@dataclass
class PlanTick:
    deferred: int = 0
    replaced: int = 0
    closed_stalled: int = 0


class DeliveryPlanner:
    def __init__(self, engine: Engine, defer: Callable[[list[Any]], None], *,
                 lead: timedelta, horizon: timedelta, stalled_seconds: float) -> None:
        self.engine = engine
        self.defer = defer
        self.lead = lead
        self.horizon = horizon
        self.stalled_seconds = stalled_seconds

    def tick(self, now: datetime) -> PlanTick:
        result = PlanTick()
        with self.engine.begin() as connection:
            result.closed_stalled = len(connection.execute(
                _CLOSE_STALLED, {"stalled": self.stalled_seconds}).all())
            rows = connection.execute(
                _DUE, {"waiting": WAITING, "until": now + self.horizon}).all()
        jobs: dict[int, list[tuple[int, str, str | None]]] = {}
        due: dict[int, datetime] = {}
        for delivery_id, at, job_id, status, job_at in rows:
            due[delivery_id] = at
            if job_id is not None:
                jobs.setdefault(delivery_id, []).append((job_id, status, job_at))
        new = []
        stale: list[int] = []
        for delivery_id, at in due.items():
            held = jobs.get(delivery_id, [])
            if any(status == "doing" or _same(job_at, at) for _, status, job_at in held):
                continue  # running, or waiting for this very instant
            stale.extend(job_id for job_id, _, _ in held)
            new.append(delivery_job(delivery_id, at, self.lead))
        if stale:
            with self.engine.begin() as connection:
                for job_id in stale:
                    connection.execute(_CANCEL, {"id": job_id})
            result.replaced = len(stale)
        if new:
            self.defer(new)
            result.deferred = len(new)
            if len(new) >= ANALYZE_AFTER:
                with self.engine.begin() as connection:
                    connection.execute(_ANALYZE)
        if result.deferred or result.closed_stalled:
            log.info("planned %d delivery job(s) (%d replaced), closed %d stalled job(s)",
                     result.deferred, result.replaced, result.closed_stalled)
        return result


def _same(job_at: str | None, at: datetime) -> bool:
    if job_at is None:
        return False
    try:
        return datetime.fromisoformat(job_at) == at
    except ValueError:
        return False
