"""Durations as people write them: ``7d``, ``1h30m``, ``90m``, ``2w``, ``45s`` (or ``PT1H``).

``parse_duration`` is the one parser; the ``Duration`` type of ``workspace.models`` uses it, so
every ``timedelta`` field of ``schedules.yaml`` accepts the same spellings. A bare number is
refused on purpose: ``before: 7`` could mean seconds, minutes or days, and a wrong guess moves
a post.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}

# Units in decreasing order, each at most once: "1h30m", "2d 4h", "45s".
_SHORT = re.compile(
    r"^\s*(?:(?P<w>\d+)\s*w)?\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?"
    r"\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?\s*$",
    re.IGNORECASE,
)
# ISO 8601 without years and months (their length varies, so they are not durations here).
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)

DURATION_EXAMPLES = "like 7d, 1h30m, 90m, 2w or 45s"


class DurationError(ValueError):
    """The text is not a duration; the message says what is expected (and is shown to users)."""


def parse_duration(value: Any) -> timedelta:
    """Return the ``timedelta`` a user wrote. Raises ``DurationError`` with a plain message."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):  # bool is an int too
        raise DurationError(
            f"needs a unit: write a duration {DURATION_EXAMPLES} (a bare number is ambiguous)"
        )
    if not isinstance(value, str):
        raise DurationError(f"must be a duration {DURATION_EXAMPLES}")
    text = value.strip()
    match = _ISO.match(text) if text[:1] in ("P", "p") else _SHORT.match(text)
    if (
        match is None
        or not any(match.groupdict().values())
        or (text[:1] in ("P", "p") and text.upper().endswith("T"))
    ):
        raise DurationError(f"is not a duration: write one {DURATION_EXAMPLES}")
    seconds = 0.0
    for unit, amount in match.groupdict().items():
        if amount:
            seconds += float(amount) * _UNIT_SECONDS[unit]
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The short spelling of a duration (``timedelta(minutes=90)`` -> ``1h30m``)."""
    total = int(delta.total_seconds())
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit in ("d", "h", "m", "s"):
        amount, total = divmod(total, _UNIT_SECONDS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + "".join(parts)
