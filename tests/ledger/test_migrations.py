from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.engine import MIGRATIONS, migration_config
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
        assert MigrationContext.configure(connection).get_current_revision() == head == "0002"


def test_migration_files_are_package_data() -> None:
    # pyproject's package-data glob "ledger/migrations/**/*" must catch these files.
    package = Path(__file__).parents[2] / "cm_toolkit"
    files = {p.relative_to(package).as_posix() for p in package.glob("ledger/migrations/**/*")}
    assert {"ledger/migrations/env.py", "ledger/migrations/script.py.mako",
            "ledger/migrations/versions/0001_initial.py",
            "ledger/migrations/versions/0002_growth_indexes.py"} <= files
    assert MIGRATIONS == package / "ledger" / "migrations"
