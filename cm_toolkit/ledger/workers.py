"""The ``workers`` table: who works on a PostgreSQL cluster, seen from ``cm status``.

Each ``cm run`` worker writes its own row (``WorkerBook.beat``) every heartbeat: host, pid, when
it was last seen, how many deliveries it is sending, whether it is the leader (the one process
that plans). A worker that stopped cleanly sets ``stopped_at``; one that died just stops being
seen. Rows of workers gone for more than a day are deleted by the leader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql

from cm_toolkit.ledger.models import WorkerRecord
from cm_toolkit.ledger.repository import Ledger

FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class WorkerView:
    id: str
    host: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    in_flight: int
    leader: bool
    stopped_at: datetime | None


class WorkerBook:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def beat(self, worker_id: str, host: str, pid: int, now: datetime, *, in_flight: int,
             leader: bool) -> None:
        """Insert or refresh this worker's row (PostgreSQL's upsert)."""
        values = {"id": worker_id, "host": host, "pid": pid, "started_at": now,
                  "last_seen_at": now, "in_flight": in_flight, "leader": leader}
        statement = postgresql.insert(WorkerRecord).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[WorkerRecord.id],
            set_={"last_seen_at": now, "in_flight": in_flight, "leader": leader},
        )
        with self.ledger.write_engine.begin() as connection:
            connection.execute(statement)

    def stopped(self, worker_id: str, now: datetime) -> None:
        with self.ledger.write_engine.begin() as connection:
            connection.execute(update(WorkerRecord).where(WorkerRecord.id == worker_id).values(
                stopped_at=now, last_seen_at=now, in_flight=0, leader=False))

    def forget_old(self, now: datetime) -> None:
        with self.ledger.write_engine.begin() as connection:
            connection.execute(delete(WorkerRecord).where(
                WorkerRecord.last_seen_at < now - FORGET_AFTER))

    def listed(self) -> list[WorkerView]:
        """Every worker seen in the last day, the most recently seen first."""
        with self.ledger.reading() as session:
            rows = session.scalars(select(WorkerRecord).order_by(
                WorkerRecord.last_seen_at.desc(), WorkerRecord.id)).all()
        return [WorkerView(row.id, row.host, row.pid, row.started_at, row.last_seen_at,
                           row.in_flight, row.leader, row.stopped_at) for row in rows]
