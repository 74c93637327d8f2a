"""The words and formats of the dashboard and the HTML report, in the workspace language.

One catalogue per language, ``growth/words/LANG.json`` (sections: ``common``, ``dashboard``,
``report``, ``charts``, ``inbox``, ``interactivity``, ``plotly``), is the only place a page's
words live; templates reach them as ``words.SECTION.KEY``. English is complete and is the
fallback key by key, so a language with a partial catalogue still shows every label, and a
language without one (``defaults.language: de``) is all English words with German numbers and
dates. Numbers and dates go through Babel (CLDR): ``1 234`` and ``x2,52`` in French, ``1,234``
and ``x2.52`` in English. A key missing from English is a ``KeyError``, never a blank label.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

import babel.dates
import babel.numbers
from babel import Locale, UnknownLocaleError

DASH = "—"
D3_FIELDS = {"y": "%Y", "M": "%b", "d": "%-d"}  # CLDR field letter -> d3 time format
FALLBACK = "en"
Catalogue = dict[str, dict[str, str]]


@lru_cache(maxsize=16)
def catalogue(code: str) -> Catalogue:
    """``growth/words/CODE.json``; an empty catalogue for a language without one."""
    resource = files("cm_toolkit.growth").joinpath("words", f"{code}.json")
    try:
        data: Catalogue = json.loads(resource.read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError):
        return {}
    return data


def language_code(language: str | None) -> str:
    """``fr`` for ``fr``, ``fr_FR``, ``fr-CA``...; ``en`` for nothing or an unknown code."""
    base = (language or FALLBACK).replace("-", "_").split("_", 1)[0].lower()
    return base if base.isalpha() else FALLBACK


class Labels(Mapping[str, str]):
    """One section of the catalogue: the language's word, else the English one."""

    def __init__(self, own: Mapping[str, str], fallback: Mapping[str, str]) -> None:
        self._own = own
        self._fallback = fallback

    def __getitem__(self, key: str) -> str:
        found = self._own.get(key)
        return found if found is not None else self._fallback[key]

    def __getattr__(self, key: str) -> str:
        """``words.inbox.title`` in templates. A key in neither catalogue raises ``KeyError``
        (not ``AttributeError``, which Jinja2 would turn into a blank label)."""
        if key.startswith("_"):  # Python's and MarkupSafe's probes (__html__...)
            raise AttributeError(key)
        return self[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fallback)

    def __len__(self) -> int:
        return len(self._fallback)


class Wording:
    """The words of one language and its number and date formats (Babel)."""

    def __init__(self, language: str | None = None) -> None:
        self.code = language_code(language)
        try:
            self.locale = Locale.parse(self.code)
        except (UnknownLocaleError, ValueError):
            self.code, self.locale = FALLBACK, Locale.parse(FALLBACK)
        english = catalogue(FALLBACK)
        own = catalogue(self.code)
        self.sections = {name: Labels(own.get(name, {}), words)
                         for name, words in english.items()}

    def __getattr__(self, section: str) -> Labels:
        if section.startswith("_"):
            raise AttributeError(section)
        return self.sections[section]  # KeyError for a wrong section, as for a wrong key

    def state(self, value: str) -> str:
        """A delivery state's label (the value stays the CSS class and the CLI word)."""
        return self.sections["states"].get(value, value)

    # -- numbers -------------------------------------------------------------------------------

    def count(self, value: int | None) -> str:
        return DASH if value is None else babel.numbers.format_decimal(value, locale=self.locale)

    def signed(self, value: int | None) -> str:
        if value is None:
            return DASH
        return babel.numbers.format_decimal(value, "+#,##0;-#,##0", locale=self.locale)

    def decimal(self, value: float | None) -> str:
        if value is None:
            return DASH
        return babel.numbers.format_decimal(value, "#,##0.0", locale=self.locale)

    def multiple(self, value: float | None) -> str:
        if value is None:
            return DASH
        return "x" + babel.numbers.format_decimal(value, "0.00", locale=self.locale)

    def percent(self, value: float | None, decimals: int = 1) -> str:
        """``value`` in percent (12.3 -> ``12.3%``, ``12,3 %`` in French)."""
        if value is None:
            return DASH
        pattern = self.locale.percent_formats[None].pattern.split(";")[0]
        if decimals:
            pattern = pattern.replace("0", "0." + "0" * decimals, 1)
        return babel.numbers.format_percent(value / 100, pattern, locale=self.locale)

    def share(self, value: float | None) -> str:
        """A share in 0..1, as a whole percentage."""
        return DASH if value is None else self.percent(value * 100, decimals=0)

    def delay(self, value: timedelta | None) -> str:
        """A time to answer, short: ``42 s``, ``12 min``, ``3 h 05``, ``2 d 4 h`` (``j``)."""
        if value is None:
            return DASH
        from cm_toolkit.growth.interactivity import format_delay  # it imports the ledger

        return format_delay(value, self.sections["common"]["day_unit"])

    def age(self, elapsed: timedelta) -> str:
        """How long ago, shorter still: ``5 min``, ``3 h``, ``2 d`` (``j``)."""
        seconds = max(0, int(elapsed.total_seconds()))
        if seconds < 3600:
            return f"{seconds // 60} min"
        if seconds < 86400:
            return f"{seconds // 3600} h"
        return f"{seconds // 86400} {self.sections['common']['day_unit']}"

    # -- dates ---------------------------------------------------------------------------------

    def moment(self, value: datetime | None, zone: ZoneInfo) -> str:
        """``3 févr. 2027 18:00``; ``Feb 3, 2027 6:00 PM``."""
        if value is None:
            return DASH
        local = value.astimezone(zone)
        return (f"{babel.dates.format_date(local, 'medium', locale=self.locale)} "
                f"{babel.dates.format_time(local, 'short', locale=self.locale)}")

    def day(self, value: date | str | None) -> str:
        """A date (or an ISO timestamp already local) as ``3 févr. 2027``."""
        if not value:
            return DASH
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return babel.dates.format_date(value, "medium", locale=self.locale)

    def long_day(self, value: date) -> str:
        """``mercredi 3 février 2027``; ``Wednesday, February 3, 2027``."""
        return babel.dates.format_date(value, "full", locale=self.locale)

    # -- Plotly --------------------------------------------------------------------------------

    def plotly_locale(self) -> dict[str, Any]:
        """Plotly's locale for this language, from CLDR: month and day names of the date
        axes, decimal and group separators, and the toolbar's words (``Plotly.register``)."""
        names = self.locale
        months = names.months["format"]
        days = names.days["format"]
        order = [6, 0, 1, 2, 3, 4, 5]  # CLDR counts from Monday, Plotly (d3) from Sunday
        return {
            "moduleType": "locale", "name": self.code,
            "dictionary": dict(self.sections["plotly"]),
            "format": {
                "days": [days["wide"][i] for i in order],
                "shortDays": [days["abbreviated"][i] for i in order],
                "months": [months["wide"][i] for i in range(1, 13)],
                "shortMonths": [months["abbreviated"][i] for i in range(1, 13)],
                "decimal": babel.numbers.get_decimal_symbol(names),
                "thousands": babel.numbers.get_group_symbol(names),
                # the date axes' tick labels: "7 févr." in French, "Feb 7" in English
                "dayMonth": self._strftime("MMMd"),
                "dayMonthYear": self._strftime("yMMMd"),
                "month": self._strftime("yMMM"),
                "year": "%Y",
            },
        }

    def _strftime(self, skeleton: str) -> str:
        """A CLDR date skeleton of the language as a d3 (Plotly) time format."""
        pattern = str(self.locale.datetime_skeletons[skeleton])
        return re.sub(r"y+|M{3,}|d+|'[^']*'", lambda m: D3_FIELDS.get(
            m.group(0)[0], m.group(0).strip("'")), pattern)
