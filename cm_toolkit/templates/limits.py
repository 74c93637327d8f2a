"""How long a render may run and how much text it may build: ``RenderBudget``.

Every render of a user's template (``cm check``, ``cm preview``, ``cm run``, ``cm demo``, and any
later renderer: inbox replies) runs under one budget, opened by ``render_budget`` and found by the
sandbox's hooks (``templates/guards.py``) through a context variable, so that no hook needs the
budget passed in and every thread (``cm run`` renders in its worker threads) has its own.

- **time**: a deadline (default 2 s) checked at every loop iteration, every call (macros,
  methods, globals) and every filter: a loop of 10^10 iterations stops within the limit, in the
  thread that runs it, with no watchdog thread and no signal;
- **size**: a post is at most ``characters`` (default 100,000) characters, and so is every text
  or list the template builds on the way; the sizes of these values are estimated *before* they
  are allocated where an argument sets them (``'a'.zfill(10**9)``, ``|center(10**9)``,
  ``'%900000000s' % x``...), so that a refusal never costs the memory it protects;
- **stop**: a ``cancel`` event (``cm run`` sets it when it stops) ends a render at its next
  step with ``RenderCancelled``, which is not the template's fault: the delivery is left as it
  was, to be rendered again at the next start;
- **work**: all the values built during one render add up to at most ``WORK_FACTOR`` times the
  size limit (a loop that builds 100,000 texts of 100,000 characters and drops them is refused
  too).

A budget exceeded raises ``RenderLimitExceeded`` inside the template's own frame, so that the
error names the template file and line (``failures.to_template_error``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

DEFAULT_SECONDS = 2.0
DEFAULT_CHARACTERS = 100_000
WORK_FACTOR = 100  # all values built in one render: at most 100 x the size limit
WALL_FACTOR = 10  # a render given too little CPU still ends after 10 x its limit of wall time

LIMITS_FIX = (
    "a post is a few thousand characters: look for a loop, a repeated or padded text that never "
    "ends, or a width far too large (limits: docs/templates.md, 'Limits')"
)


class RenderLimitExceeded(SecurityError):
    """A render ran out of time or built too much text. Raised inside the template's frame."""

    timed_out = False


class RenderCancelled(Exception):
    """The render was stopped from outside (``cm run`` is stopping): nothing is wrong with the
    template, so this is never reported as its problem; the delivery is rendered again later."""


class RenderTimeout(RenderLimitExceeded):
    """The render ran out of time."""

    timed_out = True


@dataclass(frozen=True)
class RenderLimits:
    """The bounds of one render (``template_limits:`` in schedules.yaml sets them)."""

    seconds: float = DEFAULT_SECONDS
    characters: int = DEFAULT_CHARACTERS


class RenderBudget:
    """What is left of one render's time and size. The time is the CPU time of the render's
    thread (at most ``WALL_FACTOR`` times as much wall time); ``clock`` is a monotonic clock in
    seconds (tests pass a stepped one)."""

    def __init__(
        self, limits: RenderLimits, clock: Callable[[], float] = time.monotonic,
        cancel: threading.Event | None = None,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.cancel = cancel
        # The limit is on the CPU this render's thread used: a render descheduled on a busy
        # machine, or paying for a first import, is not a template that loops. The thread's CPU
        # clock costs a system call (about 0.6 us against 0.05): it is read only once the wall
        # clock says the limit may be reached. A test's stepped clock stands for both.
        self.cpu = time.thread_time if clock is time.monotonic else clock
        self.cpu_start = self.cpu()
        start = clock()
        self.deadline = start + limits.seconds
        self.wall_cap = start + WALL_FACTOR * limits.seconds  # however little CPU it was given
        self.built = 0  # characters (or items) of every value built so far
        self.lent: list[tuple[list[Any], Any]] = []  # (pool, item): ``lend``

    def lend(self, pool: list[Any], item: Any) -> None:
        """``item``, taken from ``pool``, is this render's: it goes back to ``pool`` when the
        render ends without an error (``module_pool``: imported macro modules)."""
        self.lent.append((pool, item))

    # -- time --------------------------------------------------------------------------------

    def tick(self) -> None:
        """One step of the template (a loop iteration, a call, a filter)."""
        if self.cancel is not None and self.cancel.is_set():
            raise RenderCancelled("the render was stopped (cm run is stopping)")
        now = self.clock()
        if now > self.deadline:
            used = self.cpu() - self.cpu_start
            if used <= self.limits.seconds and now <= self.wall_cap:
                self.deadline = now + (self.limits.seconds - used)  # not yet: look again then
                return
            raise RenderTimeout(
                f"this template ran longer than {self.limits.seconds:g} s"
            )

    def guard(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """``iterable``, one ``tick`` per item."""
        for item in iterable:
            self.tick()
            yield item

    # -- size --------------------------------------------------------------------------------

    def too_big(self, size: int | None = None) -> RenderLimitExceeded:
        return RenderLimitExceeded(
            f"this template produced more than {self.limits.characters:,} characters"
        )

    def allow(self, size: int) -> None:
        """Refuse a value of ``size`` characters (or items) before it is built."""
        if size > self.limits.characters:
            raise self.too_big(size)

    def charge(self, size: int) -> None:
        """A value of ``size`` was built: it counts against the size and the work limits."""
        self.allow(size)
        self.built += size
        if self.built > self.limits.characters * WORK_FACTOR:
            raise RenderLimitExceeded(
                f"this template produced more than {self.limits.characters * WORK_FACTOR:,} "
                "characters while rendering"
            )


_current: ContextVar[RenderBudget | None] = ContextVar("cm_render_budget", default=None)

# Outside any render (Jinja folding constants at compile time) the size limits still hold.
_STATIC = RenderBudget(RenderLimits(seconds=float("inf")))


def current_budget() -> RenderBudget:
    """The budget of the render running in this thread (compile time: sizes only)."""
    return _current.get() or _STATIC


def running_budget() -> RenderBudget | None:
    """The budget of the render running in this thread, None outside a render."""
    return _current.get()


class render_budget:
    """Open a budget for one render, unless one is already open in this thread (a render's
    options and body share one). A plain class: it is entered for every render."""

    __slots__ = ("budget", "cancel", "clock", "limits", "token")

    def __init__(
        self, limits: RenderLimits, clock: Callable[[], float] = time.monotonic,
        cancel: threading.Event | None = None,
    ) -> None:
        self.limits, self.clock, self.cancel = limits, clock, cancel
        self.token: Token[RenderBudget | None] | None = None
        self.budget: RenderBudget | None = None

    def __enter__(self) -> RenderBudget:
        running = _current.get()
        if running is not None:
            return running
        budget = self.budget = RenderBudget(self.limits, self.clock, self.cancel)
        self.token = _current.set(budget)
        return budget

    def __exit__(self, error: object, *exc: object) -> None:
        if self.token is not None:
            _current.reset(self.token)
            assert self.budget is not None
            if error is None:  # what a failed render borrowed may be left half-changed: dropped
                for pool, item in self.budget.lent:
                    pool.append(item)


# ---------------------------------------------------------------------------------------------
# Sizes of values, estimated without building them


def text_size(value: Any, cap: int) -> int:
    """About how many characters ``str(value)`` has, counted without building it; stops as soon
    as the count passes ``cap`` (a list that holds the same big list ten times, ten levels deep,
    is counted in at most ``cap`` steps, not 10**10)."""
    total = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            total += len(item) + 2
        elif kind is list or kind is tuple:
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif kind is int:
            total += item.bit_length() // 3 + 2
        elif kind is dict:
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif item is None or kind is bool or kind is float:
            total += 24
        elif isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, (bytes, bytearray)):
            total += 4 * len(item) + 3
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Namespace):
            total += 13
            stack.append(dict(object.__getattribute__(item, "_Namespace__attrs")))
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(item)
            stack.extend(item)
        else:  # dates, the context's own values: built by cm-toolkit, of a known size
            total += len(str(item))
        if total > cap:
            return total
    return total
