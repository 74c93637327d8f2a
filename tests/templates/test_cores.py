"""The plan check on several cores (``cm_toolkit/cores.py``): the children's results come
back in order, a failed child costs only time, no child outlives the check, and a plan checked
in 2 or 3 processes gives exactly what one process gives (problems, summary, digests)."""

from __future__ import annotations

import os
import resource
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from cm_toolkit.cores import ENV, forking_allowed, processes, run_beside, split_work
from cm_toolkit.planning import plan_workspace
from cm_toolkit.templates.plan_check import PlanCheck, check_plan
from cm_toolkit.workspace.loader import load_workspace

from .conftest import REPO_ROOT

PARENT = os.getpid()


def _pids(chunk: Sequence[int]) -> list[tuple[int, int]]:
    return [(item * item, os.getpid()) for item in chunk]


def _no_children_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_each_chunk_after_the_first_runs_in_a_child_and_comes_back_in_order() -> None:
    chunks = [[1, 2], [3], [4, 5, 6]]
    results = split_work(_pids, chunks)
    assert [[square for square, _ in result] for result in results] == [[1, 4], [9], [16, 25, 36]]
    pids = [{pid for _, pid in result} for result in results]
    assert pids[0] == {PARENT}
    assert len(pids[1]) == len(pids[2]) == 1
    assert PARENT not in pids[1] | pids[2] and pids[1] != pids[2]
    assert _no_children_left()


def _dies_in_a_child(chunk: Sequence[int]) -> list[int]:
    if os.getpid() != PARENT:
        os._exit(3)  # killed, out of memory...
    return [item + 1 for item in chunk]


def _unpicklable_in_a_child(chunk: Sequence[int]) -> object:
    if os.getpid() != PARENT:
        return [lambda: None for _ in chunk]  # cannot be sent back
    return [item + 1 for item in chunk]


def _raises_in_a_child(chunk: Sequence[int]) -> list[int]:
    if os.getpid() != PARENT:
        raise RuntimeError("only in the child")
    return [item + 1 for item in chunk]


@pytest.mark.parametrize("work", [_dies_in_a_child, _unpicklable_in_a_child, _raises_in_a_child])
def test_a_chunk_whose_child_failed_is_run_again_here(work: object) -> None:
    assert split_work(work, [[1], [2], [3, 4]]) == [[2], [3], [4, 5]]  # type: ignore[arg-type]
    assert _no_children_left()


def test_when_the_system_refuses_a_process_the_chunk_runs_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``fork`` fails with ENOMEM where memory is not overcommitted: slower, never an error."""
    def refused() -> int:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(os, "fork", refused)  # the system call, as the kernel would answer it
    results = split_work(_pids, [[1], [2], [3]])
    assert [[pid for _, pid in result] for result in results] == [[PARENT]] * 3
    assert [[square for square, _ in result] for result in results] == [[1], [4], [9]]


def _slow_in_a_child(chunk: Sequence[int]) -> list[int]:
    if os.getpid() != PARENT:
        threading.Event().wait(60)  # would outlive the check if it were not killed
    if chunk == [0]:
        raise KeyError("the parent's own chunk fails")
    return list(chunk)


def test_when_this_process_fails_its_children_are_killed_and_waited_for() -> None:
    with pytest.raises(KeyError):
        split_work(_slow_in_a_child, [[0], [1], [2]])
    assert _no_children_left()


def test_run_beside_runs_the_second_task_in_a_child_only_when_asked() -> None:
    here, beside = run_beside(os.getpid, lambda: (os.getpid(), [1, 2]), fork=True)
    assert here == PARENT and beside[0] != PARENT and beside[1] == [1, 2]
    assert run_beside(os.getpid, os.getpid, fork=False) == (PARENT, PARENT)
    assert _no_children_left()


def test_processes_share_big_work_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    cores = min(4, len(os.sched_getaffinity(0)))
    with forking_allowed():
        assert processes(9_999, 10_000) == 1
        assert processes(100_000, 10_000) == cores
        monkeypatch.setenv(ENV, "1")
        assert processes(100_000, 10_000) == 1
        monkeypatch.setenv(ENV, "3")
        assert processes(10, 10_000) == 3  # asked for: whatever the size
        assert processes(2, 10_000) == 2  # never more processes than units


def test_no_fork_unless_the_command_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """``cm run`` (the scheduler's threads), the dashboard and library callers check in one
    process: only ``cm check``, ``cm plan`` and ``cm apply`` enter ``forking_allowed``."""
    monkeypatch.setenv(ENV, "2")
    assert processes(100_000, 10) == 1
    with forking_allowed():
        assert processes(100_000, 10) == 2
    assert processes(100_000, 10) == 1


def children_faults() -> int:
    """Page faults of this process's children so far: a fork's child always has some."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt


# -- the same answers in one process and in several -------------------------------------------

SCHEDULES = """\
version: 1
timezone: Europe/Paris
defaults: {{language: fr}}
variables: {{course: "Du Manager au Leader 2.0", tags: [leadership, MOOC]}}
campaigns:
  - id: essai
    name: Essai
    start: "2027-03-01 00:00"
    posts:
{posts}
"""
TEMPLATES = {
    "varie.j2": "Épisode {{ numero }} du MOOC {{ course }} : {{ sujet }} {{ tags | hashtags }}",
    "fixe.j2": "Le même texte à chaque fois sur {{ network }}",  # duplicates where refused
    "casse.j2": "{% if numero is divisibleby 7 %}{{ oubli }}{% endif %}Numéro {{ numero }}",
    "long.j2": "{{ sujet * (repete * 10) }}",  # over LinkedIn's limit for some posts
}


def _workspace(root: Path) -> Path:
    (root / "channels").mkdir(parents=True)
    for source in (REPO_ROOT / "channels").glob("*.yaml"):
        (root / "channels" / source.name).write_text(source.read_text())
    (root / "templates").mkdir()
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text, encoding="utf-8")
    posts = []
    channels = ["x-mooc", "facebook-page", "linkedin-page"]
    for number in range(90):
        template = list(TEMPLATES)[number % 4]
        channel = channels[number % 3]
        at = f"2027-03-{1 + number // 12:02d} {8 + number % 12:02d}:00"
        posts.append(f"""\
- id: post-{number:03d}
  template: {template.removesuffix('.j2')}
  at: "{at}"
  channels: [{channel}{', facebook-page' if number % 10 == 0 else ''}]
  variables: {{numero: {number}, sujet: "sujet {number % 5}", repete: {1 + number % 60}}}
""")
    # a template written for X only, asked for on Facebook too
    (root / "templates" / "seulx.x.j2").write_text("Pour X seulement", encoding="utf-8")
    posts.append('- {id: seul, template: seulx, at: "2027-03-09 10:00", '
                 'channels: [x-mooc, facebook-page]}\n')
    body = textwrap.indent("".join(posts), " " * 6)
    (root / "schedules.yaml").write_text(SCHEDULES.format(posts=body), encoding="utf-8")
    return root


def _checked(root: Path) -> PlanCheck:
    workspace, _ = load_workspace(root, settings_lookup=None)
    return check_plan(workspace, plan_workspace(workspace).deliveries)


def test_a_plan_checked_in_several_processes_gives_what_one_process_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _workspace(tmp_path / "ws")
    monkeypatch.setenv(ENV, "1")
    alone = _checked(root)
    messages = [str(p) for p in alone.problems]
    # the plan has every kind of outcome the split must carry back
    assert any("undefined variable 'oubli'" in m for m in messages), messages
    assert any("'seulx' has no variant for facebook" in m for m in messages), messages
    assert any("same text" in m for m in messages), messages
    assert any("more than the 3000 linkedin accepts" in m for m in messages), messages
    assert len(alone.texts) > 50
    for count in ("2", "3"):
        monkeypatch.setenv(ENV, count)
        before = children_faults()
        with forking_allowed():
            assert processes(len(alone.texts), 10_000) == int(count)
            split = _checked(root)
        assert children_faults() > before  # the plan was checked in children
        assert [str(p) for p in split.problems] == messages
        assert split.summary == alone.summary
        assert split.texts == alone.texts
        assert list(split.texts) == list(alone.texts)
    assert _no_children_left()


CHILD_OUTLIVES = """
import os, sys, threading
from cm_toolkit.cores import split_work
def work(chunk):
    if chunk == [1]:  # the child: say who it is, then take long
        open(sys.argv[1], "w").write(str(os.getpid()))
        threading.Event().wait(60)
    else:
        threading.Event().wait(60)
    return chunk
split_work(work, [[0], [1]])
"""


def test_a_child_ends_with_its_parent(tmp_path: Path) -> None:
    """``kill -9`` of ``cm check`` leaves no child working on (``prctl`` death signal)."""
    import signal
    import subprocess
    import sys
    import time

    marker = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", CHILD_OUTLIVES, str(marker)])
    try:
        for _ in range(600):  # the child has started (no time limit is asserted, only a hang cap)
            if marker.exists() and marker.read_text():
                break
            time.sleep(0.05)
        child = int(marker.read_text())
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        for _ in range(600):
            if not _running(child):
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the child outlived its parent by 30 s")
    finally:
        parent.kill()
        parent.wait()


def _running(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped by init has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
