"""Injectable clocks: what 'now' is, and when that instant happens on the wall.

The ledger, the publisher and the sandbox all ask a ``Clock`` for 'now'. The alarm clock
(APScheduler) only knows the wall clock, so a clock also maps an instant of its own time to the
wall-clock instant when it happens (``wall_time``): the identity for ``SystemClock``, a scaling
for ``ScaledClock`` (the demo replays a ten-week season in under a minute through the real
scheduler, with no shortcut path).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    def now(self) -> datetime: ...

    def wall_time(self, instant: datetime) -> datetime:
        """The real (wall-clock, UTC) instant at which this clock shows ``instant``."""
        ...

    def hold(self) -> AbstractContextManager[None]:
        """While held, a replay clock stands still (work in flight); real clocks ignore it."""
        ...


@runtime_checkable
class GatedClock(Protocol):
    """A replay clock that waits for due work: it does not pass an instant ``gate``d until that
    gate is released (the alarm clock gates each alarm's instant and releases it when the
    alarm rings, under ``hold``). So a stalled machine makes a replay slower, never makes a
    delivery miss its grace window."""

    def gate(self, key: object, instant: datetime) -> None: ...

    def release(self, key: object) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def wall_time(self, instant: datetime) -> datetime:
        return instant

    def hold(self) -> AbstractContextManager[None]:
        return nullcontext()


class ScaledClock:
    """Shows ``start`` when created, then runs ``speed`` seconds per real second."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start or datetime.now(UTC)
        self.speed = speed
        self._origin = time.monotonic()
        self._wall_origin = datetime.now(UTC)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    def wall_time(self, instant: datetime) -> datetime:
        return self._wall_origin + (instant - self.start) / self.speed

    def hold(self) -> AbstractContextManager[None]:
        return nullcontext()


class ManualClock:
    """Moves only when told to (tests). Its wall time is its own time."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def wall_time(self, instant: datetime) -> datetime:
        return instant

    def hold(self) -> AbstractContextManager[None]:
        return nullcontext()

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant


class WarpClock:
    """A replay clock that runs fast between events and slowly around them.

    A uniformly compressed season (ten weeks in forty seconds) would squeeze a two-hour grace
    window into forty milliseconds: any scheduling hiccup would become hours of lateness. The
    warp clock spends ``window_seconds`` of real time around each event instant (``before``
    to ``after`` it, in clock time) and races through the gaps, so the whole season still
    takes about ``total_seconds``. The mapping is piecewise linear and strictly increasing.

    ``hold()`` stops it while work is in flight (the runner holds it during each job), so the
    time a request takes on a busy machine never turns into hours of season: a token does not
    expire between its refresh and its use, and lateness is what the scheduler adds, not what
    the replay's speed multiplies.
    """

    # The longest a gate holds the clock (real seconds): an alarm that never rings (a bug, a
    # stopped runner) slows a replay down by this much at most, and never freezes it.
    GATE_LIMIT_SECONDS = 30.0

    def __init__(self, points: list[tuple[float, datetime]]) -> None:
        # (real seconds since creation, clock instant), increasing in both
        if len(points) < 2:
            raise ValueError("a warp clock needs at least two points")
        self._points = points
        self._gates: dict[object, datetime] = {}  # key -> the instant it must not pass
        self._origin = time.monotonic()
        self._wall_origin = datetime.now(UTC)
        self._lock = threading.Lock()
        self._holds = 0
        self._held_since = 0.0
        self._paused = 0.0  # real seconds spent held, not counted as clock time

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            if self._holds == 0:
                self._held_since = time.monotonic()
            self._holds += 1
        try:
            yield
        finally:
            with self._lock:
                self._holds -= 1
                if self._holds == 0:
                    self._paused += time.monotonic() - self._held_since

    def _raw_elapsed(self) -> float:
        """Real seconds of running (not held) time since creation, gates aside (lock held)."""
        current = self._held_since if self._holds else time.monotonic()
        return current - self._origin - self._paused

    def _gate_excess(self, raw: float) -> float:
        """Real seconds the earliest gate has been holding the clock at running time ``raw``
        (lock held). A gate held longer than ``GATE_LIMIT_SECONDS`` is dropped and its wait
        counted as paused time."""
        while self._gates:
            key, instant = min(self._gates.items(), key=lambda item: item[1])
            over = raw - self._real_at(instant)
            if over <= self.GATE_LIMIT_SECONDS:
                return max(0.0, over)
            del self._gates[key]
            self._paused += self.GATE_LIMIT_SECONDS
            raw -= self.GATE_LIMIT_SECONDS
        return 0.0

    def _running(self) -> tuple[float, float]:
        """(real seconds of running time since creation, not held and not waiting at a gate;
        the seconds waited at the gate now holding it) (lock held)."""
        raw = self._raw_elapsed()
        paused = self._paused
        excess = self._gate_excess(raw)
        raw -= self._paused - paused  # an expired gate's wait became paused time
        return raw - excess, excess

    def _elapsed(self) -> float:
        with self._lock:
            return self._running()[0]

    def _pause_offset(self) -> float:
        with self._lock:
            held_now = time.monotonic() - self._held_since if self._holds else 0.0
            return self._paused + held_now + self._running()[1]

    def gate(self, key: object, instant: datetime) -> None:
        """The clock does not pass ``instant`` until ``release(key)`` (at most
        ``GATE_LIMIT_SECONDS`` of real time); an instant already passed sets no gate."""
        with self._lock:
            if self._real_at(instant) > self._running()[0]:
                self._gates[key] = instant

    def release(self, key: object) -> None:
        with self._lock:
            excess = self._running()[1]
            instant = self._gates.pop(key, None)
            if instant is None:
                return
            if not self._gates or instant <= min(self._gates.values()):
                # it was the earliest: the time spent at it becomes paused time, so the clock
                # goes on from where it stood (the later gates are not reached yet)
                self._paused += excess

    @classmethod
    def around(
        cls,
        start: datetime,
        end: datetime,
        events: list[datetime],
        *,
        total_seconds: float,
        before: timedelta = timedelta(minutes=2),
        after: timedelta = timedelta(minutes=30),
        window_seconds: float = 0.15,
        lead_in_seconds: float = 0.0,
    ) -> WarpClock:
        """``lead_in_seconds``: real seconds at real speed before the warp (time to start up)."""
        windows: list[list[datetime]] = []
        for event in sorted(e for e in events if start <= e <= end):
            low, high = max(start, event - before), min(end, event + after)
            if windows and low <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], high)
            else:
                windows.append([low, high])
        slow_span = sum(((high - low) for low, high in windows), timedelta())
        slow_speed = (before + after) / timedelta(seconds=window_seconds)
        slow_real = slow_span / timedelta(seconds=1) / slow_speed
        fast_span = (end - start) - slow_span
        fast_real = max(total_seconds - slow_real, total_seconds * 0.25)
        fast_speed = max(fast_span / timedelta(seconds=1) / fast_real, 1.0)
        points: list[tuple[float, datetime]] = [(0.0, start)]
        cursor, real = start, 0.0
        if lead_in_seconds > 0:
            cursor, real = start + timedelta(seconds=lead_in_seconds), lead_in_seconds
            points.append((real, cursor))
        for low, high in windows + [[end, end]]:
            low = max(low, cursor)
            if low > cursor:
                real += (low - cursor).total_seconds() / fast_speed
                points.append((real, low))
            if high > low:
                real += (high - low).total_seconds() / slow_speed
                points.append((real, high))
            cursor = max(cursor, high)
        return cls(points)

    @property
    def slowest_speed(self) -> float:
        return min(
            (b[1] - a[1]).total_seconds() / (b[0] - a[0])
            for a, b in zip(self._points, self._points[1:])
            if b[0] > a[0]
        )

    @property
    def fastest_speed(self) -> float:
        return max(
            (b[1] - a[1]).total_seconds() / (b[0] - a[0])
            for a, b in zip(self._points, self._points[1:])
            if b[0] > a[0]
        )

    def _at_real(self, real: float) -> datetime:
        points = self._points
        if real <= points[0][0]:
            return points[0][1]
        for (r0, c0), (r1, c1) in pairwise(points):
            if real <= r1:
                return c0 + (c1 - c0) * ((real - r0) / (r1 - r0))
        r_last, c_last = points[-1]
        return c_last + timedelta(seconds=real - r_last)  # past the end: real time

    def now(self) -> datetime:
        return self._at_real(self._elapsed())

    def _real_at(self, instant: datetime) -> float:
        """Real running seconds at which the clock shows ``instant`` (pauses aside)."""
        points = self._points
        if instant <= points[0][1]:
            return points[0][0] - (points[0][1] - instant).total_seconds()
        for (r0, c0), (r1, c1) in pairwise(points):
            if instant <= c1:
                return r0 + (r1 - r0) * ((instant - c0) / (c1 - c0))
        return points[-1][0] + (instant - points[-1][1]).total_seconds()

    def wall_time(self, instant: datetime) -> datetime:
        # a millisecond late rather than a hair early: an alarm must find its instant reached
        return self._wall_origin + timedelta(
            seconds=self._real_at(instant) + self._pause_offset() + 0.001)
