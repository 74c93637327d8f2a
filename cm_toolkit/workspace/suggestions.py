""" "Did you mean ...?" for names a user mistyped (keys, channel ids, templates, time zones)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The candidate closest to ``word``, or None when nothing is close enough.

    Case is ignored when comparing (``europe/paris`` finds ``Europe/Paris``).
    """
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str], *, otherwise: str = "") -> str:
    """A fix text: ``did you mean `x`?`` or ``otherwise`` when nothing is close."""
    match = closest(word, candidates)
    return f"did you mean `{match}`?" if match is not None else otherwise


def one_of(candidates: Iterable[str], *, limit: int = 12) -> str:
    """``a, b or c`` (shortened with "..." past ``limit`` names)."""
    names = [f"`{name}`" for name in sorted(candidates)]
    if not names:
        return "(none defined)"
    if len(names) > limit:
        return ", ".join(names[:limit]) + ", ..."
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
