"""Pacing held in PostgreSQL: two pacers (two workers of a cluster) on one ledger share one
account's spacing and budget; a delivery told to wait keeps its place; a request waits for the
answer to the other worker's previous request on the account, plus the spacing. Times are given,
not read from a clock: the outcome does not depend on how fast the test runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cm_toolkit.channels.mastodon import MastodonChannel
from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.apply import apply, diff
from cm_toolkit.planning import plan_workspace
from cm_toolkit.scheduler.global_pacing import IN_FLIGHT_CAP, POLL, PostgresPacer
from cm_toolkit.scheduler.pacing import Budget
from tests.claiming import claim
from tests.ledger.conftest import workspace
from tests.ledger_fixtures import database_url, ledger  # noqa: F401 (fixtures)

pytestmark = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SPACING = timedelta(seconds=10)


def pacers(on: Ledger, budget: Budget | None = None) -> tuple[PostgresPacer, PostgresPacer]:
    budgets = {"x": budget} if budget else {}
    return (PostgresPacer(on.write_engine, SPACING, budgets),
            PostgresPacer(on.write_engine, SPACING, budgets))


def test_two_workers_keep_one_account_spaced(ledger: Ledger) -> None:  # noqa: F811
    first, second = pacers(ledger)
    assert first.reserve("x-mooc", "x", T0, key=1) is None  # granted now
    # the other worker, one second later, on the same account: told to come back
    assert second.reserve("x-mooc", "x", T0 + timedelta(seconds=1), key=2) == T0 + SPACING
    # a third delivery queues after the place already handed out, not at the same instant
    assert first.reserve("x-mooc", "x", T0 + timedelta(seconds=2), key=3) == T0 + 2 * SPACING
    # another account is not held back
    assert second.reserve("x-other", "x", T0 + timedelta(seconds=1), key=4) is None
    # delivery 2 comes back at its place, on the other worker: granted
    assert first.reserve("x-mooc", "x", T0 + SPACING, key=2) is None
    assert first.before_send("x-mooc", "x", T0 + SPACING, key=2) is None


def test_places_come_back_late_are_spaced_from_each_other(ledger: Ledger) -> None:  # noqa: F811
    """Jobs fetched late (a backlog) find their kept places past: they are not all granted
    at the instant they come back, each is spaced from the send granted before it. With a
    budget (X's) the places stay in the window the pacer reads."""
    first, second = pacers(ledger, Budget(100, timedelta(minutes=15)))
    assert first.reserve("x-mooc", "x", T0, key=1) is None
    assert second.reserve("x-mooc", "x", T0, key=2) == T0 + SPACING
    assert first.reserve("x-mooc", "x", T0, key=3) == T0 + 2 * SPACING
    late = T0 + 5 * SPACING  # both come back long after their places, on two workers
    assert second.reserve("x-mooc", "x", late, key=2) is None  # leaves now
    assert second.before_send("x-mooc", "x", late, key=2) is None
    assert first.reserve("x-mooc", "x", late, key=3) == late + SPACING  # not with it
    assert first.reserve("x-mooc", "x", late + SPACING, key=3) is None
    # a new delivery queues after both
    assert second.reserve("x-mooc", "x", late + SPACING, key=4) == late + 2 * SPACING


def test_the_budget_holds_across_workers(ledger: Ledger) -> None:  # noqa: F811
    budget = Budget(3, timedelta(minutes=1))
    first, second = pacers(ledger, budget)
    granted = []
    at = T0
    for key in range(1, 5):  # four sends asked, each after the spacing, on alternate workers
        pacer = first if key % 2 else second
        answer = pacer.reserve("x-mooc", "x", at, key=key)
        granted.append(answer is None)
        at += SPACING
    assert granted == [True, True, True, False]  # the fourth waits for the window
    assert second.reserve("x-mooc", "x", T0 + timedelta(minutes=1), key=4) is None


def test_a_grant_whose_claim_was_lost_is_given_back(ledger: Ledger) -> None:  # noqa: F811
    first, second = pacers(ledger)
    assert first.reserve("x-mooc", "x", T0, key=1) is None
    first.release("x-mooc", T0, key=1)  # another worker claimed the delivery: nothing sent here
    assert second.reserve("x-mooc", "x", T0 + timedelta(seconds=1), key=2) is None


def test_with_no_budgets_given_the_adapters_budget_holds(ledger: Ledger) -> None:  # noqa: F811
    """Mastodon's adapter declares its budget; the PostgreSQL pacer reads it like the other."""
    budget = MastodonChannel.budget
    assert budget is not None
    first = PostgresPacer(ledger.write_engine, timedelta(0))
    second = PostgresPacer(ledger.write_engine, timedelta(0))
    for key in range(budget.usable):
        assert (first if key % 2 else second).reserve("toots", "mastodon", T0, key=key) is None
    assert first.reserve("toots", "mastodon", T0, key=-1) == T0 + budget.window


def sending(ledger: Ledger, root: Path, count: int) -> list[int]:  # noqa: F811
    """``count`` deliveries on x-mooc, claimed (``sending``) as a worker does before its request."""
    posts = [{"id": f"p{n}", "template": "t", "channels": ["x-mooc"],
              "at": datetime(2027, 3, 1, 10)} for n in range(count)]
    apply(diff(plan_workspace(workspace(root, posts)), ledger), ledger, T0 - timedelta(days=30))
    ids = [row.delivery.id for row in ledger.next_due(limit=count)]
    assert len(ids) == count and all(claim(ledger, i, "w", T0, timedelta(minutes=10))
                                     for i in ids)
    return ids


def test_a_request_waits_for_the_answer_to_the_other_workers_request(
        ledger: Ledger, tmp_path: Path) -> None:  # noqa: F811
    """Granted ``spacing`` apart, but the first request is slow to be answered: the second,
    on the other worker, leaves only at that answer plus the spacing (where the network
    counts them), not at its grant."""
    a, b = sending(ledger, tmp_path, 2)
    first, second = pacers(ledger)
    assert first.reserve("x-mooc", "x", T0, key=a) is None
    assert first.before_send("x-mooc", "x", T0, key=a) is None  # a's request leaves at T0
    assert second.reserve("x-mooc", "x", T0 + SPACING, key=b) is None  # b's slot: granted
    # a is still in flight: b asks again shortly, however long a takes
    assert second.before_send("x-mooc", "x", T0 + SPACING, key=b) == T0 + SPACING + POLL
    later = T0 + SPACING + timedelta(seconds=3)
    assert second.before_send("x-mooc", "x", later, key=b) == later + POLL
    first.sent("x-mooc", later, key=a)  # a's answer, 3 s late
    assert second.before_send("x-mooc", "x", later, key=b) == later + SPACING
    assert second.before_send("x-mooc", "x", later + SPACING, key=b) is None  # b leaves
    # and the first worker's next request waits for b's answer in turn
    assert first.before_send("x-mooc", "x", later + SPACING, key=None) == (
        later + SPACING + POLL)
    # the budget counts a's send from its answer: a new reserve is spaced from there
    second.sent("x-mooc", later + SPACING, key=b)
    assert first.reserve("x-mooc", "x", later + SPACING, key=-1) == later + 2 * SPACING


def test_a_request_left_by_a_dead_worker_stops_holding_its_account(
        ledger: Ledger, tmp_path: Path) -> None:  # noqa: F811
    """The worker that sent ``a`` died before its answer: once recovery settles ``a``
    (``unknown``), or at the latest after the cap, the account moves on."""
    a, b, c = sending(ledger, tmp_path, 3)
    first, second = pacers(ledger)
    assert first.reserve("x-mooc", "x", T0, key=a) is None
    assert first.before_send("x-mooc", "x", T0, key=a) is None  # left; then SIGKILL
    assert second.reserve("x-mooc", "x", T0 + SPACING, key=b) is None
    assert second.before_send("x-mooc", "x", T0 + SPACING, key=b) == T0 + SPACING + POLL
    assert ledger.expire_leases(T0 + timedelta(minutes=11)) == [a, b, c]  # all settled
    assert second.before_send("x-mooc", "x", T0 + SPACING, key=b) is None
    # a slot without a delivery row waits for the cap alone
    third = PostgresPacer(ledger.write_engine, SPACING, {})
    assert third.before_send("x-other", "x", T0, key=None) is None
    assert first.before_send("x-other", "x", T0 + SPACING, key=None) == T0 + SPACING + POLL
    assert first.before_send("x-other", "x", T0 + IN_FLIGHT_CAP + POLL, key=None) is None
