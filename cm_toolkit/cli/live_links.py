"""The links of the live sessions already created, read from the ledger for ``cm preview`` and
``cm check`` (which then render the real link instead of the host's placeholder).

Reading never creates a ledger: without ``--database-url`` (or ``CM_DATABASE_URL``) and without
the default SQLite file, there is nothing created yet, and SQLAlchemy is not even imported.
"""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.errors import UsageError
from cm_toolkit.templates.context import SessionLinks

SQLITE_PREFIX = "sqlite:///"


def has_ledger(workspace_root: Path, database_url: str | None) -> bool:
    """A ledger is named (``--database-url``) or the workspace's default one exists.

    A named SQLite file that does not exist is a mistyped URL: refused, never created."""
    if database_url is None:
        return (workspace_root / ".cm" / "cm.db").is_file()
    if database_url.startswith(SQLITE_PREFIX) and database_url[len(SQLITE_PREFIX):] not in (
            "", ":memory:"):
        path = Path(database_url[len(SQLITE_PREFIX):].split("?", 1)[0])
        path = path if path.is_absolute() else workspace_root / path
        if not path.is_file():
            raise UsageError(f"there is no ledger at {path}",
                             fix="check --database-url (cm apply creates the ledger)")
    return True


def created_session_links(workspace_root: Path, database_url: str | None) -> SessionLinks:
    """{session id: {host network: link}} of the created hosts; {} without a ledger."""
    if not has_ledger(workspace_root, database_url):
        return {}
    from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
    from cm_toolkit.scheduler.live import LiveSessions

    ledger = open_ledger(database_url, workspace_root, LedgerAccess.READ)
    try:
        return LiveSessions(ledger).all_links()
    finally:
        ledger.close()
