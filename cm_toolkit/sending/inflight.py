"""Which claimed deliveries had their request started: one small file per process.

The publisher claims a delivery about 40 ms before its instant, so that the claim's commit is
off the post's path (docs/scheduler.md). A process killed between the claim and the request
leaves the delivery ``sending`` although nothing left for the network. Without more knowledge,
orphan recovery has to call it ``unknown``, and a person must check the network by hand.

So each publishing process keeps ``.cm/inflight/<worker>.ids``: a header naming the worker and
the machine's boot, then one delivery id per line, appended just before each request leaves.
At the next start, a ``sending`` delivery claimed by a dead process of this machine whose id is
absent from that process's file never reached the network: it goes back to waiting, and is
sent once.

No fsync is needed: a ``write`` that returned is in the kernel's page cache, which the next
process reads even after a SIGKILL. Only an OS crash or a power loss can lose it, and either
changes the boot id: a file from another boot (or without a complete header, or missing) is
not trusted, and every orphan of that worker becomes ``unknown`` as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
HEADER = "cm inflight v1"


def boot_id() -> str | None:
    """This boot of the machine (Linux); None where it cannot be told (nothing is trusted)."""
    try:
        return BOOT_ID.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _file_name(worker_id: str) -> str:
    return worker_id.replace("/", "_") + ".ids"


def _header(worker_id: str, boot: str | None) -> str:
    """The first line of a file: written at its start, compared when it is read back."""
    return f"{HEADER} {worker_id} {boot or '-'}"


def _worker_of(header: str) -> str | None:
    """The worker id a header line names, None when it is not a header."""
    prefix = f"{HEADER} "
    if not header.startswith(prefix):
        return None
    worker, _, boot = header.removeprefix(prefix).rstrip("\n").partition(" ")
    return worker if worker and boot and " " not in boot else None


class InflightLog:
    """The file of one publishing process. ``started(id)`` before each request."""

    def __init__(self, folder: Path, worker_id: str) -> None:
        self.path = folder / _file_name(worker_id)
        folder.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                                       | os.O_APPEND, 0o600)
        # the header is written before this process claims anything: a file cut short
        # before its end is not trusted
        os.write(self._fd, f"{_header(worker_id, boot_id())}\n".encode())

    def started(self, delivery_id: int) -> None:
        """Called just before the request leaves: from now on it may reach the network."""
        if self._fd is not None:
            os.write(self._fd, f"{delivery_id}\n".encode())

    def close(self) -> None:
        """At a clean stop every send is recorded in the ledger: the file is no longer needed."""
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        self.path.unlink(missing_ok=True)


def started_ids(folder: Path, worker_id: str) -> set[int] | None:
    """The ids whose request a (dead) worker started, or None when its file cannot be trusted:
    missing, a header for another worker, another boot, or no boot id on this machine."""
    path = folder / _file_name(worker_id)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError:
        return None
    current = boot_id()
    if current is None or lines[0] != _header(worker_id, current):
        return None
    # the last line may be cut short by the kill: a partial number is a started request
    # whose id we cannot read, so a file ending without a newline is not trusted either
    if lines[-1] != "":
        return None
    try:
        return {int(line) for line in lines[1:-1]}
    except ValueError:
        return None


def forget_dead(folder: Path, dead: Callable[[str], bool]) -> None:
    """Remove the files of dead workers (``dead(worker_id)``), once their orphans are settled."""
    for path in folder.glob("*.ids"):
        try:
            with path.open(encoding="utf-8") as handle:
                worker = _worker_of(handle.readline())
        except OSError:
            continue
        if worker is not None and dead(worker):
            path.unlink(missing_ok=True)
