from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.errors import LedgerError
from cm_toolkit.ledger import ALLOWED_TRANSITIONS, DeliveryState, EventKind, Ledger
from cm_toolkit.ledger.apply import apply, diff
from cm_toolkit.planning import plan_workspace
from tests.claiming import claim

from .conftest import workspace

DUE = datetime(2027, 2, 1, 9, tzinfo=UTC)  # 10:00 Paris
LEASE = timedelta(minutes=5)
S = DeliveryState


def planned_ids(ledger: Ledger, root: Path, count: int = 1) -> list[int]:
    posts = [{"id": f"p{n}", "template": "t", "channels": ["x-mooc"],
              "at": datetime(2027, 2, 1, 10)} for n in range(count)]
    apply(diff(plan_workspace(workspace(root, posts)), ledger), ledger, DUE - timedelta(days=30))
    return [row.delivery.id for row in ledger.next_due(limit=count)]


def test_two_concurrent_claimers_never_both_win(ledger: Ledger, tmp_path: Path) -> None:
    ids = planned_ids(ledger, tmp_path, count=30)
    barrier = threading.Barrier(2)

    def worker(name: str) -> list[int]:
        barrier.wait()  # both start together, then race on every delivery
        return [i for i in ids if claim(ledger, i, name, DUE, LEASE)]

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(worker, name) for name in ("a", "b")}
        wins = {name: future.result() for name, future in futures.items()}  # re-raises
    assert sorted(wins["a"] + wins["b"]) == sorted(ids)  # each exactly once
    assert not set(wins["a"]) & set(wins["b"])
    for delivery_id in ids:
        row = ledger.get(delivery_id)
        assert row is not None and row.state is S.SENDING and row.attempts == 1
        assert row.claimed_by in wins and delivery_id in wins[row.claimed_by]


def test_claim_with_a_stale_version_loses(ledger: Ledger, tmp_path: Path) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    row = ledger.get(delivery_id)
    assert row is not None
    seen = ledger.snapshot(delivery_id)
    assert seen is not None and seen.version == row.version
    assert not ledger.claim(replace(seen, version=row.version + 1), "w", DUE, LEASE)
    assert ledger.claim(seen, "w", DUE, LEASE)
    assert not ledger.claim(seen, "w2", DUE, LEASE)  # the same version, claimed meanwhile
    assert not claim(ledger, delivery_id, "w2", DUE, LEASE)  # read again: it is sending


def test_claim_only_when_due_and_within_grace(ledger: Ledger, tmp_path: Path) -> None:
    delivery_id, other = planned_ids(ledger, tmp_path, count=2)  # default grace: 2 hours
    assert not claim(ledger, delivery_id, "w", DUE - timedelta(seconds=1), LEASE)
    assert not claim(ledger, delivery_id, "w", DUE + timedelta(hours=2, seconds=1), LEASE)
    seen = ledger.snapshot(delivery_id)
    assert seen is not None  # early: the publisher's prepare-ahead, and not a hair more
    early = timedelta(milliseconds=40)
    assert not ledger.claim(seen, "w", DUE - early - timedelta(milliseconds=1), LEASE,
                            early=early)
    assert ledger.claim(seen, "w", DUE - early, LEASE, early=early)
    assert ledger.transition(other, S.MISSED, DUE + timedelta(hours=3), EventKind.MISSED)
    assert not claim(ledger, other, "w", DUE, LEASE)


def test_outcome_and_retry_cycle(ledger: Ledger, tmp_path: Path) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    assert claim(ledger, delivery_id, "w", DUE, LEASE)
    retry_at = DUE + timedelta(minutes=15)
    ledger.record_outcome(delivery_id, "w", S.RETRY_WAIT, DUE, error="429", retry_at=retry_at)
    assert not claim(ledger, delivery_id, "w", retry_at - timedelta(seconds=1), LEASE)
    assert claim(ledger, delivery_id, "w", retry_at, LEASE)
    ledger.record_outcome(delivery_id, "w", S.PUBLISHED, retry_at, remote_id="42",
                          remote_url="https://x.com/i/42", rendered_text="Bonjour")
    row = ledger.get(delivery_id)
    assert row is not None
    assert (row.state, row.attempts, row.remote_id, row.rendered_text, row.next_attempt_at) == (
        S.PUBLISHED, 2, "42", "Bonjour", None)
    transitions = [(e.from_state, e.to_state) for e in ledger.events(delivery_id)]
    assert transitions == [(None, S.PLANNED), (S.PLANNED, S.SENDING), (S.SENDING, S.RETRY_WAIT),
                           (S.RETRY_WAIT, S.SENDING), (S.SENDING, S.PUBLISHED)]
    # published is final
    assert not ledger.transition(delivery_id, S.PLANNED, retry_at, EventKind.RESOLVED)


def test_outcome_from_a_worker_without_the_claim_is_refused(ledger: Ledger,
                                                            tmp_path: Path) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    assert claim(ledger, delivery_id, "w1", DUE, LEASE)
    with pytest.raises(LedgerError, match="not being sent by w2"):
        ledger.record_outcome(delivery_id, "w2", S.PUBLISHED, DUE)


def test_expired_lease_becomes_unknown_and_is_never_reclaimed(ledger: Ledger,
                                                              tmp_path: Path) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    assert claim(ledger, delivery_id, "w1", DUE, LEASE)
    assert ledger.expire_leases(DUE + LEASE - timedelta(seconds=1)) == []
    assert ledger.expire_leases(DUE + LEASE + timedelta(seconds=1)) == [delivery_id]
    assert not claim(ledger, delivery_id, "w2", DUE + LEASE, LEASE)
    with pytest.raises(LedgerError):
        ledger.record_outcome(delivery_id, "w1", S.PUBLISHED, DUE + LEASE)
    # a person decides to resend it
    assert ledger.transition(delivery_id, S.PLANNED, DUE + LEASE, EventKind.RESOLVED,
                             {"by": "alice"})
    row = ledger.get(delivery_id)
    assert row is not None and row.state is S.PLANNED


def test_transition_table_is_enforced(ledger: Ledger, tmp_path: Path) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    assert not ledger.transition(delivery_id, S.PUBLISHED, DUE, EventKind.RESOLVED)
    assert ALLOWED_TRANSITIONS[S.PUBLISHED] == frozenset()
    assert S.SENDING not in ALLOWED_TRANSITIONS[S.UNKNOWN]  # never re-sent automatically


def test_times_are_utc_in_and_out_and_naive_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    paris_due = DUE.astimezone(ZoneInfo("Europe/Paris"))
    assert claim(ledger, delivery_id, "w", paris_due, LEASE)
    row = ledger.get(delivery_id)
    assert row is not None and row.claimed_at == DUE and row.claimed_at.tzinfo is UTC
    with pytest.raises(ValueError, match="aware"):
        claim(ledger, delivery_id, "w", DUE.replace(tzinfo=None), LEASE)


def test_concurrent_claimers_of_one_snapshot_never_both_win(ledger: Ledger,
                                                            tmp_path: Path) -> None:
    """As the publisher claims: every worker read the same snapshot; one wins each."""
    ids = planned_ids(ledger, tmp_path, count=30)
    seen = {i: ledger.snapshot(i) for i in ids}
    barrier = threading.Barrier(2)

    def worker(name: str) -> list[int]:
        barrier.wait()
        won = []
        for i in ids:
            snapshot = seen[i]
            assert snapshot is not None
            if ledger.claim(snapshot, name, DUE, LEASE):
                won.append(i)
        return won

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(worker, ["w1", "w2"])
    assert sorted(first + second) == sorted(ids)
    assert not set(first) & set(second)
    for delivery_id in ids:
        events = [e.kind for e in ledger.events(delivery_id)]
        assert events.count(EventKind.CLAIMED) == 1
    # a snapshot taken before the claim is stale now: it never wins again
    stale = seen[ids[0]]
    assert stale is not None and not ledger.claim(stale, "w3", DUE, LEASE)


def test_record_outcome_is_refused_once_the_claim_was_taken_away(
    ledger: Ledger, tmp_path: Path
) -> None:
    [delivery_id] = planned_ids(ledger, tmp_path)
    snapshot = ledger.snapshot(delivery_id)
    assert snapshot is not None and ledger.claim(snapshot, "w1", DUE, LEASE,
                                                          text="Bonjour !")
    assert ledger.expire_leases(DUE + LEASE + timedelta(seconds=1)) == [delivery_id]
    with pytest.raises(LedgerError, match="not being sent by w1"):
        ledger.record_outcome(delivery_id, "w1", DeliveryState.PUBLISHED, DUE + LEASE * 2)
    row = ledger.get(delivery_id)
    assert row is not None and row.state is DeliveryState.UNKNOWN
    assert row.rendered_text == "Bonjour !"  # kept by the claim: what to look for online
