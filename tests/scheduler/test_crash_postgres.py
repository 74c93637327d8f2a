"""The crash test (``test_crash.py``) on a PostgreSQL ledger, faults on: ``cm run`` killed
with SIGKILL at random instants, 20+ times, while it publishes 240 posts against the sandbox,
then restarted and let finish. Nothing is lost and nothing reaches a network twice.

A file of its own so that ``make test`` runs it beside the other crash runs (``--dist
loadfile``); marked ``slow`` (``-m 'not slow'`` skips it for a quick loop).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ledger_fixtures import database_url  # noqa: F401 (fixture)
from tests.scheduler.crash_runs import FAULTS, judge_crash


@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang detector: a loaded machine is slow, not hung
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_killing_cm_run_on_a_postgresql_ledger_loses_nothing_and_publishes_nothing_twice(
    tmp_path: Path, database_url: str  # noqa: F811
) -> None:
    """The same, faults on, with the ledger a team shares: PostgreSQL's compare-and-set, its
    run lock (an advisory lock the server gives back when the killed process's connection
    drops) and orphan recovery."""
    judge_crash(tmp_path, FAULTS, 13, database_url, "PostgreSQL")
