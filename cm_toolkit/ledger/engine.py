"""Opening the ledger: URL defaults, connection settings per database, migrations on open.

- default URL: ``sqlite:///<workspace>/.cm/cm.db`` (the folder is created);
- SQLite: WAL journal (readers never block the writer), ``busy_timeout`` (a second process
  waits instead of failing), foreign keys on; write transactions start with ``BEGIN IMMEDIATE``
  so a read-then-write transaction cannot fail halfway with "database is locked";
- PostgreSQL: ``postgresql+psycopg://user@host:5432/db`` (``postgresql://`` is read as psycopg);
- Alembic migrations run on every open (a no-op when the schema is current).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from cm_toolkit.errors import LedgerError
from cm_toolkit.ledger.repository import Ledger

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "0003"
"""The newest migration (tests/ledger/test_migrations.py checks it against Alembic's head):
a ledger already there opens without importing Alembic, a third of a second per command."""
SQLITE_BUSY_TIMEOUT_MS = 15_000
BEGIN_OPTION = "cm_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode ("IMMEDIATE" for write transactions)."""


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


def _sqlite_settings(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is deferred
        # and emitted late, which breaks read-then-write transactions under concurrency).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_ledger_engine(database_url: str, workspace_root: Path) -> Engine:
    url = _parse_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database or "")
        if not database.is_absolute():
            database = workspace_root / database
            url = url.set(database=str(database))
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerError(
                f"cannot create the folder of the ledger database {database.parent}: {exc}",
                fix="check the folder's permissions, or pass --database-url",
            ) from None
    try:
        engine = create_engine(url)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise LedgerError(
            f"unsupported database URL {url.render_as_string(hide_password=True)}: {exc}",
            fix="use sqlite:///path/to/cm.db or postgresql+psycopg://user@host:5432/dbname",
        ) from None
    if engine.dialect.name == "sqlite":
        _sqlite_settings(engine)
    return engine


def _cannot_open(url: URL, exc: Exception) -> LedgerError:
    shown = url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
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
        except DBAPIError:  # no such table yet
            return None


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


def open_ledger(database_url: str | None, workspace_root: Path) -> Ledger:
    """Open (and create or migrate) the ledger. Raises ``LedgerError`` with a fix on failure."""
    engine = create_ledger_engine(
        database_url or default_database_url(workspace_root), workspace_root
    )
    try:
        upgrade(engine)
    except LedgerError:
        engine.dispose()
        raise
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise _cannot_open(engine.url, exc) from None
    write_engine = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    return Ledger(engine, write_engine)
