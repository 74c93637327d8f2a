from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.engine import (
    HEAD_REVISION,
    MIGRATIONS,
    current_revision,
    migration_config,
    open_ledger,
)
from cm_toolkit.ledger.models import Base


def differences(ledger: Ledger, metadata: sa.MetaData) -> list[object]:
    with ledger.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrations_produce_exactly_the_orm_metadata(ledger: Ledger) -> None:
    assert differences(ledger, Base.metadata) == []


def test_the_comparison_sees_a_difference(ledger: Ledger) -> None:
    # Guard for the test above: a model with one more column must not compare equal.
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["deliveries"].append_column(sa.Column("extra", sa.Integer))
    assert [d[0] for d in differences(ledger, metadata)] == ["add_column"]


def test_schema_is_at_head(ledger: Ledger) -> None:
    head = ScriptDirectory.from_config(migration_config()).get_current_head()
    with ledger.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head == "0006"
    # open_ledger skips Alembic when the ledger is at HEAD_REVISION: it must be the real head
    assert HEAD_REVISION == head


def test_a_ledger_behind_head_is_migrated_on_open(ledger: Ledger, database_url: str,
                                                  tmp_path: Path) -> None:
    with ledger.engine.begin() as connection:  # as if written by the previous release
        connection.execute(sa.text("DROP INDEX ix_deliveries_channel_id_state_updated_at"))
        connection.execute(sa.text("DROP INDEX ix_inbox_messages_metrics"))  # 0004
        for table in ("inbox_events", "inbox_replies", "inbox_messages", "conversations",
                      "inbox_reads", "inbox_cursors",  # 0003
                      "workers", "pacing_slots"):  # 0005
            connection.execute(sa.text(f"DROP TABLE {table}"))
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    again = open_ledger(database_url, tmp_path)
    try:
        assert differences(again, Base.metadata) == []
        assert current_revision(again.engine) == HEAD_REVISION
    finally:
        again.close()


def test_migration_files_are_package_data() -> None:
    # pyproject's package-data glob "ledger/migrations/**/*" must catch these files.
    package = Path(__file__).parents[2] / "cm_toolkit"
    files = {p.relative_to(package).as_posix() for p in package.glob("ledger/migrations/**/*")}
    assert {"ledger/migrations/env.py", "ledger/migrations/script.py.mako",
            "ledger/migrations/versions/0001_initial.py",
            "ledger/migrations/versions/0002_growth_indexes.py",
            "ledger/migrations/versions/0003_inbox.py",
            "ledger/migrations/versions/0004_inbox_handles_metrics.py"} <= files
    assert MIGRATIONS == package / "ledger" / "migrations"
