""" "Did you mean ...?" for names a user mistyped (keys, channel ids, templates, time zones)."""

from __future__ import annotations

import difflib
import re
import unicodedata
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


# Time zones. A schedule needs a zone with its daylight saving rules: a city's IANA name
# (America/New_York), not an abbreviation (EST is UTC-5 all year: summer posts an hour off),
# nor a fixed offset. Suggestions come from the Area/City names only, and abbreviations people
# write map to a city of theirs.
ZONE_AREAS = frozenset({"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic",
                        "Australia", "Europe", "Indian", "Pacific"})
ZONE_OF_ABBREVIATION = {
    "EST": "America/New_York", "EDT": "America/New_York", "ET": "America/New_York",
    "EASTERN": "America/New_York",
    "CST": "America/Chicago", "CDT": "America/Chicago", "CT": "America/Chicago",
    "CENTRAL": "America/Chicago",
    "MST": "America/Denver", "MDT": "America/Denver", "MT": "America/Denver",
    "MOUNTAIN": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PT": "America/Los_Angeles",
    "PACIFIC": "America/Los_Angeles",
    "HST": "Pacific/Honolulu", "AKST": "America/Anchorage",
    "GMT": "Europe/London", "BST": "Europe/London",
    "WET": "Europe/Lisbon", "WEST": "Europe/Lisbon",
    "CET": "Europe/Paris", "CEST": "Europe/Paris", "MET": "Europe/Paris",
    "EET": "Europe/Athens", "EEST": "Europe/Athens",
    "IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "KST": "Asia/Seoul",
    "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}
_ABBREVIATION = re.compile(r"([A-Z]{2,4})(?:\d{1,2}(?:[A-Z]{3,4})?)?")  # EST, EST5, EST5EDT
_TIME_WORDS = re.compile(r"_(standard|daylight|time|zone)(?=_|$)")  # "Eastern Time" -> eastern


def _zone_key(text: str) -> str:
    """``Montréal`` -> ``montreal``, ``New York`` -> ``new_york`` (how IANA names spell cities)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[\s-]+", "_", plain.strip()).lower()


def suggest_timezone(name: str, zones: Iterable[str]) -> str | None:
    """The IANA city zone a mistyped or abbreviated time zone most likely means, or None."""
    abbreviation = _ABBREVIATION.fullmatch(name.strip().upper())
    if abbreviation is not None and abbreviation[1] in ZONE_OF_ABBREVIATION:
        return ZONE_OF_ABBREVIATION[abbreviation[1]]
    spoken = _TIME_WORDS.sub("", _zone_key(name)).upper()  # "Eastern Time", "pacific"
    if spoken in ZONE_OF_ABBREVIATION:
        return ZONE_OF_ABBREVIATION[spoken]
    cities = [zone for zone in zones if zone.split("/", 1)[0] in ZONE_AREAS]
    by_city = {zone.rsplit("/", 1)[-1].lower(): zone for zone in sorted(cities)}
    key = _zone_key(name)
    for part in (key, *re.split(r"[,/]", key)):  # "Paris, France", "America/New York"
        if part.strip("_") in by_city:
            return by_city[part.strip("_")]
    return closest(key, cities) or (
        by_city[city] if (city := closest(key, by_city)) is not None else None)


def fixed_offset_zone(name: str) -> str | None:
    """Why a valid zone name is a poor choice for a schedule (no daylight saving time), with the
    zone to use when one is known; None for a city's zone, and for UTC (which means it)."""
    upper = name.upper()
    gmt = re.fullmatch(r"(?:ETC/)?GMT([+-])(\d{1,2})", upper)
    if gmt is not None and int(gmt[2]) != 0:
        real = "-" if gmt[1] == "+" else "+"  # POSIX: Etc/GMT+5 is five hours *behind* UTC
        return (f"is UTC{real}{int(gmt[2])} all year (the sign of these names is reversed) "
                "with no daylight saving time: use your city's zone, e.g. Europe/Paris")
    if upper in ("EST", "MST", "HST"):
        return (f"is a fixed offset with no daylight saving time (summer posts would be an hour "
                f"off): use `{ZONE_OF_ABBREVIATION[upper]}` or your city's zone")
    return None
