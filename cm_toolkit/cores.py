"""Use several cores for a large check: ``split_work`` and ``run_beside``.

Rendering and checking 100,000 explicit posts is most of ``cm check``'s time, and every post is
independent of the others (``templates/plan_check``); reading ``schedules.yaml`` runs checks that
need only the parsed file (``workspace/loader``). ``split_work(work, chunks)`` runs ``work(chunk)`` for each chunk:
the first in this process, the others each in a child made with ``fork`` (it starts with this
process's memory: the workspace, the plan and the compiled templates, nothing to send), which
sends back its result pickled through a pipe. The results come back in chunk order, so the
caller can apply them exactly as if it had run the chunks one after the other.

Forking is safe only where nothing else runs: ``processes()`` answers 1 (no child) unless this
is Linux and the command said so (``forking_allowed``: ``cm check``, ``cm plan``, ``cm apply``;
never ``cm run``, whose scheduler runs threads), and ``CM_CHECK_PROCESSES=1`` turns it off. A child that fails for any reason (killed, out of memory,
an exception, a result that cannot be pickled) costs nothing but time: its chunk is run again
here, where an exception is raised as it would be without children. When this process is
interrupted (Ctrl-C, an exception), the children are killed and waited for before it goes on.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

ENV = "CM_CHECK_PROCESSES"
MAX_PROCESSES = 4  # beyond, the serial part (reading, planning) dominates anyway


_allowed: list[bool] = []  # one per ``forking_allowed()`` entered


@contextmanager
def forking_allowed() -> Iterator[None]:
    """Inside, a large check may fork (``processes``). Entered by ``cm check``, ``cm plan`` and
    ``cm apply`` around their check, in a process where cm runs no thread of its own: a fork
    copies only the thread that calls it, and a lock another thread held stays held in the
    child. ``cm run`` (the scheduler's threads), the dashboard and library callers never enter
    it, and check in one process."""
    _allowed.append(True)
    try:
        yield
    finally:
        _allowed.pop()


def processes(units: int, per_process: int) -> int:
    """How many processes to share ``units`` of work between: each given at least
    ``per_process`` (a fork and the pickled results cost more than a small chunk saves), at
    most one per core (``MAX_PROCESSES``). ``CM_CHECK_PROCESSES=N`` asks for N whatever the size
    (1: never fork). Always 1 outside ``forking_allowed()`` and off Linux."""
    if not _allowed or not sys.platform.startswith("linux"):
        return 1
    wanted = os.environ.get(ENV, "").strip()
    if wanted.isdigit() and int(wanted) >= 1:
        return max(1, min(int(wanted), units))
    cores = min(MAX_PROCESSES, len(os.sched_getaffinity(0)))
    return max(1, min(cores, units // max(1, per_process)))


def split_work(work: Callable[[Sequence[T]], R], chunks: Sequence[Sequence[T]]) -> list[R]:
    """``[work(chunk) for chunk in chunks]``, the chunks after the first each in a child."""
    children: list[tuple[int, int] | None] = []  # (pid, read end of its pipe), not collected
    try:
        for chunk in chunks[1:]:
            children.append(_fork(work, chunk))
        results = [work(chunks[0])] if chunks else []
        for chunk in chunks[1:]:
            child = children.pop(0)
            result = _FAILED if child is None else _collect(*child)
            results.append(work(chunk) if result is _FAILED else result)  # type: ignore[arg-type]
        return results
    finally:
        for child in children:  # interrupted: no child outlives the check
            if child is not None:
                _kill(*child)


def _fork(work: Callable[[Sequence[T]], R], chunk: Sequence[T]) -> tuple[int, int] | None:
    """The child's pid and the read end of its pipe; None when the system refuses a process or
    a pipe (out of memory or of processes): the chunk is then run here."""
    try:
        reader, writer = os.pipe()
    except OSError:
        return None
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(reader)
        os.close(writer)
        return None
    if pid == 0:  # the child: never returns into the caller's code
        code = 1
        try:
            os.close(reader)
            _die_with(parent)
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C ends it, no traceback
            data = pickle.dumps(work(chunk), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(writer, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)  # no atexit, no flush of buffers copied from the parent
    os.close(writer)
    return pid, reader


def _die_with(parent: int) -> None:
    """Killed when ``parent`` ends (``kill PID`` of ``cm check``): no work left running."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no prctl: the child ends at its result's write
        return
    if os.getppid() != parent:  # the parent ended before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1
_FAILED = object()


def _collect(pid: int, reader: int) -> object:
    """The child's result, or ``_FAILED`` (its chunk is then run again here)."""
    pieces = []
    try:
        with os.fdopen(reader, "rb") as stream:
            while piece := stream.read(1 << 20):
                pieces.append(piece)
        _, status = os.waitpid(pid, 0)
    except BaseException:  # interrupted while waiting for it
        _kill(pid, None)
        raise
    if os.waitstatus_to_exitcode(status) != 0:
        return _FAILED
    try:
        return pickle.loads(b"".join(pieces))
    except Exception:  # noqa: BLE001 - a truncated result: run the chunk here
        return _FAILED


def _kill(pid: int, reader: int | None) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
    if reader is not None:
        try:
            os.close(reader)
        except OSError:
            pass


def run_beside(here: Callable[[], R], beside: Callable[[], S], *, fork: bool) -> tuple[R, S]:
    """``(here(), beside())``; with ``fork``, ``beside`` runs in a child meanwhile."""
    if not fork:
        return here(), beside()
    first, second = split_work(_call_each, [[here], [beside]])
    return cast(R, first[0]), cast(S, second[0])


def _call_each(tasks: Sequence[Callable[[], object]]) -> list[object]:
    return [task() for task in tasks]
