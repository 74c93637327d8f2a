"""Pacing: spacing per account, network budgets, and a 429's reset honoured."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from cm_toolkit.channels.manual import ManualChannel
from cm_toolkit.channels.x import XChannel
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.scheduler.pacing import Budget, Pacer
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import SMALL_X_BUDGET, START, Rig
from tests.scheduler.workspace import post

S = DeliveryState


def _drain(rig: Rig, keys: list[tuple[str, str]], pacer: Pacer, until: timedelta) -> None:
    """Run every delivery at each instant it asks for, as the alarm clock would, until done."""
    publisher = rig.publisher(pacer=pacer)
    waiting = {rig.row(*key).id: START for key in keys}
    while waiting:
        delivery_id, at = min(waiting.items(), key=lambda item: (item[1], item[0]))
        assert at - START <= until, f"still waiting at {at}"
        rig.clock.set(max(at, rig.clock.now()))
        attempt = publisher.run(delivery_id)
        if attempt.step in (Step.DEFERRED, Step.RETRY):
            assert attempt.at is not None
            waiting[delivery_id] = attempt.at
        else:
            assert attempt.step is Step.PUBLISHED, attempt
            del waiting[delivery_id]


def _create_times(rig: Rig, network: str) -> list[timedelta]:
    return [entry.at - START for entry in rig.creates(network) if entry.status in (200, 201)]


def test_posts_on_one_account_are_at_least_spacing_apart(rig: Rig) -> None:
    rig.apply([post(f"p{n}", START, ["x-mooc", "facebook-page"]) for n in range(4)],
              spacing=timedelta(minutes=5))
    keys = [(f"p{n}", channel) for n in range(4) for channel in ("x-mooc", "facebook-page")]
    _drain(rig, keys, Pacer(timedelta(minutes=5), budgets={}), until=timedelta(hours=1))
    for network in ("x", "facebook"):
        times = _create_times(rig, network)
        assert len(times) == 4
        assert [b - a for a, b in pairwise(times)] == [timedelta(minutes=5)] * 3
    # two accounts are independent: both start at once
    assert _create_times(rig, "x")[0] == _create_times(rig, "facebook")[0] == timedelta(0)


def test_a_burst_on_x_keeps_within_the_budget(rig: Rig) -> None:
    rig.apply([post(f"p{n}", START, ["x-mooc"]) for n in range(7)])
    _drain(rig, [(f"p{n}", "x-mooc") for n in range(7)],
           Pacer(timedelta(0), budgets=SMALL_X_BUDGET), until=timedelta(hours=1))
    times = _create_times(rig, "x")
    window = SMALL_X_BUDGET["x"].window
    assert times == [timedelta(0)] * 3 + [window] * 3 + [2 * window]
    for t in times:  # never more than 3 in any 15-minute window
        assert sum(1 for other in times if t <= other < t + window) <= 3
    assert not [e for e in rig.creates("x") if e.status == 429]


def test_the_pacer_answers_the_earliest_allowed_instant() -> None:
    pacer = Pacer(timedelta(minutes=1), budgets={"x": Budget(2, timedelta(minutes=10))})
    assert pacer.reserve("x-mooc", "x", START) is None
    assert pacer.reserve("x-mooc", "x", START) == START + timedelta(minutes=1)
    assert pacer.reserve("x-mooc", "x", START + timedelta(minutes=1)) is None
    assert pacer.reserve("x-mooc", "x", START + timedelta(minutes=2)) == (
        START + timedelta(minutes=10))
    pacer.release("x-mooc", START + timedelta(minutes=1))  # that send did not happen after all
    assert pacer.reserve("x-mooc", "x", START + timedelta(minutes=2)) is None


def test_budgets_are_the_adapters_own() -> None:
    """With no budgets given, each network's comes from its adapter class (plugins alike)."""
    pacer = Pacer(timedelta(0))
    x = XChannel.budget
    assert x is not None and x.usable == 95  # X's 100 per 15 minutes, 5 kept spare
    for _ in range(x.usable):
        assert pacer.reserve("x-mooc", "x", START) is None
    assert pacer.reserve("x-mooc", "x", START) == START + x.window
    # the manual adapter declares no budget: beyond the spacing, nothing holds a send back
    assert ManualChannel.budget is None
    assert all(pacer.reserve("tasks", "manual", START) is None for _ in range(500))


def test_no_slot_inside_the_grace_window_is_missed_not_sent_late(rig: Rig) -> None:
    rig.apply([post(f"p{n}", START, ["x-mooc"], grace=timedelta(minutes=10)) for n in range(4)])
    publisher = rig.publisher(pacer=Pacer(timedelta(0), budgets=SMALL_X_BUDGET))
    steps = [publisher.run(rig.row(f"p{n}", "x-mooc").id).step for n in range(4)]
    assert steps == [Step.PUBLISHED] * 3 + [Step.MISSED]
    assert "no slot inside its grace window" in (rig.row("p3", "x-mooc").last_error or "")


def test_a_rate_limit_reset_is_honoured_by_the_retry(rig: Rig) -> None:
    rig.sandbox.faults.reset_after = 600
    rig.sandbox.faults.add("x:429@once/2/tweets")
    rig.apply([post("p0", START, ["x-mooc"])])
    _drain(rig, [("p0", "x-mooc")], Pacer(timedelta(0), budgets={}), until=timedelta(hours=1))
    refused, sent = rig.creates("x")
    assert refused.status == 429 and sent.status == 201
    assert sent.at - refused.at >= timedelta(seconds=600)
    assert rig.row("p0", "x-mooc").state is S.PUBLISHED
