"""Content fingerprints: sha256 of a canonical JSON form of what determines a delivery's content.

The time of a delivery is never part of it: moving a post changes its ``due_at``, editing it
changes its fingerprint, and ``cm plan`` tells the two apart.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any

_PLAIN = frozenset({str, int, float, bool, type(None)})


def canonical(value: Any) -> Any:
    """JSON-ready form; the same value always gives the same text (keys sorted by json.dumps)."""
    kind = type(value)
    # The exact types a schedule is made of first (a plan of 100,000 posts makes every post's
    # content canonical): subclasses (an enum of str) take the general way below.
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {str(key): canonical(item) for key, item in value.items()}
    if kind is list:
        return [canonical(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(item) for item in value), key=repr)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return {"seconds": value.total_seconds()}
    if isinstance(value, enum.Enum):
        return canonical(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Anything else YAML may produce (rare): its repr is stable enough for change detection.
    return repr(value)


def canonical_content(content: Mapping[str, Any]) -> dict[str, Any]:
    result = canonical(content)
    assert isinstance(result, dict)
    return result


def fingerprint(content: Mapping[str, Any]) -> str:
    """sha256 hex digest of the canonical JSON text of ``content``."""
    return canonical_fingerprint(canonical_content(content))


# json.dumps with options builds an encoder per call: a third of its time on a post's content.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical_fingerprint(content: dict[str, Any]) -> str:
    """``fingerprint`` of what ``canonical_content`` returned (not made canonical again)."""
    text = _ENCODER.encode(content)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
