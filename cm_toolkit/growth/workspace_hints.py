"""What the reports still read from a workspace whose files have errors.

Marketing must not be blocked by a scheduling typo: ``cm growth report|import``,
``cm report activity`` and ``cm dashboard`` read the ledger, which holds everything they show.
When ``load_workspace`` refuses the workspace, they warn and take from the raw files what is
still readable, value by value: the time zone (if it is a real IANA zone), the language, the
growth reference, the course title, and each channel's name and network. Anything unreadable
falls back to what ``GrowthContext.bare`` uses (UTC, channel ids as names, English).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.workspace.datetimes import DateTimeError, localize, parse_datetime
from cm_toolkit.workspace.yaml_source import read_yaml


@dataclass(frozen=True)
class WorkspaceHints:
    """Values read one by one from raw files; ``None`` (or absent) where unreadable."""

    zone: ZoneInfo | None = None
    language: str | None = None
    reference: datetime | None = None
    title: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    networks: dict[str, str] = field(default_factory=dict)  # channel id -> network name

    def context(self, ledger: Ledger, root: Path) -> GrowthContext:
        """The growth context these values allow (the ledger gives the reference otherwise)."""
        bare = GrowthContext.bare(ledger, self.reference)
        return GrowthContext(
            zone=self.zone or bare.zone, reference=bare.reference, names=dict(self.names),
            title=self.title or root.name, language=self.language or bare.language,
            networks=dict(self.networks))


def read_hints(root: Path) -> WorkspaceHints:
    document, _problems = read_yaml(root / "schedules.yaml", "schedules.yaml")
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    zone = _zone(data.get("timezone"))
    defaults = _mapping(data.get("defaults"))
    language = defaults.get("language")
    growth = _mapping(data.get("growth"))
    course = _mapping(data.get("variables")).get("course")
    names: dict[str, str] = {}
    networks: dict[str, str] = {}
    folder = root / "channels"
    paths = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
    for path in paths:
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        channel, _ = read_yaml(path, f"channels/{path.name}")
        values = _mapping(channel.data if channel is not None else None)
        if isinstance(values.get("name"), str):
            names[path.stem] = values["name"]
        if isinstance(values.get("network"), str):
            networks[path.stem] = values["network"]
    return WorkspaceHints(
        zone=zone, language=language if isinstance(language, str) else None,
        reference=_reference(growth.get("reference"), zone),
        title=str(course) if isinstance(course, str | int) else None,
        names=names, networks=networks)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _zone(value: Any) -> ZoneInfo | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _reference(value: Any, zone: ZoneInfo | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = localize(parse_datetime(value), zone or UTC)
    except (DateTimeError, TypeError, ValueError):
        return None
    return moment.astimezone(UTC)
