"""Opening the ledger: URL defaults, connection settings per database, migrations on open.

- default URL: ``sqlite:///<workspace>/.cm/cm.db`` (the folder is created by the commands that
  create a ledger);
- access (``LedgerAccess``): only the commands that bring data in (``cm apply``, ``cm run`` and
  ``cm publish --now``, which apply the workspace, the demo, ``cm growth snapshot|import``) create
  a ledger, and only when its file does not exist; commands that change an existing ledger
  refuse a missing one; commands that only read open it read-only (SQLite ``mode=ro``, a PostgreSQL read-only session:
  no migration, no WAL write), so they work for a user who can only read the file, and a
  mistyped ``--database-url`` is refused instead of reporting an empty ledger. A 0-byte file is
  never taken for a new ledger;
- SQLite: WAL journal (readers never block the writer), ``busy_timeout`` (a second process
  waits instead of failing), foreign keys on; write transactions start with ``BEGIN IMMEDIATE``
  so a read-then-write transaction cannot fail halfway with "database is locked";
- PostgreSQL: ``postgresql+psycopg://user@host:5432/db`` (``postgresql://`` is read as psycopg);
- Alembic migrations run on every open (a no-op when the schema is current).
"""

from __future__ import annotations

import enum
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from cm_toolkit.errors import LedgerError, NoLedger
from cm_toolkit.ledger.faults import URL_ATTRIBUTE, explain
from cm_toolkit.ledger.repository import Ledger

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "0006"
"""The newest migration (tests/ledger/test_migrations.py checks it against Alembic's head):
a ledger already there opens without importing Alembic, a third of a second per command."""
SQLITE_BUSY_TIMEOUT_MS = 15_000
MIGRATION_LOCK = 0x636D6D67  # "cmmg": PostgreSQL advisory lock held while migrating
BEGIN_OPTION = "cm_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode ("IMMEDIATE" for write transactions)."""


class LedgerAccess(enum.Enum):
    """What a command does with the ledger; decides whether it may be created or changed."""

    CREATE = "create"  # cm apply, cm run, cm publish --now (they apply the workspace), the demo,
    # cm growth snapshot|import (history may come before any campaign): create a missing file
    WRITE = "write"  # a change to an existing ledger (cancel, retry, resolve, done)
    READ = "read"  # an existing ledger, opened read-only, never migrated


NO_LEDGER_FIX = "run `cm apply` in the workspace first (it creates the ledger), or check " \
    "--database-url (or CM_DATABASE_URL)"


def default_database_url(workspace_root: Path) -> str:
    return f"sqlite:///{(workspace_root / '.cm' / 'cm.db').resolve()}"


def _parse_url(database_url: str) -> URL:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise LedgerError(
            f"cannot read the database URL {database_url!r}",
            fix="use sqlite:///path/to/cm.db or postgresql+psycopg://user@host:5432/dbname",
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we ship; psycopg2 (SQLAlchemy's default) is not installed.
        url = url.set(drivername="postgresql+psycopg")
    return url


def _sqlite_settings(engine: Engine, *, read_only: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is deferred
        # and emitted late, which breaks read-then-write transactions under concurrency).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        if not read_only:  # setting the journal mode writes the file's header
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _read_only_sqlite(database: Path, busy_timeout_ms: int) -> Any:
    """A connection factory opening the file with ``mode=ro``: SQLite itself refuses any write.

    A WAL ledger needs its ``-wal`` and ``-shm`` files; in a folder the user cannot write they
    cannot be made, so the file is then read as it is on disk (``immutable=1``: what the last
    checkpoint wrote, which is everything once the writer has stopped)."""
    uri = database.resolve().as_uri()
    wait = busy_timeout_ms / 1000

    def connect() -> sqlite3.Connection:
        connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=wait,
                                     check_same_thread=False)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return connection
        except sqlite3.OperationalError as exc:
            connection.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise  # a writer holds it: that is not a folder we cannot write
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=wait,
                               check_same_thread=False)

    return connect


def _no_ledger_fix(database: Path) -> str:
    """After `make demo`, `cm status` (or inbox, review...) finds no ledger: the demo's is
    beside it, and saying so is the step a new user is looking for."""
    demo = database.parent / "demo" / "cm.db"
    if database.name != "cm.db" or not demo.is_file():
        return NO_LEDGER_FIX
    return (f"{NO_LEDGER_FIX}; to read the last `cm demo`'s season, add --database-url "
            f"sqlite:///{demo.absolute()}")


def _sqlite_file(database: Path, access: LedgerAccess) -> None:
    """Refuse what must not become a ledger; create the folder when a ledger may be created."""
    if database.is_dir():
        raise LedgerError(f"the ledger path {database} is a folder",
                          fix="pass --database-url sqlite:///path/to/cm.db (a file)")
    if database.exists():
        if database.stat().st_size == 0:
            raise LedgerError(
                f"the ledger file {database} is empty (0 bytes): it is not a cm-toolkit ledger, "
                "and cm will not take it for a new one",
                fix="restore it from a backup, or delete it and run `cm apply` to create a new "
                "ledger",
            )
        return
    if access is not LedgerAccess.CREATE:
        raise NoLedger(f"there is no ledger at {database.absolute()}",
                       fix=_no_ledger_fix(database))
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(
            f"cannot create the folder of the ledger database {database.parent}: {exc}",
            fix="check the folder's permissions, or pass --database-url",
        ) from None


def create_ledger_engine(
    database_url: str,
    workspace_root: Path,
    access: LedgerAccess = LedgerAccess.CREATE,
    *,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Engine:
    url = _parse_url(database_url)
    read_only = access is LedgerAccess.READ
    options: dict[str, Any] = {}
    sqlite_file = (url.get_backend_name() == "sqlite"
                   and url.database not in (None, "", ":memory:")
                   and url.query.get("uri") is None)  # a file: URI is the user's own choice
    if sqlite_file:
        database = Path(url.database or "")
        if not database.is_absolute():
            database = workspace_root / database
            url = url.set(database=str(database))
        _sqlite_file(database, access)
        if read_only:
            options["creator"] = _read_only_sqlite(database, busy_timeout_ms)
    if read_only and url.get_backend_name() == "postgresql":
        # a session option, not a SET: a SET inside the pool's first transaction is rolled back
        given = url.query.get("options", "")
        given = given if isinstance(given, str) else " ".join(given)
        url = url.update_query_dict(
            {"options": f"{given} -c default_transaction_read_only=on".strip()})
    try:
        engine = create_engine(url, **options)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise LedgerError(
            f"unsupported database URL {url.render_as_string(hide_password=True)}: {exc}",
            fix="use sqlite:///path/to/cm.db or postgresql+psycopg://user@host:5432/dbname",
        ) from None
    if engine.dialect.name == "sqlite":
        _sqlite_settings(engine, read_only=read_only, busy_timeout_ms=busy_timeout_ms)
    shown = engine.url.render_as_string(hide_password=True)

    @event.listens_for(engine, "handle_error")
    def _name_the_ledger(context: Any) -> None:
        # the CLI's one error handler says which ledger failed (explain reads it)
        if context.sqlalchemy_exception is not None:
            setattr(context.sqlalchemy_exception, URL_ATTRIBUTE, shown)

    return engine


def _cannot_open(url: URL, exc: Exception) -> LedgerError:
    shown = url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if any(word in reason.lower() for word in ("locked", "full", "readonly", "read-only",
                                                "disk i/o", "unable to open")):
        explained = explain(exc, shown)
        if not explained.message.startswith(("the ledger's database failed",
                                             "cannot open the ledger file")):
            return explained  # a cause was found; else the message below says more
    if url.get_backend_name() == "postgresql":
        fix = (
            f"is PostgreSQL running at {url.host or 'localhost'}:{url.port or 5432}, and does "
            f"database {url.database!r} exist for user {url.username!r}? check --database-url "
            "(or CM_DATABASE_URL)"
        )
    else:
        fix = "check that the file is a cm-toolkit ledger and is writable, or pass --database-url"
    return LedgerError(f"cannot open the ledger at {shown}: {reason}", fix=fix)


def migration_config() -> Config:
    """An Alembic config pointing into the package (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The ledger's migration revision; None for an empty database (or a foreign one)."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError as exc:  # no such table yet; any other fault is the caller's
            if "no such table" in str(exc.orig) or "does not exist" in str(exc.orig):
                return None
            raise


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (create it on an empty database).

    Alembic is imported only when there is something to do: importing it costs more than
    everything else a command does with a current ledger."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.util.exc import CommandError

    config = migration_config()
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # workers of a cluster starting together: one migrates, the others wait for it
                # and find the schema current (the lock ends with the transaction)
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
    except CommandError as exc:
        raise LedgerError(
            f"cannot migrate the ledger at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc}",
            fix="was it written by a newer cm-toolkit? upgrade cm-toolkit, or use another "
            "--database-url",
        ) from None


def _require_ledger(engine: Engine, *, migrate: bool) -> None:
    """An existing ledger: refuse an empty database (only apply and run create one); bring an
    older one up to date when the command writes anyway; a reader reads only the current one."""
    revision = current_revision(engine)
    shown = engine.url.render_as_string(hide_password=True)
    if revision is None:
        raise NoLedger(f"there is no cm-toolkit ledger at {shown}", fix=NO_LEDGER_FIX)
    if revision == HEAD_REVISION:
        return
    if revision.isdigit() and revision > HEAD_REVISION:
        raise LedgerError(
            f"the ledger at {shown} was written by a newer cm-toolkit (revision {revision})",
            fix="upgrade cm-toolkit, or use another --database-url")
    if migrate:
        upgrade(engine)
        return
    raise LedgerError(
        f"the ledger at {shown} is from an older cm-toolkit (revision {revision})",
        fix="run `cm apply` (or `cm run`) once as its owner: it upgrades the ledger")


def open_ledger(
    database_url: str | None,
    workspace_root: Path,
    access: LedgerAccess = LedgerAccess.CREATE,
    *,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Ledger:
    """Open the ledger for ``access`` (create or migrate it only when that allows it).

    Raises ``LedgerError`` with a fix on failure: a missing ledger for READ and WRITE, a 0-byte
    file, a database that cannot be opened (the cause named: locked, full, read-only...)."""
    engine = create_ledger_engine(
        database_url or default_database_url(workspace_root), workspace_root, access,
        busy_timeout_ms=busy_timeout_ms,
    )
    created = _new_sqlite_file(engine, access)
    try:
        if access is LedgerAccess.CREATE:
            upgrade(engine)
        else:
            _require_ledger(engine, migrate=access is LedgerAccess.WRITE)
    except LedgerError:
        engine.dispose()
        raise
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        engine.dispose()
        _remove_if_empty(created)
        raise _cannot_open(engine.url, exc) from None
    if access is LedgerAccess.READ:
        return Ledger(engine, engine)  # a write fails in the database: read-only
    write_engine = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    return Ledger(engine, write_engine)


def _new_sqlite_file(engine: Engine, access: LedgerAccess) -> Path | None:
    """The SQLite file this command is about to create, if it creates one."""
    database = engine.url.database
    if access is not LedgerAccess.CREATE or engine.dialect.name != "sqlite" or \
            database in (None, "", ":memory:") or Path(database or "").exists():
        return None
    return Path(database or "")


def _remove_if_empty(created: Path | None) -> None:
    """A ledger this command created and could not write a page to (a full disk) is removed, so
    that the next command does not meet a 0-byte file it must refuse (nothing is in it)."""
    if created is None:
        return
    try:
        if created.exists() and created.stat().st_size == 0:
            for path in (created, created.with_name(created.name + "-wal"),
                         created.with_name(created.name + "-shm")):
                path.unlink(missing_ok=True)
    except OSError:
        pass
