"""How numbers and times are shown in reports and the dashboard (Jinja2 filters)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

DASH = "—"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    return DASH if value is None else f"{value:+,}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} %"


def multiple(value: float | None) -> str:
    return DASH if value is None else f"x{value:.2f}"


def decimal(value: float | None) -> str:
    return DASH if value is None else f"{value:,.1f}"


def delay(value: timedelta | None) -> str:
    """A time to answer: ``42 s``, ``12 min``, ``3 h 05``, ``2 d 4 h``."""
    from cm_toolkit.growth.interactivity import format_delay

    return DASH if value is None else format_delay(value)


def share(value: float | None) -> str:
    """A share in 0..1 as a whole percentage."""
    return DASH if value is None else f"{value:.0%}".replace("%", " %")


def day(value: str | None) -> str:
    """An ISO timestamp (already local) shown as its date."""
    return DASH if not value else value[:10]


def local_time(zone: ZoneInfo) -> Callable[[datetime | None], str]:
    def local(value: datetime | None) -> str:
        return DASH if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return local


def install_filters(environment: Environment, zone: ZoneInfo) -> None:
    filters: dict[str, Any] = {
        "count": count, "signed": signed, "percent": percent, "multiple": multiple,
        "decimal": decimal, "day": day, "local": local_time(zone), "delay": delay,
        "share": share,
    }
    environment.filters.update(filters)
