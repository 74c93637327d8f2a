"""One ``cm run`` per ledger: the alarm clock is a single process.

Two ``cm run`` on one ledger would still never publish a delivery twice (the claim is a
compare-and-set), but each would pace the networks on its own (spacing and budgets are counted
in the process, so X would see twice the posts per 15 minutes), take every follower snapshot
twice and notify twice. APScheduler's rule is the same: one scheduler per job store. So
``Runner.start`` takes a lock that the operating system or the database server gives back when
the process dies, even on SIGKILL: a restarted copy starts at once, with no lease to wait out.

- SQLite: ``flock`` on ``<database>.run.lock`` beside the database file; the file says who holds
  it (worker id, pid, since), so that a refused ``cm run`` can name the one running.
- PostgreSQL: a session advisory lock on a connection kept open for the runner's life, keyed by
  the ledger's schema; the connection's ``application_name`` names the holder. If that
  connection drops (a server restart), ``verify`` takes the lock again, or reports that another
  runner has it.
- in-memory SQLite, or a platform without ``flock``: nothing to share, no lock.

``cm publish --now`` does not take it: one delivery sent by hand beside a running ``cm run`` is
what the claim is for.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from cm_toolkit.errors import AlreadyRunning, LedgerError
from cm_toolkit.sending.worker import host_and_pid, local_pid

try:
    import fcntl
except ImportError:  # Windows: no flock; the ledger's claim still prevents doubles
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("cm.runner")

PG_KEY_SPACE = 0x636D  # "cm": first half of the advisory lock key; the schema gives the second


def stop_fix(worker: str | None) -> str:
    """How to stop the holder: its pid on this machine, else its machine."""
    host, _pid = host_and_pid(worker)
    pid = local_pid(worker)
    if pid is not None:
        how = f"Ctrl-C in its terminal, or kill {pid}"
    elif host:
        how = f"it runs on {host}"
    else:
        how = "Ctrl-C in its terminal"
    return (f"stop it first ({how}); two would each pace the networks on their own (a "
            "delivery is still never sent twice)")


class RunLock(Protocol):
    def verify(self) -> bool:
        """Still held (taken again if it was lost with a connection); False: another has it."""
        ...

    def release(self) -> None: ...


class NoLock:
    def verify(self) -> bool:
        return True

    def release(self) -> None:
        pass


def take_run_lock(engine: Engine, worker_id: str) -> RunLock:
    """The ledger's run lock for ``worker_id``; ``AlreadyRunning`` names the holder."""
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:" or fcntl is None:
            return NoLock()
        return FileRunLock.take(Path(f"{database}.run.lock"), worker_id)
    if backend == "postgresql":
        return PostgresRunLock.take(engine, worker_id)
    return NoLock()


def _holder_text(worker: str | None, since: str | None) -> str:
    if not worker:
        return "another cm run"
    return f"cm run {worker}" + (f" (since {since})" if since else "")


class FileRunLock:
    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    @classmethod
    def take(cls, path: Path, worker_id: str) -> FileRunLock:
        assert fcntl is not None
        try:
            path.touch(exist_ok=True)
            handle = path.open("r+", encoding="utf-8")
        except OSError as exc:
            raise LedgerError(
                f"cannot create the run lock {path}: {exc.strerror or exc}",
                fix="cm run needs to write beside its database: check the folder's permissions",
            ) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder: dict[str, str] = {}
            try:
                holder = json.loads(handle.read() or "{}")
            except ValueError:  # written half-way this very instant: name nobody
                pass
            handle.close()
            raise AlreadyRunning(
                f"{_holder_text(holder.get('worker'), holder.get('since'))} is already "
                f"publishing from this ledger ({str(path).removesuffix('.run.lock')})",
                fix=stop_fix(holder.get("worker")),
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"worker": worker_id, "pid": os.getpid(),
                                 "since": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"}))
        handle.flush()
        return cls(path, handle)

    def verify(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is None:
            return
        assert fcntl is not None
        self._handle.seek(0)
        self._handle.truncate()
        fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


class PostgresRunLock:
    def __init__(self, engine: Engine, worker_id: str, connection: Connection) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self._connection: Connection | None = connection

    @classmethod
    def take(cls, engine: Engine, worker_id: str) -> PostgresRunLock:
        connection = engine.connect()
        try:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
            key = zlib.crc32(f"cm run {schema}".encode()) & 0x7FFFFFFF
            connection.execute(text("SELECT set_config('application_name', :name, false)"),
                               {"name": f"cm run {worker_id}"[:63]})
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                       {"space": PG_KEY_SPACE, "key": key}).scalar_one()
            holder = None if taken else connection.execute(
                text("SELECT a.application_name, a.backend_start FROM pg_locks l "
                     "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                     "AND l.classid::bigint = :space AND l.objid::bigint = :key "
                     "AND l.objsubid = 2 AND l.granted"),
                {"space": PG_KEY_SPACE, "key": key},
            ).first()
            connection.commit()  # the session lock outlives the transaction
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            name, since = (holder[0], holder[1]) if holder is not None else (None, None)
            worker = name.removeprefix("cm run ") if name else None
            raise AlreadyRunning(
                f"{_holder_text(worker, f'{since:%Y-%m-%d %H:%M:%S %Z}' if since else None)} is "
                f"already publishing from this ledger (schema {schema})", fix=stop_fix(worker),
            )
        return cls(engine, worker_id, connection)

    def verify(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except DBAPIError:  # the connection died, and the lock with it
                self._connection.invalidate()
                self._connection.close()
                self._connection = None
        try:
            again = PostgresRunLock.take(self.engine, self.worker_id)
        except AlreadyRunning as error:
            log.error("the run lock was lost with its connection and %s", error.message)
            return False
        except DBAPIError as error:  # the server is still away: nothing is published meanwhile
            log.warning("run lock: the database is unreachable (%s); trying again at the "
                        "next resync", str(error.orig).splitlines()[0] if error.orig else error)
            return True
        self._connection, again._connection = again._connection, None
        log.warning("run lock: taken again after its connection was lost")
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
            self._connection.commit()
        except DBAPIError:
            pass  # gone with the connection anyway
        self._connection.close()
        self._connection = None
