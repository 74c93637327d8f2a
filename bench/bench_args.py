"""The benches' number options, checked when parsed: a negative, zero or absurd count is one
``error:`` line from argparse (exit 2), never a traceback or an hour-long run."""

from __future__ import annotations

import argparse
from collections.abc import Callable

MAX_COUNT = 10_000_000  # far beyond any bench here (the largest: 1,000,000 messages)
MAX_SECONDS = 86_400.0


def _number(kind: type, low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low:,} and {high:,}")
        return value

    parse.__name__ = what  # argparse names the type in its message
    return parse


positive_int = _number(int, 1, MAX_COUNT, "a whole number")
"""A count: 1 to 10,000,000."""
count_or_zero = _number(int, 0, MAX_COUNT, "a whole number")
"""A count where 0 means "none"."""
positive_seconds = _number(float, 0.001, MAX_SECONDS, "a number of seconds")
"""A duration in seconds: more than 0, at most a day."""
