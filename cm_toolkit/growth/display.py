"""How numbers and times are shown: plain functions for the terminal (``cm growth report``, the
demo's summary), and the Jinja2 filters of the dashboard and the HTML report, which follow the
workspace language (``growth.wording.Wording``: Babel's numbers and dates)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from cm_toolkit.growth.wording import Wording

DASH = "—"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    return DASH if value is None else f"{value:+,}"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f} %"


def multiple(value: float | None) -> str:
    return DASH if value is None else f"x{value:.2f}"


def install_filters(environment: Environment, zone: ZoneInfo, words: Wording) -> None:
    """The pages' filters in the workspace language, and ``words`` (the catalogue) and
    ``lang`` as globals of every template."""
    filters: dict[str, Any] = {
        "count": words.count, "signed": words.signed, "percent": words.percent,
        "multiple": words.multiple, "decimal": words.decimal, "day": words.day,
        "local": lambda value: words.moment(value, zone), "delay": words.delay,
        "share": words.share, "long_day": words.long_day, "state_label": words.state,
    }
    environment.filters.update(filters)
    environment.globals.update(words=words, lang=words.code)
