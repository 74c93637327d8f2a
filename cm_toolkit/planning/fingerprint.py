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


def _canonical(value: Any) -> Any:
    """JSON-ready form; the same value always gives the same text (keys sorted by json.dumps)."""
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=repr)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return {"seconds": value.total_seconds()}
    if isinstance(value, enum.Enum):
        return _canonical(value.value)
    if isinstance(value, PurePath):
        return value.as_posix()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Anything else YAML may produce (rare): its repr is stable enough for change detection.
    return repr(value)


def canonical_content(content: Mapping[str, Any]) -> dict[str, Any]:
    result = _canonical(content)
    assert isinstance(result, dict)
    return result


def fingerprint(content: Mapping[str, Any]) -> str:
    """sha256 hex digest of the canonical JSON text of ``content``."""
    text = json.dumps(canonical_content(content), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
