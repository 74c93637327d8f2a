"""Who a sending process is: its worker id (host/pid/random, written on every claim), and
whether the process behind a worker id still lives (orphan recovery)."""

from __future__ import annotations

import os
import secrets
import socket


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


def host_and_pid(worker_id: str | None) -> tuple[str, int | None]:
    """(host, pid) of a worker id made by ``new_worker_id``; ("", None) for anything else."""
    parts = (worker_id or "").split("/")
    if len(parts) != 3:
        return "", None
    return parts[0], int(parts[1]) if parts[1].isdigit() else None


def local_pid(worker_id: str | None) -> int | None:
    """The pid of a worker that is (or was) a process of this machine, else None."""
    host, pid = host_and_pid(worker_id)
    return pid if host == socket.gethostname() else None


def died_here(worker_id: str | None) -> bool:
    """True for the worker id of a process of this machine that no longer runs."""
    pid = local_pid(worker_id)
    return pid is not None and not pid_alive(pid)
