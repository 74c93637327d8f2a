"""Dates and times as people write them in ``schedules.yaml``.

Accepted: ``2027-01-14 18:00``, ``2027-01-14T18:00``, seconds optional, an offset (``+01:00``,
``Z``) optional, or a date alone (``2027-01-14``: midnight). YAML may already have turned the value
into a ``datetime`` or a ``date``; both are accepted. A time without offset is in the workspace
time zone: ``localize`` attaches it (zoneinfo, so daylight saving time is right).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import Any

DATETIME_EXAMPLES = "like 2027-01-14 18:00 (or 2027-01-14T18:00+01:00)"

# "2027-01-14 18:00 +01:00": a space before the offset is common; fromisoformat refuses it.
_SPACE_BEFORE_OFFSET = re.compile(r"\s+(?=(?:[+-]\d{2}(?::?\d{2})?|Z)$)")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateTimeError(ValueError):
    """The value is not a date and time; the message is shown to users."""


def parse_datetime(value: Any) -> datetime:
    """Return the ``datetime`` a user wrote (naive when they gave no offset)."""
    if isinstance(value, datetime):
        # ruamel's TimeStamp is a datetime subclass carrying YAML details: keep a plain one.
        return datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            tzinfo=value.tzinfo,
            fold=value.fold,
        )
    if isinstance(value, date):
        return datetime.combine(value, time())
    if not isinstance(value, str):
        raise DateTimeError(f"must be a date and time {DATETIME_EXAMPLES}")
    text = _SPACE_BEFORE_OFFSET.sub("", value.strip())
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise DateTimeError(f"is not a date and time: write it {DATETIME_EXAMPLES}") from None


def is_date_only(value: Any) -> bool:
    """True when the user gave a day without a time (it means midnight)."""
    if isinstance(value, datetime):
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, str) and bool(_DATE_ONLY.match(value.strip()))


def localize(value: datetime, zone: tzinfo) -> datetime:
    """Attach the workspace time zone to a naive datetime; aware ones are kept as written."""
    return value.replace(tzinfo=zone) if value.tzinfo is None else value
