from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cm_toolkit.errors import LedgerError
from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.ledger import models as m


def test_default_is_sqlite_in_the_workspace_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    ledger = open_ledger(None, tmp_path)
    try:
        assert (tmp_path / ".cm" / "cm.db").is_file()
        with ledger.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        with pytest.raises(sa.exc.IntegrityError), ledger.writing() as session:
            session.add(m.Engagement(delivery_id=999, measured_at=datetime.now(UTC)))
    finally:
        ledger.close()


def test_relative_sqlite_path_is_inside_the_workspace(tmp_path: Path) -> None:
    ledger = open_ledger("sqlite:///data/ledger.db", tmp_path)
    ledger.close()
    assert (tmp_path / "data" / "ledger.db").is_file()


def test_naive_datetimes_are_refused(ledger: Ledger) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), ledger.writing() as s:
        s.add(m.FollowerSnapshot(channel_id="x", network="x",
                                 taken_at=datetime(2027, 1, 1), followers=1))


def test_times_come_back_as_utc(ledger: Ledger) -> None:
    taken = datetime(2027, 1, 1, 12, tzinfo=UTC)
    with ledger.writing() as session:
        session.add(m.FollowerSnapshot(channel_id="x", network="x", taken_at=taken,
                                       followers=10))
    with ledger.reading() as session:
        row = session.scalars(sa.select(m.FollowerSnapshot)).one()
        assert row.taken_at == taken and row.taken_at.tzinfo is UTC
        assert row.network == "x"
        stored = session.execute(sa.text("SELECT network FROM follower_snapshots")).scalar()
        assert stored == "x"  # enums stored by their lowercase name


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_postgresql_says_what_to_check(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://cm:secret@127.0.0.1:{_free_port()}/cm?connect_timeout=2"
    with pytest.raises(LedgerError) as raised:
        open_ledger(url, tmp_path)
    text = str(raised.value)
    assert "is PostgreSQL running at 127.0.0.1:" in text and "--database-url" in text
    assert "secret" not in text


def test_bad_url_and_bad_file_are_ledger_errors(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="cannot read the database URL"):
        open_ledger("not a url", tmp_path)
    with pytest.raises(LedgerError, match="unsupported database URL"):
        open_ledger("oracle+nodriver://u@h/db", tmp_path)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LedgerError, match="cannot open the ledger"):
        open_ledger(f"sqlite:///{garbage}", tmp_path)


def test_postgres_scheme_without_driver_uses_psycopg(tmp_path: Path) -> None:
    from cm_toolkit.ledger.engine import create_ledger_engine

    engine = create_ledger_engine("postgresql://u@127.0.0.1/db", tmp_path)
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def ledger_at_revision(root: Path, revision: str) -> None:
    """A default ledger in ``root`` that says it is at ``revision``."""
    open_ledger(None, root).close()
    engine = sa.create_engine(f"sqlite:///{root / '.cm' / 'cm.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    engine.dispose()


def test_ledger_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    ledger_at_revision(tmp_path, "9999")
    with pytest.raises(LedgerError, match="cannot migrate the ledger") as raised:
        open_ledger(None, tmp_path)
    assert "newer cm-toolkit" in raised.value.fix
