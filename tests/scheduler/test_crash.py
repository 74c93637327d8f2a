"""The crash test: ``cm run`` killed with SIGKILL at random instants, 20+ times, while it
publishes 240 posts against the sandbox, then restarted and let finish. Nothing is lost and
nothing reaches a network twice; the judge (``tests/scheduler/crash.py``) is tested too, on a
synthetic journal, so that it can fail.

Here on a SQLite ledger without faults. Each other long run has a file of its own, so that
``make test``'s two workers (``--dist loadfile``: one file, one unit of work) run them side by
side: SQLite with faults (``test_crash_faults.py``), PostgreSQL with faults
(``test_crash_postgres.py``) and a cluster of three workers (``test_crash_cluster.py``). The
run and its verdict are in ``crash_runs.py``.

Runs in ``make test`` (marked ``slow``: ``-m 'not slow'`` skips it for a quick loop).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cm_toolkit.ledger.states import DeliveryState
from tests.scheduler.crash import CreateCall, Outcome, check_exactly_once, create_calls
from tests.scheduler.crash_runs import judge_crash

S = DeliveryState


# -- the judge itself ------------------------------------------------------------------------

def test_the_checker_accepts_once_and_unknown_with_reason() -> None:
    outcomes = [Outcome("p0000", S.PUBLISHED, None), Outcome("p0001", S.UNKNOWN, "no answer"),
                Outcome("p0002", S.MISSED, "grace closed"), Outcome("p0003", S.RETRY_WAIT, None)]
    calls = [CreateCall(1, "p0000", 429, "429"), CreateCall(2, "p0000", 201, None),
             CreateCall(3, "p0001", None, "drop-after-commit")]
    assert check_exactly_once(outcomes[:3], calls) == []
    assert check_exactly_once(outcomes, calls) == ["p0003 (retry_wait): lost, never finished"]


def test_the_checker_catches_a_duplicate_and_a_resend() -> None:
    outcomes = [Outcome("p0000", S.PUBLISHED, None), Outcome("p0001", S.FAILED, "duplicate")]
    calls = [CreateCall(1, "p0000", 201, None), CreateCall(2, "p0000", 201, None),
             CreateCall(3, "p0001", None, "timeout"), CreateCall(4, "p0001", 403, None),
             CreateCall(5, None, 201, None, "x", '{"text": "hello"}'), CreateCall(6, None, 400, None)]
    assert check_exactly_once(outcomes, calls) == [
        "1 create call(s) for a post nobody planned (unrecognised text)",
        """  #5 x 201 None: '{"text": "hello"}'""",
        "p0000 (published): created 2 times (journal #1, #2)",
        "p0000 (published): published in the ledger, created 2 times",
        "p0001 (failed): sent again after it reached the network (journal #3, then #4)",
        "p0001 (failed): the network has it, the ledger says failed",
    ]


def test_create_calls_are_matched_by_their_text_on_every_network(tmp_path: Path) -> None:
    from tests.scheduler.crash import CREATE_CALLS

    assert set(CREATE_CALLS) == {"x", "facebook", "linkedin", "mastodon", "bluesky"}
    from cm_toolkit.sandbox.journal import JournalEntry

    def entry(seq: int, network: str, path: str, body: str) -> JournalEntry:
        return JournalEntry(seq, datetime.now(UTC), network, "POST", "h", path, "", {}, body, 201)

    calls = create_calls([
        entry(1, "x", "/2/tweets", '{"text": "crash test post p0007 n7"}'),
        entry(2, "facebook", "/v24.0/104857600123456/feed", "message=crash+test+post+p0008+n8"),
        entry(3, "linkedin", "/rest/posts", '{"commentary": "crash test post p0009 n9"}'),
        entry(4, "x", "/2/oauth2/token", "grant_type=refresh_token"),
        entry(5, "mastodon", "/api/v1/statuses", "status=crash+test+post+p0010+n10&sensitive=0"),
    ])
    assert [(c.seq, c.post_id) for c in calls] == [
        (1, "p0007"), (2, "p0008"), (3, "p0009"), (5, "p0010")]


def test_the_checker_takes_a_replay_under_the_same_key_for_no_creation() -> None:
    """A Mastodon create re-sent with its Idempotency-Key after a lost answer is answered with
    the status already created: one post. Sent again without the replay, it is a duplicate."""
    outcomes = [Outcome("p0000", S.PUBLISHED, None)]
    lost = CreateCall(1, "p0000", None, "drop-after-commit", "mastodon")
    replay = CreateCall(2, "p0000", 200, None, "mastodon", replayed=True)
    assert check_exactly_once(outcomes, [lost, replay]) == []
    again = CreateCall(2, "p0000", 200, None, "mastodon")
    assert check_exactly_once(outcomes, [lost, again]) == [
        "p0000 (published): created 2 times (journal #1, #2)",
        "p0000 (published): published in the ledger, created 2 times",
    ]


# -- the crash test --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(900)  # a hang detector: a loaded machine is slow, not hung
def test_killing_cm_run_loses_nothing_and_publishes_nothing_twice(tmp_path: Path) -> None:
    judge_crash(tmp_path, "", 11, f"sqlite:///{tmp_path / 'cm.db'}", "SQLite")
