"""The links of the live sessions already created, read from the ledger for ``cm preview`` and
``cm check`` (which then render the real link instead of the host's placeholder).

Reading never creates a ledger: without ``--database-url`` (or ``CM_DATABASE_URL``) and without
the default SQLite file, there is nothing created yet, and SQLAlchemy is not even imported.
"""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.templates.context import SessionLinks


def has_ledger(workspace_root: Path, database_url: str | None) -> bool:
    """A ledger is named (``--database-url``) or the workspace's default one exists."""
    return database_url is not None or (workspace_root / ".cm" / "cm.db").is_file()


def created_session_links(workspace_root: Path, database_url: str | None) -> SessionLinks:
    """{session id: {host network: link}} of the created hosts; {} without a ledger."""
    if not has_ledger(workspace_root, database_url):
        return {}
    from cm_toolkit.ledger.engine import open_ledger
    from cm_toolkit.scheduler.live import LiveSessions

    ledger = open_ledger(database_url, workspace_root)
    try:
        return LiveSessions(ledger).all_links()
    finally:
        ledger.close()
