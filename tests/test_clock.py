"""The replay clock waits for due work (``WarpClock`` as a ``GatedClock``): a stalled machine
makes ``cm demo`` slower, never makes a delivery miss its instant. Every assertion below holds
however slow the machine is: the clock stands at a gate until it is released."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from cm_toolkit.clock import GatedClock, WarpClock
from cm_toolkit.scheduler.alarms import AlarmClock

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _hour_a_second() -> WarpClock:
    return WarpClock([(0.0, START), (1.0, START + timedelta(hours=1))])



def test_the_clock_stands_at_a_gate_until_it_is_released() -> None:
    clock = _hour_a_second()
    due = START + timedelta(minutes=6)  # 0.1 s of real time
    clock.gate("d1", due)
    time.sleep(0.3)
    assert clock.now() == due
    with clock.hold():  # released under hold, as the runner does: nothing moves meanwhile
        clock.release("d1")
        assert clock.now() == due
    assert clock.now() >= due


def test_a_later_gate_does_not_release_an_earlier_one() -> None:
    clock = _hour_a_second()
    first, second = START + timedelta(minutes=3), START + timedelta(minutes=6)
    clock.gate("a", first)
    clock.gate("b", second)
    time.sleep(0.3)
    clock.release("b")
    assert clock.now() == first
    clock.release("a")
    time.sleep(0.3)
    assert clock.now() >= second  # no gate left: it runs again


def test_an_instant_already_passed_sets_no_gate_and_a_forgotten_gate_expires() -> None:
    clock = _hour_a_second()
    time.sleep(0.2)
    clock.gate("past", START)  # passed: the clock must not go back
    assert clock.now() > START
    clock.GATE_LIMIT_SECONDS = 0.2  # type: ignore[misc]
    stuck = clock.now() + timedelta(seconds=1)
    clock.gate("never released", stuck)
    time.sleep(0.6)
    assert clock.now() > stuck  # held at most the limit, never frozen
    assert isinstance(clock, GatedClock)


def test_the_alarm_clock_gates_each_alarm_until_it_rings() -> None:
    clock = _hour_a_second()
    stalled = threading.Event()
    rung: list[datetime] = []
    alarms: AlarmClock

    def ring(delivery_id: int) -> None:
        stalled.wait(5)  # the machine is slow to run the job
        with clock.hold():
            alarms.rang(delivery_id)
            rung.append(clock.now())

    alarms = AlarmClock(clock, ring, threads=2)
    alarms.start()
    try:
        due = START + timedelta(minutes=6)
        alarms.set(7, due)
        time.sleep(0.5)  # the alarm has rung, its job is stalled
        assert clock.now() == due
        stalled.set()
        deadline = time.monotonic() + 10
        while not rung and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rung == [due]  # the job saw its own instant, however long it stalled
    finally:
        alarms.shutdown()
