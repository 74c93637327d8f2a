"""What went wrong with the ledger's database, in one line a person can act on.

A database fault (another process holds the write lock, the disk is full, the file is
read-only, the server went away) reaches the command as a SQLAlchemy ``DBAPIError`` whose text
holds the SQL statement and its parameters (post texts, learners' messages). ``explain`` keeps
only the driver's own first line and turns the known causes into a ``LedgerError`` with a fix.
The CLI calls it in its one error handler; ``open_ledger`` calls it when opening fails.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cm_toolkit.errors import LedgerError

URL_ATTRIBUTE = "cm_ledger_url"
"""Set on a database exception by the engine (``handle_error``): the ledger it came from."""

@dataclass(frozen=True)
class Cause:
    needles: tuple[str, ...]  # lowercase words of the driver's message (SQLite, PostgreSQL)
    what: str
    fix: str


CAUSES = (
    Cause(("database is locked", "database table is locked", "lock timeout", "lock_timeout"),
          what="the ledger is locked by another process (a cm run, cm apply or another "
          "command is writing to it) and it did not let go within 15 s",
          fix="wait for the other command to finish and run this one again; `cm status` "
          "reads it meanwhile"),
    Cause(("database or disk is full", "no space left", "could not extend file", "disk full"),
          what="the disk under the ledger is full: this command's change was not written "
          "(the ledger is intact)",
          fix="free space on that disk, then run the command again"),
    Cause(("readonly database", "read-only transaction", "read only transaction"),
          what="the ledger is read-only for this user and this command writes to it",
          fix="run it as the ledger's owner, or give this user write access to the file and "
          "its folder"),
    Cause(("unable to open database file",),
          what="cannot open the ledger file (a missing folder, or no permission on it)",
          fix="check the path and its permissions, or pass --database-url"),
    Cause(("file is not a database", "malformed", "not a database"),
          what="the ledger file is not a cm-toolkit ledger, or it is damaged",
          fix="restore it from a backup, or pass --database-url with the right file"),
    Cause(("disk i/o error",),
          what="the disk under the ledger failed to read or write (disk I/O error)",
          fix="check the disk (or the network share) holding it, then run the command again"),
    Cause(("connection", "server closed", "terminating", "could not connect", "timeout expired"),
          what="the connection to the ledger's database server was lost or refused",
          fix="is the database server running and reachable? run the command again once it is"),
)
"""Tried in order: the first whose needle is in the driver's message names the cause."""

FULL_DISK = CAUSES[1]
NEARLY_FULL = 1 << 20  # bytes: SQLite needs a few pages and its 32 KB shared-memory file


def sqlite_folder(where: str | None) -> Path | None:
    """The folder of a SQLite file ledger, from its URL as shown (``sqlite:////a/cm.db``)."""
    prefix = "sqlite:///"
    if not where or not where.startswith(prefix) or where == prefix:
        return None
    return Path(where[len(prefix):].split("?", 1)[0]).parent


def _file_cause(reason: str, where: str | None) -> Cause | None:
    """What SQLite's vague "disk I/O error" or "unable to open database file" means for a file
    ledger: a full disk (it creates its -wal and -shm files first) or a folder this user cannot
    write to."""
    lowered = reason.lower()
    if "disk i/o error" not in lowered and "unable to open database file" not in lowered:
        return None
    folder = sqlite_folder(where)
    if folder is None or not folder.is_dir():
        return None
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is not None and free < NEARLY_FULL:
        return Cause((), f"the disk under the ledger is full ({free:,} bytes free in {folder}): "
                     "this command's change was not written (the ledger is intact)", FULL_DISK.fix)
    if "unable to open" in lowered and not os.access(folder, os.W_OK):
        return Cause((), f"the folder {folder} is not writable for this user, and SQLite writes "
                     "its journal files beside the ledger",
                     f"make {folder} writable for this user (or run the command as its owner), "
                     "or pass --database-url")
    return None


def driver_message(error: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's SQL and parameters (they hold user text)."""
    origin = getattr(error, "orig", None) if isinstance(error, DBAPIError) else None
    text = str(origin if origin is not None else error).strip()
    if origin is None and isinstance(error, SQLAlchemyError):
        text = text.split("[SQL:", 1)[0].strip()
    return (text.splitlines() or [type(error).__name__])[0][:300]


def explain(error: BaseException, url: str | None = None) -> LedgerError:
    """A ``LedgerError`` naming the cause of a database fault and its fix."""
    reason = driver_message(error)
    where = url or getattr(error, URL_ATTRIBUTE, None)
    lowered = reason.lower()
    found = _file_cause(reason, where)
    for cause in (found,) if found is not None else CAUSES:
        if found is not None or any(needle in lowered for needle in cause.needles):
            message = cause.what + (f" ({where})" if where else "") + f": {reason}"
            return LedgerError(message, fix=cause.fix)
    return LedgerError(
        "the ledger's database failed" + (f" ({where})" if where else "") + f": {reason}",
        fix="run the command again; if it persists, check the database (--database-url)",
    )
