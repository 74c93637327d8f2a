"""Template filters: dates in the workspace language and time zone, countdowns, UTM links,
hashtags and network-aware truncation. Every filter is listed, with examples, in
docs/templates.md (``tests/templates/test_docs.py`` checks it).

Filters that depend on the delivery (``countdown``, ``utm``, ``truncate_words``) read the
template's own names (``at``, ``network``, ``campaign``, ``post``) through ``pass_context``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import babel.dates
from babel.units import format_unit
from jinja2 import pass_context
from jinja2.runtime import Context

from cm_toolkit.channels.base import Capability
from cm_toolkit.templates.network_rules import rules_for
from cm_toolkit.workspace.models import UtmDefaults
from cm_toolkit.workspace.networks import network_capabilities

# CLDR's "atTime" date-time patterns (Babel does not ship them): "jeudi 9 décembre 2027 à 18:00".
_AT_TIME_PATTERNS = {
    "fr": "{1} 'à' {0}",
    "en": "{1} 'at' {0}",
    "de": "{1} 'um' {0}",
    "es": "{1}, {0}",
    "it": "{1} 'alle' 'ore' {0}",
    "pt": "{1} 'às' {0}",
}


# French writes the first day of a month as an ordinal: "jeudi 1er avril 2027" (CLDR does not).
_FRENCH_FIRST_DAY = re.compile(r"(?<![\d])1 (?=[^\W\d]+ \d{4})")


def _ordinal_first(text: str, language: str) -> str:
    if language.replace("-", "_").split("_")[0] == "fr":
        return _FRENCH_FIRST_DAY.sub("1er ", text)
    return text


class FilterError(ValueError):
    """A filter was given a value it cannot use; the message is shown to the template author."""


@dataclass(frozen=True)
class FilterSettings:
    language: str
    timezone: ZoneInfo
    utm: UtmDefaults


def _moment(value: Any, tz: ZoneInfo, filter_name: str) -> datetime | date:
    """A date or an aware datetime in ``tz``; naive datetimes are read as ``tz`` wall time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(
                f"'{filter_name}' needs a date or a date-time, not the text {value!r}"
            ) from None
    if isinstance(value, datetime):
        return value.astimezone(tz) if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return value
    raise FilterError(f"'{filter_name}' needs a date or a date-time, not {type(value).__name__}")


def _need_datetime(value: Any, tz: ZoneInfo, filter_name: str) -> datetime:
    moment = _moment(value, tz, filter_name)
    if not isinstance(moment, datetime):
        raise FilterError(f"'{filter_name}' needs a date-time (with an hour), not a date")
    return moment


def utm_source_name(network: str, channel_id: str) -> str:
    """The default utm_source: the network's name, or for a channel published by hand
    (``Capability.MANUAL``: a LinkedIn group, a newsletter...) its channel id, which says more
    than "manual"."""
    manual = Capability.MANUAL.value in network_capabilities(network)
    return channel_id if channel_id and manual else network


def tag_link(
    url: str,
    *,
    network: str,
    campaign_id: str,
    post_id: str,
    utm: UtmDefaults,
    content: str | None = None,
) -> str:
    """``url`` with UTM parameters for one delivery.

    utm_source = ``utm.source`` or ``network`` (see ``utm_source_name``), utm_medium = ``utm.medium``, utm_campaign =
    ``utm.campaign`` or the campaign id, utm_content = ``content`` or the post id. Existing query
    parameters are kept as written, and a utm_* already present is never replaced. Links that
    are not http(s) (mailto:, a relative path) and ``utm.enabled = false`` leave the URL as is.
    """
    parts = urlsplit(url)
    if not utm.enabled or parts.scheme not in ("http", "https") or not parts.netloc:
        return url
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    wanted = (
        ("utm_source", utm.source or network),
        ("utm_medium", utm.medium),
        ("utm_campaign", utm.campaign or campaign_id),
        ("utm_content", content or post_id),
    )
    # urlencode's own form, with the quoting of each value remembered (a plan tags every post)
    added = "&".join(f"{k}={_quoted(str(v))}" for k, v in wanted if v and k not in present)
    if not added:
        return url
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


@functools.lru_cache(maxsize=4096)
def _quoted(value: str) -> str:
    return quote_plus(value, safe="")


_NOT_IN_HASHTAG = re.compile(r"[^\w]+")


def hashtags(value: Any) -> str:
    """``["leadership", "management 2.0"]`` -> ``#leadership #management20``.

    Accepts a list or a text of words separated by spaces or commas; a leading ``#`` is optional.
    Characters a hashtag cannot hold (spaces, dots, hyphens) are dropped; accents are kept.
    """
    if isinstance(value, str):
        items: Iterable[Any] = re.split(r"[,\s]+", value)
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        raise FilterError(f"'hashtags' needs a list or a text, not {type(value).__name__}")
    tags = [_NOT_IN_HASHTAG.sub("", str(item).lstrip("#")) for item in items]
    return " ".join(f"#{tag}" for tag in tags if tag)


def _measure(network: str | None) -> Callable[[str], int]:
    """How ``network``'s adapter counts a text (``text_length``); characters without one."""
    return rules_for(network).text_length if network else len


def truncate_text(text: str, limit: int, network: str | None, end: str = "…") -> str:
    """``text`` cut between words so that it measures at most ``limit`` as the network counts
    (X: weighted length, Bluesky: graphemes...), ending with ``end`` when something was cut."""
    measure = _measure(network)
    if measure(text) <= limit:
        return text
    words = text.split(" ")
    kept = ""
    for word in words:
        candidate = f"{kept} {word}" if kept else word
        if measure(candidate.rstrip(".,;:!?") + end) > limit:
            break
        kept = candidate
    kept = kept.rstrip(" .,;:!?")
    if not kept:  # one word longer than the limit: cut inside it
        for char in text:
            if measure(kept + char + end) > limit:
                break
            kept += char
    return kept + end


def _relative_day_name(days: int, language: str) -> str | None:
    # get_relative_name is public since Babel 2.19; older Babel has no literal names.
    getter = getattr(babel.dates, "get_relative_name", None)
    return getter("day", days, locale=language) if getter is not None else None


def countdown_text(target: datetime, at: datetime, language: str, tz: ZoneInfo) -> str:
    """How far ``target`` is from ``at``, in words: "dans 1 heure", "demain", "dans 3 jours".

    Under 12 hours: hours/minutes. Otherwise by calendar days in ``tz`` (so 2 days 23 hours
    before a Thursday evening reads "dans 3 jours"): "demain", "après-demain" where the
    language has a word for it, else "dans N jours" (then weeks from 14 days on).
    """
    delta = target - at
    if abs(delta) < timedelta(minutes=1):
        getter = getattr(babel.dates, "get_relative_name", None)
        now_word = getter("second", 0, locale=language) if getter is not None else None
        return now_word or babel.dates.format_timedelta(
            timedelta(0), add_direction=True, locale=language
        )
    if abs(delta) < timedelta(hours=12):
        return babel.dates.format_timedelta(delta, add_direction=True, locale=language)
    days = (target.astimezone(tz).date() - at.astimezone(tz).date()).days
    if days == 0:
        return babel.dates.format_timedelta(delta, add_direction=True, locale=language)
    name = _relative_day_name(days, language) if abs(days) <= 2 else None
    if name:
        return name
    return babel.dates.format_timedelta(
        timedelta(days=days), granularity="day", threshold=2, add_direction=True, locale=language
    )


def duration_text(value: Any, language: str) -> str:
    """``timedelta(hours=1, minutes=30)`` -> "1 heure 30 minutes" (fr)."""
    if not isinstance(value, timedelta):
        raise FilterError(f"'duration' needs a duration, not {type(value).__name__}")
    total_minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(total_minutes, 60)
    parts = []
    if hours:
        parts.append(format_unit(hours, "duration-hour", length="long", locale=language))
    if minutes or not parts:
        parts.append(format_unit(minutes, "duration-minute", length="long", locale=language))
    return " ".join(parts)


def make_filters(settings: FilterSettings) -> dict[str, Callable[..., Any]]:
    """The filters of one workspace (its language, time zone and UTM defaults)."""
    tz, lang = settings.timezone, settings.language

    def date_long(value: Any) -> str:
        text = babel.dates.format_date(_moment(value, tz, "date_long"), "full", locale=lang)
        return _ordinal_first(text, lang)

    def date_short(value: Any) -> str:
        return babel.dates.format_date(_moment(value, tz, "date_short"), "short", locale=lang)

    def date_pattern(value: Any, pattern: str = "medium") -> str:
        return babel.dates.format_date(_moment(value, tz, "date"), pattern, locale=lang)

    def time_short(value: Any) -> str:
        moment = _need_datetime(value, tz, "time_short")
        return babel.dates.format_time(moment, "short", tzinfo=tz, locale=lang)

    def datetime_long(value: Any) -> str:
        moment = _need_datetime(value, tz, "datetime_long")
        day = _ordinal_first(babel.dates.format_date(moment, "full", locale=lang), lang)
        hour = babel.dates.format_time(moment, "short", tzinfo=tz, locale=lang)
        base = lang.replace("-", "_").split("_")[0]
        pattern = _AT_TIME_PATTERNS.get(base)
        if pattern is None:
            return babel.dates.format_datetime(moment, "full", tzinfo=tz, locale=lang)
        return pattern.replace("{1}", day).replace("{0}", hour).replace("'", "")

    def datetime_pattern(value: Any, pattern: str = "medium") -> str:
        moment = _need_datetime(value, tz, "datetime")
        return babel.dates.format_datetime(moment, pattern, tzinfo=tz, locale=lang)

    @pass_context
    def countdown(context: Context, value: Any) -> str:
        target = _need_datetime(value, tz, "countdown")
        at = _need_datetime(context.get("at"), tz, "countdown")
        return countdown_text(target, at, lang, tz)

    @pass_context
    def utm(context: Context, value: Any, content: str | None = None) -> str:
        if value is None:
            raise FilterError("'utm' got no link (the value is None): is a link set for this post?")
        campaign = context.get("campaign") or {}
        post = context.get("post") or {}
        channel = context.get("channel") or {}
        return tag_link(
            str(value),
            network=utm_source_name(str(context.get("network")), str(channel.get("id", ""))),
            campaign_id=str(campaign.get("id", "")),
            post_id=str(post.get("id", "")),
            utm=settings.utm,
            content=content,
        )

    @pass_context
    def truncate_words(context: Context, value: Any, limit: int, end: str = "…") -> str:
        return truncate_text(str(value), int(limit), context.get("network"), end)

    def duration(value: Any) -> str:
        return duration_text(value, lang)

    return {
        "date_long": date_long,
        "date_short": date_short,
        "date": date_pattern,
        "time_short": time_short,
        "datetime_long": datetime_long,
        "datetime": datetime_pattern,
        "countdown": countdown,
        "duration": duration,
        "utm": utm,
        "hashtags": hashtags,
        "truncate_words": truncate_words,
    }


CUSTOM_FILTERS = (
    "date_long", "date_short", "date", "time_short", "datetime_long", "datetime",
    "countdown", "duration", "utm", "hashtags", "truncate_words",
)
