"""Pacing held in PostgreSQL: two pacers (two workers of a cluster) on one ledger share one
account's spacing and budget; a delivery told to wait keeps its place. Times are given, not
read from a clock: the outcome does not depend on how fast the test runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cm_toolkit.channels.mastodon import MastodonChannel
from cm_toolkit.ledger import Ledger
from cm_toolkit.scheduler.global_pacing import PostgresPacer
from cm_toolkit.scheduler.pacing import Budget
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
    assert first.before_send("x-mooc", "x", T0 + SPACING) is None


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
    assert second.before_send("x-mooc", "x", late) is None
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
    first.release("x-mooc", T0)  # another worker claimed the delivery: nothing sent here
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
