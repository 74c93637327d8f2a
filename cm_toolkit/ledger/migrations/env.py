"""Alembic environment of the ledger.

``cm_toolkit.ledger.engine.upgrade`` runs it with an open connection in
``config.attributes["connection"]`` (no alembic.ini). To write a new revision, build
``migration_config()`` in Python, set ``config.attributes["connection"]`` to a connection on a
database at head, call ``alembic.command.revision(config, message=..., autogenerate=True)``,
then read the generated file and make it self-contained (see versions/0001_initial.py).
``tests/ledger/test_migrations.py`` fails while the migrations and the models differ.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from cm_toolkit.ledger.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("set config.attributes['connection'] or sqlalchemy.url")
        with create_engine(url).connect() as own_connection:
            _run(own_connection)
            own_connection.commit()
        return
    _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported")
run_migrations()
