"""The crash test for inbox replies (``test_crash_replies.py``) on a PostgreSQL ledger.

A file of its own so that ``make test`` runs it beside the other crash runs (``--dist
loadfile``); marked ``slow`` (``-m 'not slow'`` skips it for a quick loop).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ledger_fixtures import database_url  # noqa: F401 (fixture)
from tests.scheduler.reply_crash import judge_replies


@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang detector: a loaded machine is slow, not hung
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_killing_replies_on_a_postgresql_ledger_never_answers_twice(
    tmp_path: Path, database_url: str  # noqa: F811
) -> None:
    judge_replies(tmp_path, database_url, 22)
