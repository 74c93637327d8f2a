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

The statements (the planning read, closing and cancelling jobs) are ``ledger/cluster_jobs.py``'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from cm_toolkit.ledger.cluster_jobs import analyze_queue, cancel_jobs, close_stalled_and_read_due
from cm_toolkit.scheduler import queue

log = logging.getLogger("cm.cluster")

ANALYZE_AFTER = 500
"""Jobs deferred in one tick from which the leader refreshes the tables' statistics at once.
PostgreSQL's autovacuum analyzes a table only after a while (and late on a loaded server);
until then its planner takes freshly filled tables for nearly empty ones and chooses nested
loops: with 10,000 deliveries due at one instant the bench saw Procrastinate's job fetch take
7 s and the planning read (``close_stalled_and_read_due``) over a minute (0.13 sends a second), 14 a second once analyzed."""


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
        result.closed_stalled, rows = close_stalled_and_read_due(
            self.engine, stalled_seconds=self.stalled_seconds, until=now + self.horizon)
        jobs: dict[int, list[tuple[int, str | None, str | None]]] = {}
        due: dict[int, datetime] = {}
        for row in rows:
            due[row.delivery_id] = row.at
            if row.job_id is not None:
                jobs.setdefault(row.delivery_id, []).append((row.job_id, row.job_status,
                                                             row.job_at))
        new = []
        stale: list[int] = []
        for delivery_id, at in due.items():
            held = jobs.get(delivery_id, [])
            if any(status == "doing" or _same(job_at, at) for _, status, job_at in held):
                continue  # running, or waiting for this very instant
            stale.extend(job_id for job_id, _, _ in held)
            new.append(delivery_job(delivery_id, at, self.lead))
        if stale:
            cancel_jobs(self.engine, stale)
            result.replaced = len(stale)
        if new:
            self.defer(new)
            result.deferred = len(new)
            if len(new) >= ANALYZE_AFTER:
                analyze_queue(self.engine)
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
