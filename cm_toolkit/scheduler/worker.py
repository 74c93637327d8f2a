"""Who a runner is, and what it watches: its worker id (host/pid/random, written on every claim),
whether the process behind a worker id still lives (orphan recovery), and the workspace
files' signature (a change means: apply again, without a restart)."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path


def new_worker_id() -> str:
    """``host/pid/random``: unique per process start, and it names the process."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def pid_alive(pid: int) -> bool:
    """True when a process of this machine has ``pid`` (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def died_here(worker_id: str | None) -> bool:
    """True for the worker id of a process of this machine that no longer runs."""
    parts = (worker_id or "").split("/")
    return (len(parts) == 3 and parts[0] == socket.gethostname() and parts[1].isdigit()
            and not pid_alive(int(parts[1])))


def workspace_signature(root: Path) -> tuple[tuple[str, float, int], ...]:
    """(path, mtime, size) of every workspace file: a change means re-apply."""
    files = [root / "schedules.yaml"]
    for folder in ("channels", "templates"):
        if (root / folder).is_dir():
            files.extend(sorted(p for p in (root / folder).rglob("*") if p.is_file()))
    out = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        out.append((str(path), stat.st_mtime, stat.st_size))
    return tuple(out)
