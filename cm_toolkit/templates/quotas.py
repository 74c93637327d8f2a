"""What a plan asks of each network, day by day: rate limits, quotas, spam bursts and X's bill.

``NUMBERS`` is the one table of the networks' numbers the plan check uses (from API_FACTS.md;
docs/templates.md lists them). ``check_quotas(sends, ...)`` adds up the planned sends and returns
warnings (``Severity.WARNING``: the network would refuse, or flag, part of the plan; nothing is
wrong in the files as such) and a JSON-ready summary:

- X, ``POST /2/tweets``: at most 100 posts in any 15 minutes per account (user), and 10,000 in
  any 24 hours per app (the X channels whose files name the same ``client_id`` secret share an
  app). Counted over rolling windows, every part of a thread being one post: a post is "over"
  when, counting itself, more than the limit fall in the window that ends with it.
- YouTube: 10,000 quota units per Google Cloud project per day, the day ending at midnight in
  America/Los_Angeles (channels naming the same ``client_id`` secret share a project). A live
  setup costs what the adapter calls: ``liveBroadcasts.list`` (1, looking for a broadcast made by
  an earlier attempt) + ``liveBroadcasts.insert`` + ``liveStreams.insert`` +
  ``liveBroadcasts.bind`` (50 each) = 151 units. A post on YouTube is a ``videos.insert``
  upload, counted in its own bucket of 100 a day (no units).
- Bursts: more than 3 posts on one account within 10 minutes (a window of 10 minutes ending with
  a post, that post included) look like spam to the networks. A thread counts once here.
- Facebook's native scheduling window (10 minutes to 30 days ahead): informational only, in the
  summary (cm-toolkit publishes at the due time itself).
- X's pay-per-use price: $0.015 a post, $0.200 a post containing a URL (each thread part priced
  on its own text).
- The inbox's polling (``inbox_polling``): X reads ($0.005 a post returned, $0.001 an owned read
  of our mentions) a month at the configured cadence, capped by the read budget; YouTube's
  comment reads (1 unit a call) a day, and a live day's chat (5 units a call).

Everything is O(n log n) in the number of sends (one sort per account, then two pointers).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace.models import Network, Workspace


@dataclass(frozen=True)
class Number:
    """One number of a network's API: ``value`` in ``unit``, counted ``per`` what, over a rolling
    ``window`` or per calendar day ending at midnight in ``day_zone``."""

    value: float
    unit: str
    per: str
    what: str
    window: timedelta | None = None
    day_zone: str | None = None


PACIFIC = "America/Los_Angeles"

NUMBERS: dict[str, Number] = {
    "x_posts_per_15_minutes": Number(
        100, "posts", "account", "POST /2/tweets per user", window=timedelta(minutes=15)),
    "x_posts_per_24_hours": Number(
        10_000, "posts", "app", "POST /2/tweets per app", window=timedelta(hours=24)),
    "x_price_post": Number(0.015, "USD", "post", "pay-per-use price of a post"),
    "x_price_post_with_url": Number(
        0.200, "USD", "post", "pay-per-use price of a post containing a URL"),
    "youtube_units_per_day": Number(
        10_000, "units", "project", "YouTube Data API quota", day_zone=PACIFIC),
    "youtube_list_cost": Number(1, "units", "call", "any list call (liveBroadcasts.list...)"),
    "youtube_write_cost": Number(
        50, "units", "call", "insert, update, delete, bind, transition"),
    "youtube_uploads_per_day": Number(
        100, "calls", "project", "videos.insert, its own bucket", day_zone=PACIFIC),
    "facebook_schedule_min": Number(
        10, "minutes", "post", "earliest native schedule (scheduled_publish_time)"),
    "facebook_schedule_max": Number(30, "days", "post", "latest native schedule"),
    "burst_posts": Number(
        3, "posts", "account", "more posts than this within the window look like spam",
        window=timedelta(minutes=10)),
}

# The calls of one YouTube live setup (``YouTubeChannel.schedule_live``), with their cost.
YOUTUBE_LIVE_SETUP_CALLS: tuple[tuple[str, str], ...] = (
    ("liveBroadcasts.list", "youtube_list_cost"),
    ("liveBroadcasts.insert", "youtube_write_cost"),
    ("liveStreams.insert", "youtube_write_cost"),
    ("liveBroadcasts.bind", "youtube_write_cost"),
)
YOUTUBE_LIVE_SETUP_UNITS = sum(int(NUMBERS[cost].value) for _, cost in YOUTUBE_LIVE_SETUP_CALLS)


class SendKind(enum.Enum):
    POST = "post"  # a post or an announcement (on YouTube: a video upload)
    LIVE_SETUP = "live_setup"  # a YouTube broadcast / a Meet event


@dataclass(frozen=True, slots=True)
class Send:
    """One planned delivery as the quotas see it. ``x_posts`` counts the thread parts on X;
    ``ref`` is the caller's (``locate(ref)`` says where a warning about it points)."""

    at: datetime  # aware
    channel_id: str
    network: Network
    kind: SendKind
    x_posts: int = 0
    x_posts_with_url: int = 0
    ref: Any = None


Locate = Callable[[Any], tuple[str, int | None, str]]
"""``ref`` -> (file, line, label): where a warning about a send points, and how it is named."""


def _no_place(ref: Any) -> tuple[str, int | None, str]:
    return "schedules.yaml", None, str(ref)


@dataclass
class QuotaCheck:
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def x_cost_usd(posts: int, posts_with_url: int) -> float:
    """X's pay-per-use price of ``posts`` posts, ``posts_with_url`` of which contain a URL."""
    plain = (posts - posts_with_url) * NUMBERS["x_price_post"].value
    return round(plain + posts_with_url * NUMBERS["x_price_post_with_url"].value, 3)


@dataclass(frozen=True)
class WindowCount:
    """The busiest rolling window of a series, and the sends that went over the limit."""

    peak: int
    peak_end: datetime | None
    over: list[int]  # indexes (in time order) of sends that end a window holding > limit


def rolling_window(
    times: Sequence[datetime], weights: Sequence[int], window: timedelta, limit: int
) -> WindowCount:
    """Count ``weights`` in every window ``(t - window, t]`` ending at a send (``times`` sorted).

    Two pointers: each send enters and leaves the running total once.
    """
    total, start, peak, peak_end = 0, 0, 0, None
    over: list[int] = []
    for index, moment in enumerate(times):
        total += weights[index]
        while times[start] <= moment - window:
            total -= weights[start]
            start += 1
        if total > peak:
            peak, peak_end = total, moment
        if total > limit:
            over.append(index)
    return WindowCount(peak, peak_end, over)


def _warning(locate: Locate, first: Send, message: str, fix: str, others: int,
             noun: str) -> Problem:
    file, line, label = locate(first.ref)
    more = f", and {others} other {noun}{'s' if others != 1 else ''}" if others else ""
    return Problem(file, line, None, f"{message} ({label}{more})", fix, Severity.WARNING)


def _by(sends: Iterable[Send], key: Any) -> dict[Any, list[Send]]:
    groups: dict[Any, list[Send]] = defaultdict(list)
    for send in sends:
        groups[key(send)].append(send)
    for items in groups.values():
        items.sort(key=lambda s: s.at)
    return groups


class _Quotas:
    def __init__(self, sends: Sequence[Send], groups: dict[str, str], tz: ZoneInfo,
                 now: datetime | None, locate: Locate) -> None:
        self.sends = sends
        self.locate = locate
        self.groups = groups  # channel id -> app/project key (shared client_id)
        self.tz = tz
        self.now = now
        self.problems: list[Problem] = []

    def _show(self, moment: datetime | None) -> str | None:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else None

    def _limit(self, series: list[Send], name: str, weights: list[int], scope: str,
               fix: str) -> dict[str, Any]:
        number = NUMBERS[name]
        assert number.window is not None
        limit = int(number.value)
        counted = rolling_window([s.at for s in series], weights, number.window, limit)
        if counted.over:
            first = series[counted.over[0]]
            minutes = int(number.window.total_seconds() // 60)
            span = f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"
            self.problems.append(_warning(
                self.locate, first,
                f"{scope}: up to {counted.peak} {number.unit} within {span} "
                f"(busiest window ends {self._show(counted.peak_end)}); "
                f"{number.what} is limited to {limit} per {number.per} per {span}: "
                f"the network refuses the rest",
                fix, len(counted.over) - 1, "post over the limit"))
        end = counted.peak_end.astimezone(self.tz).isoformat() if counted.peak_end else None
        return {"peak": counted.peak, "peak_ends_at": end,
                "limit": limit, "over": len(counted.over)}

    def x(self) -> dict[str, Any]:
        posts = [s for s in self.sends if s.network == "x" and s.kind is SendKind.POST]
        accounts = {
            channel: self._limit(
                series, "x_posts_per_15_minutes", [s.x_posts for s in series],
                f"{channel}", "spread these posts over more time, or post fewer on this account")
            for channel, series in sorted(_by(posts, lambda s: s.channel_id).items())
        }
        apps = {
            app: self._limit(
                series, "x_posts_per_24_hours", [s.x_posts for s in series],
                f"X app of {', '.join(sorted({s.channel_id for s in series}))}",
                "spread these posts over more days")
            for app, series in sorted(_by(posts, lambda s: self.groups[s.channel_id]).items())
        }
        total = sum(s.x_posts for s in posts)
        with_url = sum(s.x_posts_with_url for s in posts)
        return {
            "posts": total,
            "posts_with_url": with_url,
            "cost_usd": x_cost_usd(total, with_url),
            "prices_usd": {"post": NUMBERS["x_price_post"].value,
                           "post_with_url": NUMBERS["x_price_post_with_url"].value},
            "per_15_minutes": accounts,
            "per_24_hours": apps,
            "peak_per_15_minutes": max((a["peak"] for a in accounts.values()), default=0),
        }

    def youtube(self) -> dict[str, Any]:
        pacific = ZoneInfo(PACIFIC)
        mine = [s for s in self.sends if s.network == "youtube"]
        projects: dict[str, Any] = {}
        for project, series in sorted(_by(mine, lambda s: self.groups[s.channel_id]).items()):
            units: dict[date, int] = defaultdict(int)
            uploads: dict[date, int] = defaultdict(int)
            tipping: dict[str, dict[date, Send]] = {"units": {}, "uploads": {}}
            for send in series:
                day = send.at.astimezone(pacific).date()
                if send.kind is SendKind.LIVE_SETUP:
                    units[day] += YOUTUBE_LIVE_SETUP_UNITS
                    if units[day] > NUMBERS["youtube_units_per_day"].value:
                        tipping["units"].setdefault(day, send)
                else:
                    uploads[day] += 1
                    if uploads[day] > NUMBERS["youtube_uploads_per_day"].value:
                        tipping["uploads"].setdefault(day, send)
            self._youtube_warnings(tipping, units, uploads)
            peak_day = max(units, key=lambda d: units[d], default=None)
            peak_upload_day = max(uploads, key=lambda d: uploads[d], default=None)
            projects[project] = {
                "channels": sorted({s.channel_id for s in series}),
                "peak_units_per_day": units[peak_day] if peak_day else 0,
                "peak_day": peak_day.isoformat() if peak_day else None,
                "peak_uploads_per_day": uploads[peak_upload_day] if peak_upload_day else 0,
                "days_over": len(tipping["units"]) + len(tipping["uploads"]),
            }
        return {
            "daily_units": int(NUMBERS["youtube_units_per_day"].value),
            "daily_uploads": int(NUMBERS["youtube_uploads_per_day"].value),
            "live_setup_units": YOUTUBE_LIVE_SETUP_UNITS,
            "day_ends": f"midnight {PACIFIC}",
            "peak_units_per_day": max(
                (p["peak_units_per_day"] for p in projects.values()), default=0),
            "peak_uploads_per_day": max(
                (p["peak_uploads_per_day"] for p in projects.values()), default=0),
            "projects": projects,
        }

    def _youtube_warnings(self, tipping: dict[str, dict[date, Send]], units: dict[date, int],
                          uploads: dict[date, int]) -> None:
        fix = "move some of them to another day (the day ends at midnight in Los Angeles)"
        if tipping["units"]:
            day, send = min(tipping["units"].items())
            self.problems.append(_warning(
                self.locate, send,
                f"{send.channel_id}: {units[day]} quota units planned on {day} (Pacific time), "
                f"{units[day] // YOUTUBE_LIVE_SETUP_UNITS} live setups at "
                f"{YOUTUBE_LIVE_SETUP_UNITS} units each; YouTube gives a project "
                f"{int(NUMBERS['youtube_units_per_day'].value)} a day and refuses the rest",
                fix, len(tipping["units"]) - 1, "day over the quota"))
        if tipping["uploads"]:
            day, send = min(tipping["uploads"].items())
            self.problems.append(_warning(
                self.locate, send,
                f"{send.channel_id}: {uploads[day]} video uploads planned on {day} (Pacific "
                f"time); videos.insert is limited to "
                f"{int(NUMBERS['youtube_uploads_per_day'].value)} a day per project",
                fix, len(tipping["uploads"]) - 1, "day over the upload limit"))

    def bursts(self) -> dict[str, Any]:
        number = NUMBERS["burst_posts"]
        assert number.window is not None
        posts = [s for s in self.sends if s.kind is SendKind.POST]
        found: dict[str, int] = {}
        for channel, series in sorted(_by(posts, lambda s: s.channel_id).items()):
            counted = rolling_window([s.at for s in series], [1] * len(series), number.window,
                                     int(number.value))
            if not counted.over:
                continue
            found[channel] = len(counted.over)
            first = series[counted.over[0]]
            self.problems.append(_warning(
                self.locate, first,
                f"{channel}: {counted.peak} posts within "
                f"{int(number.window.total_seconds() // 60)} minutes (the busiest ending "
                f"{self._show(counted.peak_end)}); more than {int(number.value)} posts that "
                f"close together on one account look like spam to the networks",
                "spread the posts (defaults.spacing only delays them when they are sent)",
                len(counted.over) - 1, "post in a burst"))
        return {"posts_over": found, "limit": int(number.value),
                "window_minutes": int(number.window.total_seconds() // 60)}

    def facebook(self) -> dict[str, Any]:
        low = timedelta(minutes=NUMBERS["facebook_schedule_min"].value)
        high = timedelta(days=NUMBERS["facebook_schedule_max"].value)
        posts = [s for s in self.sends if s.network == "facebook"]
        if self.now is None:
            return {"posts": len(posts)}
        ahead = [s.at - self.now for s in posts]
        return {
            "posts": len(posts),
            "natively_schedulable_now": sum(1 for d in ahead if low <= d <= high),
            "sooner_than_10_minutes": sum(1 for d in ahead if d < low),
            "later_than_30_days": sum(1 for d in ahead if d > high),
        }

    def peaks(self) -> dict[str, int]:
        """Per network: the most posts one account has in any 15 minutes (X: thread parts)."""
        window = timedelta(minutes=15)
        posts = [s for s in self.sends if s.kind is SendKind.POST]
        peaks: dict[str, int] = {}
        for series in _by(posts, lambda s: s.channel_id).values():
            weights = [max(1, s.x_posts) for s in series]
            peak = rolling_window([s.at for s in series], weights, window, 1 << 30).peak
            network = series[0].network
            peaks[network] = max(peaks.get(network, 0), peak)
        return dict(sorted(peaks.items()))


def check_quotas(
    sends: Sequence[Send],
    *,
    groups: dict[str, str] | None = None,
    timezone: ZoneInfo | None = None,
    now: datetime | None = None,
    locate: Locate = _no_place,
) -> QuotaCheck:
    """Warnings and a summary of what ``sends`` ask of the networks.

    ``groups`` maps a channel id to its app/project (channels with the same value share X's
    per-app limit and YouTube's per-project quota; default: each channel its own). ``timezone``
    is the one times are shown in; ``now`` enables the Facebook scheduling-window counts;
    ``locate`` places a warning (default: ``schedules.yaml``, the send's ``ref`` as its label).
    """
    known = dict(groups or {})
    for send in sends:
        known.setdefault(send.channel_id, send.channel_id)
    quotas = _Quotas(sends, known, timezone or ZoneInfo("UTC"), now, locate)
    summary = {
        "x": quotas.x(),
        "youtube": quotas.youtube(),
        "bursts": quotas.bursts(),
        "facebook": quotas.facebook(),
        "peak_per_15_minutes": quotas.peaks(),
    }
    return QuotaCheck(quotas.problems, summary)



# -- the inbox's polling (docs/inbox.md): what reading the community costs -------------------

MONTH = timedelta(days=30)


def inbox_polling(workspace: Workspace) -> dict[str, Any]:
    """What ``cm run``'s inbox syncs ask of the networks at the configured cadence
    (``inbox:`` in schedules.yaml): per channel and source, the calls a month; X's bill for
    reads (every post returned is billed: the most is a full page per call, and syncs stop
    before ``inbox.x_read_budget_usd``); YouTube's quota units a day (plus a live day's chat)."""
    from cm_toolkit.channels.base import Capability
    from cm_toolkit.channels.registry import channel_class
    from cm_toolkit.errors import CmError

    settings = workspace.schedules.inbox
    longest_live = max((s.duration for c in workspace.schedules.campaigns
                        for s in c.live_sessions), default=timedelta(0))
    sources: list[dict[str, Any]] = []
    x_most, units_day, live_units = 0.0, 0, 0
    for channel_id, channel in sorted(workspace.channels.items()):
        try:
            cls = channel_class(channel.network)
        except CmError:
            continue
        facts = cls.conversation_facts
        if facts is None or Capability.CONVERSATIONS not in cls.capabilities:
            continue
        for source in facts.sources:
            if source == "live_chat":
                calls = int(longest_live / settings.live_chat) if longest_live else 0
                live_units += calls * facts.live_chat_units
                sources.append({"channel": channel_id, "source": source,
                                "calls_per_live_session": calls})
                continue
            every = max(settings.sync.get(channel.network, timedelta(minutes=15)),
                        facts.min_poll_interval)
            calls = int(MONTH / every)
            price = (facts.owned_read_cost_usd if source == "mentions"
                     and facts.owned_read_cost_usd is not None else facts.read_cost_usd)
            most = round(calls * 100 * price, 2)  # ConversationQuery.max_items per call
            x_most += most
            units_day += int(timedelta(days=1) / every) * facts.read_units
            sources.append({"channel": channel_id, "source": source,
                            "every_minutes": int(every.total_seconds() // 60),
                            "calls_per_month": calls, "price_per_read_usd": price,
                            "most_usd_per_month": most})
    return {"sources": sources, "reads_most_usd_per_month": round(x_most, 2),
            "x_read_budget_usd": settings.x_read_budget_usd,
            "x_reads_usd_per_month": round(min(x_most, settings.x_read_budget_usd), 2),
            "youtube_units_per_day": units_day, "youtube_live_chat_units": live_units}
