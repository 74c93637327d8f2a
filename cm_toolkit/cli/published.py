"""Which deliveries the ledger holds as published, for the "has passed" warnings of ``cm check``,
``cm plan`` and ``cm apply`` (``cm_toolkit.planning.past_due``).

Read-only, and only when a ledger exists: the lookup never creates one, and is not even called
when no time of schedules.yaml has passed.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from cm_toolkit.cli.live_links import has_ledger
from cm_toolkit.errors import LedgerError, UsageError
from cm_toolkit.planning.models import DeliveryKey
from cm_toolkit.planning.past_due import PublishedLookup

BATCH = 500  # post keys per query: far under SQLite's and PostgreSQL's parameter limits


def published_lookup(
    workspace_root: Path, database_url: str | None, *, named_must_exist: bool = True
) -> PublishedLookup | None:
    """The lookup, or None without a ledger. ``named_must_exist``: a ``--database-url`` naming a
    missing SQLite file is refused (``cm check``); ``cm plan`` and ``cm apply`` take it as no
    ledger yet (apply creates it)."""
    try:
        if not has_ledger(workspace_root, database_url):
            return None
    except UsageError:  # a named SQLite file that does not exist
        if named_must_exist:
            raise
        return None

    def lookup(post_keys: Collection[str]) -> set[DeliveryKey]:
        from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
        from cm_toolkit.ledger.report_reads import published_keys

        try:
            ledger = open_ledger(database_url, workspace_root, LedgerAccess.READ)
        except LedgerError:
            # none yet, or one cm apply must upgrade: nothing known as published; the command's
            # own opening of the ledger reports what is wrong with it
            return set()
        try:
            return published_keys(ledger, list(post_keys), BATCH)
        finally:
            ledger.close()

    return lookup
