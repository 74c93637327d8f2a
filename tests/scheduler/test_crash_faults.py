"""The crash test (``test_crash.py``) on a SQLite ledger with faults: the sandbox answers 429,
500, timeouts, expired tokens and lost answers (after the post was created, or before) now and
then while ``cm run`` is SIGKILLed 20+ times. Nothing is lost and nothing reaches a network
twice.

A file of its own so that ``make test`` runs it beside the other crash runs (``--dist
loadfile``); marked ``slow`` (``-m 'not slow'`` skips it for a quick loop).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scheduler.crash_runs import FAULTS, judge_crash


@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang detector: a loaded machine is slow, not hung
def test_killing_cm_run_with_faults_loses_nothing_and_publishes_nothing_twice(
    tmp_path: Path,
) -> None:
    judge_crash(tmp_path, FAULTS, 12, f"sqlite:///{tmp_path / 'cm.db'}", "SQLite")
