"""The job queue of a PostgreSQL cluster: Procrastinate, in the ledger's own database.

Why Procrastinate (docs/scaleout.md): it is PostgreSQL only, so it needs no other service; a job
that died with its worker is never run again by itself (a send must not be repeated); it has
per-key locks and "queueing locks" (at most one job waiting per key). The ledger's
compare-and-set claim stays what makes a send happen once: a job is only the alarm.

Jobs (the task names are stable: a queue outlives a release):

- ``cm.deliver`` ``{delivery_id, at}``: one delivery, run a little before ``at`` (the ledger's
  instant); queueing lock ``delivery-<id>``: one waiting job per delivery at most;
- ``cm.snapshot`` ``{at}``: the follower snapshot of that instant; queueing lock ``snapshot``;
- ``cm.inbox``: one inbox tick (syncs, auto answers, replies); lock ``inbox`` (one at a time).

Procrastinate's tables live beside the ledger's (same schema, its own ``procrastinate_*`` names)
and are created by ``cm run`` on its first start (``ensure_schema``; the statements are
``ledger/cluster_jobs.py``'s), under an advisory lock so that workers starting together create
them once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from cm_toolkit.ledger.cluster_jobs import create_queue_tables

DELIVER = "cm.deliver"
SNAPSHOT = "cm.snapshot"
INBOX = "cm.inbox"
QUEUE = "cm"


def delivery_lock(delivery_id: int) -> str:
    return f"delivery-{delivery_id}"


def conninfo(engine: Engine) -> str:
    """The libpq URI of the ledger's database (psycopg's, without SQLAlchemy's driver name);
    ``options`` (e.g. a ``search_path``) carry over, so the queue lives in the ledger's schema."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_schema(engine: Engine) -> bool:
    """Create Procrastinate's tables in the ledger's schema unless they exist; True if created.

    Idempotent and safe when several workers start at once: a transaction-level advisory lock
    serialises them, and the second finds the tables."""
    from procrastinate.schema import SchemaManager

    return create_queue_tables(engine, SchemaManager.get_schema)


def make_app(engine: Engine, pool_size: int) -> Any:
    """A Procrastinate ``App`` on the ledger's database, with the task names registered
    (their bodies are bound later, by the worker that runs them: ``bind``)."""
    from procrastinate import App, PsycopgConnector

    connector = PsycopgConnector(conninfo=conninfo(engine), min_size=1, max_size=pool_size)
    return App(connector=connector)
