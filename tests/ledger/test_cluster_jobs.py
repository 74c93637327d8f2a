"""The cluster's statements on the ledger's database (``ledger/cluster_jobs.py``): the queue's
tables are created once, the leader's planning read sees each waiting delivery with the jobs
the queue holds for it, and one worker per machine at a time recovers orphans. PostgreSQL only
(Procrastinate's tables, advisory locks)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from procrastinate.schema import SchemaManager

from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.cluster_jobs import (
    cancel_jobs,
    close_stalled_and_read_due,
    create_queue_tables,
    machine_turn,
)
from tests.ledger_fixtures import POSTGRES_URL

from .test_claim import DUE, planned_ids

pytestmark = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)


def test_the_queue_tables_are_created_once(ledger: Ledger) -> None:
    assert create_queue_tables(ledger.engine, SchemaManager.get_schema) is True
    assert create_queue_tables(ledger.engine, SchemaManager.get_schema) is False


def test_the_planning_read_sees_waiting_deliveries_within_the_horizon(
    ledger: Ledger, tmp_path: Path
) -> None:
    create_queue_tables(ledger.engine, SchemaManager.get_schema)
    [delivery_id] = planned_ids(ledger, tmp_path)
    closed, rows = close_stalled_and_read_due(ledger.engine, stalled_seconds=10,
                                              until=DUE - timedelta(seconds=1))
    assert (closed, rows) == (0, [])  # due after the horizon: not yet
    closed, rows = close_stalled_and_read_due(ledger.engine, stalled_seconds=10, until=DUE)
    assert closed == 0
    assert [(row.delivery_id, row.at, row.job_id) for row in rows] == [(delivery_id, DUE, None)]


def _job(ledger: Ledger, delivery_id: int, status: str) -> int:
    """A job as Procrastinate stores it (its own defer is async: the worker's)."""
    with ledger.engine.begin() as connection:
        job_id: int = connection.execute(sa.text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args, "
            "status) VALUES ('cm', 'cm.deliver', :lock, :lock, CAST(:args AS jsonb), "
            "CAST(:status AS procrastinate_job_status)) RETURNING id"),
            {"lock": f"delivery-{delivery_id}", "status": status,
             "args": json.dumps({"delivery_id": delivery_id, "at": DUE.isoformat()})},
        ).scalar_one()
    return job_id


def test_jobs_read_cancelled_and_closed(ledger: Ledger, tmp_path: Path) -> None:
    create_queue_tables(ledger.engine, SchemaManager.get_schema)
    [delivery_id] = planned_ids(ledger, tmp_path)
    waiting = _job(ledger, delivery_id, "todo")
    _, rows = close_stalled_and_read_due(ledger.engine, stalled_seconds=10, until=DUE)
    assert [(row.job_id, row.job_status, row.job_at) for row in rows] == [
        (waiting, "todo", DUE.isoformat())]
    cancel_jobs(ledger.engine, [waiting])
    _, rows = close_stalled_and_read_due(ledger.engine, stalled_seconds=10, until=DUE)
    assert [row.job_id for row in rows] == [None]  # a cancelled job is no job
    _job(ledger, delivery_id, "doing")  # left running by no worker (its worker is gone)
    closed, rows = close_stalled_and_read_due(ledger.engine, stalled_seconds=10, until=DUE)
    assert closed == 1
    assert [row.job_id for row in rows] == [None]


def test_one_worker_per_machine_recovers_at_a_time(ledger: Ledger) -> None:
    # entered in order: the second asks while the first holds its machine's lock
    with (machine_turn(ledger.engine, "host-a") as first,
          machine_turn(ledger.engine, "host-a") as second,
          machine_turn(ledger.engine, "host-b") as elsewhere):
        assert (first, second, elsewhere) == (True, False, True)
    with machine_turn(ledger.engine, "host-a") as again:  # given back on leaving
        assert again is True


def test_two_ledgers_on_one_server_recover_independently(ledger: Ledger) -> None:
    """The lock is per machine and per ledger: another workspace's ledger (another schema on
    the same server) recovering on this machine does not make this one wait."""
    other = sa.create_engine(POSTGRES_URL)  # the server's default schema: another ledger
    try:
        with (machine_turn(ledger.engine, "host-a") as mine,
              machine_turn(other, "host-a") as theirs):
            assert (mine, theirs) == (True, True)
    finally:
        other.dispose()
