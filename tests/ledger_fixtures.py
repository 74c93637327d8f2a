"""The ledger fixtures shared by every test area that needs a database.

``database_url`` runs a test on SQLite (a file in tmp_path) and on PostgreSQL: the server at
CM_TEST_POSTGRES_URL, each test in its own schema (created, used through ``search_path``,
dropped afterwards). An unreachable server skips the test with the reason shown (a failure on
CI, where ``CM_REQUIRE_SERVICES`` is set). Import the fixtures in a conftest to use them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from cm_toolkit.ledger import Ledger, open_ledger

POSTGRES_URL = os.environ.get(
    "CM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    # pre-ping: the schema is dropped on a fresh connection after a server restart (a test
    # restarts it: tests/scheduler/test_cluster_restart.py)
    admin = sa.create_engine(POSTGRES_URL, pool_pre_ping=True)
    schema = f"cm_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {str(exc.orig).splitlines()[0]}")
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(database_url, tmp_path)
    try:
        yield opened
    finally:
        opened.close()
