"""The cluster crash test: three ``cm run`` workers on one PostgreSQL ledger, the leader
SIGKILLed again and again (machinery: ``cluster_crash.py``), judged like the single-process
crash test (``test_crash.py``).

A file of its own so that ``make test`` runs it beside the other crash runs (``--dist
loadfile``); marked ``slow`` (``-m 'not slow'`` skips it for a quick loop).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

import pytest

from cm_toolkit.sandbox.server import Sandbox
from tests.ledger_fixtures import database_url  # noqa: F401 (fixture)
from tests.scheduler.cluster_crash import ClusterCrashRun
from tests.scheduler.crash import check_exactly_once, create_calls, describe
from tests.scheduler.crash_runs import FAULTS
from tests.scheduler.workspace import crash_workspace


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_cluster_of_three_workers_survives_its_leader_killed_again_and_again(
    tmp_path: Path, database_url: str  # noqa: F811
) -> None:
    """Three ``cm run`` workers on one PostgreSQL ledger (a Procrastinate cluster), faults on;
    the leader (the one that plans) SIGKILLed 20 times at random instants, a new worker started
    each time. Every post reaches its network once or is unknown with a reason, another worker
    takes the lead after each kill, and the sends are spread over the workers."""
    sandbox = Sandbox(seed=14, faults=FAULTS)
    sandbox.faults.reset_after = 2
    sandbox.faults.timeout_delay = 11.0
    with sandbox.running() as running:
        start = datetime.now(UTC) + timedelta(seconds=6)
        texts = crash_workspace(tmp_path / "ws", start)
        crash = ClusterCrashRun(root=tmp_path / "ws", database_url=database_url,
                                sandbox_url=running.base_url, logs=tmp_path / "logs",
                                token_dir=tmp_path / "tokens", rng=Random(14),
                                gap=(0.2, 1.2), finish_within=100.0)
        crash.run()
        calls = create_calls(running.journal.entries())
    outcomes = crash.outcomes()
    assert len(outcomes) == len(texts) == 240
    problems = check_exactly_once(outcomes, calls) + crash.leftovers()
    senders = crash.senders()
    print(f"{len(crash.killed_at)} leaders SIGKILLed at {[round(t, 1) for t in crash.killed_at]}"
          f" s; a new leader after {[round(t, 1) for t in crash.failovers]} s; "
          f"{describe(outcomes, calls)}; {crash.recovered()} claims released (never sent); "
          f"published by {len(senders)} workers: {sorted(senders.values(), reverse=True)}")
    assert len(crash.killed_at) >= 20
    assert len(crash.failovers) == len(crash.killed_at)  # a leader again after every kill
    assert crash.exit_code == 0, crash.stderr(crash.next_index - 1)
    assert problems == [], "\n".join(problems[:40])
    assert crash.unknown_without_text() == 0
    # the work is spread: several workers sent, none sent nearly everything
    assert len(senders) >= 3
    assert max(senders.values()) < 0.8 * sum(senders.values())
