"""What a plan asks of each network, day by day: rate limits, quotas, spam bursts and bills.

Every number comes from the adapter of the network (``channels/<network>``, read through the
registry: a plugin network is counted like a built-in one). ``check_quotas(sends, ...)`` adds
up the planned sends and returns warnings (``Severity.WARNING``: the network would refuse, or
flag, part of the plan; nothing is wrong in the files as such) and a JSON-ready summary, one
entry per network that declares something to count:

- ``quota_rules`` (``QuotaRule``): what each send costs under each rule (a post, its thread
  parts, a live setup), added up per account or per app (the channels whose files name the
  same ``client_id`` secret share an X app or a Google Cloud project), over a rolling window
  (a send is "over" when, counting itself, the window that ends with it holds more than the
  limit: summary ``per_<span>``, and ``peak_per_<span>`` for a rule per account) or per
  calendar day ending at midnight in the rule's zone (``daily_<unit>``, ``peak_<unit>_per_day``,
  the groups under ``projects`` (per app) or ``accounts``, ``live_setup_<unit>`` when a live
  setup costs something). X: 100 posts per 15 minutes per account and 10,000 per 24 hours per
  app; YouTube: 10,000 units a day per project (a live setup 151) and 100 uploads; Mastodon:
  300 requests per 5 minutes; Bluesky: 5,000 record points an hour and 35,000 a day.
- ``pricing`` (``Pricing``): the pay-per-use bill (X: $0.015 a post, $0.200 a post containing
  a URL, each thread part priced on its own text): ``posts``, ``cost_usd``, ``prices_usd``.
- ``native_schedule`` (``NativeSchedule``): how many posts the network could schedule itself
  now (Facebook: 10 minutes to 30 days ahead), information only, when ``now`` is given.
- Bursts, for every network: more than 3 posts on one account within 10 minutes (a window
  ending with a post, that post included) look like spam. A thread counts once here.
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
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cm_toolkit.channels.facts import Pricing, QuotaRule
from cm_toolkit.errors import CmError, Problem, Severity
from cm_toolkit.workspace.models import Network, Workspace

if TYPE_CHECKING:
    from cm_toolkit.channels.base import Channel

BURST_POSTS = 3  # more posts than this within BURST_WINDOW on one account look like spam
BURST_WINDOW = timedelta(minutes=10)


class SendKind(enum.Enum):
    POST = "post"  # a post or an announcement (on YouTube: a video upload)
    LIVE_SETUP = "live_setup"  # a YouTube broadcast / a Meet event


@dataclass(frozen=True, slots=True)
class Send:
    """One planned delivery as the quotas see it. ``parts`` counts a thread's parts where the
    plan check knows them (X; 0: one post), ``parts_with_url`` those holding a URL; ``ref`` is
    the caller's (``locate(ref)`` says where a warning about it points)."""

    at: datetime  # aware
    channel_id: str
    network: Network
    kind: SendKind
    parts: int = 0
    parts_with_url: int = 0
    ref: Any = None

    @property
    def posts(self) -> int:
        return max(1, self.parts) if self.kind is SendKind.POST else 0


Locate = Callable[[Any], tuple[str, int | None, str]]
"""``ref`` -> (file, line, label): where a warning about a send points, and how it is named."""


def _no_place(ref: Any) -> tuple[str, int | None, str]:
    return "schedules.yaml", None, str(ref)


@dataclass
class QuotaCheck:
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


@cache
def _adapter(network: str) -> type[Channel] | None:
    from cm_toolkit.channels.registry import channel_class

    try:
        return channel_class(network)
    except CmError:  # an unknown network is the loader's to report
        return None


def cost_usd(pricing: Pricing, posts: int, posts_with_url: int) -> float:
    """The price of ``posts`` posts, ``posts_with_url`` of which contain a URL."""
    with_url = pricing.post_with_url_usd if pricing.post_with_url_usd is not None \
        else pricing.post_usd
    return round((posts - posts_with_url) * pricing.post_usd + posts_with_url * with_url, 3)


def network_cost_usd(network: str, posts: int, posts_with_url: int) -> float:
    """What ``posts`` cost on ``network`` (its adapter's ``pricing``; 0 when it bills none)."""
    cls = _adapter(network)
    if cls is None or cls.pricing is None:
        return 0.0
    return cost_usd(cls.pricing, posts, posts_with_url)


def send_cost(rule: QuotaRule, send: Send) -> float:
    """What ``send`` spends under ``rule``: a post and its further thread parts, or a setup."""
    if send.kind is SendKind.LIVE_SETUP:
        return rule.costs.get("live_setup", 0)
    return rule.costs.get("post", 0) + (send.posts - 1) * rule.costs.get("thread_part", 0)


@dataclass(frozen=True)
class WindowCount:
    """The busiest rolling window of a series, and the sends that went over the limit."""

    peak: float
    peak_end: datetime | None
    over: list[int]  # indexes (in time order) of sends that end a window holding > limit


def rolling_window(
    times: Sequence[datetime], weights: Sequence[float], window: timedelta, limit: float
) -> WindowCount:
    """Count ``weights`` in every window ``(t - window, t]`` ending at a send (``times`` sorted).

    Two pointers: each send enters and leaves the running total once.
    """
    total: float = 0
    start, peak, peak_end = 0, 0.0, None
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


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _span(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"


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

    def _group_of(self, rule: QuotaRule) -> Callable[[Send], str]:
        if rule.per == "app":
            return lambda s: self.groups[s.channel_id]
        return lambda s: s.channel_id

    def network(self, cls: type[Channel], sends: list[Send]) -> dict[str, Any]:
        """The summary of one network: its bill, its rules, its native scheduling."""
        summary: dict[str, Any] = {}
        if cls.pricing is not None:
            posts = sum(s.posts for s in sends)
            with_url = sum(s.parts_with_url for s in sends if s.kind is SendKind.POST)
            summary |= {
                "posts": posts, "posts_with_url": with_url,
                "cost_usd": cost_usd(cls.pricing, posts, with_url),
                "prices_usd": {"post": cls.pricing.post_usd,
                               "post_with_url": cls.pricing.post_with_url_usd
                               if cls.pricing.post_with_url_usd is not None
                               else cls.pricing.post_usd},
            }
        for rule in cls.quota_rules:
            if rule.window is not None:
                self._window_rule(cls, rule, sends, summary)
            else:
                self._day_rule(rule, sends, summary)
        if cls.native_schedule is not None:
            summary |= self._native(cls, sends)
        return summary

    def _window_rule(self, cls: type[Channel], rule: QuotaRule, sends: list[Send],
                     summary: dict[str, Any]) -> None:
        assert rule.window is not None
        span = _span(rule.window)
        counted = [s for s in sends if send_cost(rule, s) > 0]
        groups: dict[str, Any] = {}
        for group, series in sorted(_by(counted, self._group_of(rule)).items()):
            if rule.per == "app":
                scope = f"{cls.display_name} app of " \
                        f"{', '.join(sorted({s.channel_id for s in series}))}"
                fix = "spread these posts over more days"
            else:
                scope = group
                fix = "spread these posts over more time, or post fewer on this account"
            weights = [send_cost(rule, s) for s in series]
            result = rolling_window([s.at for s in series], weights, rule.window, rule.limit)
            if result.over:
                self.problems.append(_warning(
                    self.locate, series[result.over[0]],
                    f"{scope}: up to {_number(result.peak)} {rule.unit} within {span} "
                    f"(busiest window ends {self._show(result.peak_end)}); {rule.what} is "
                    f"limited to {_number(rule.limit)} per {rule.per} per {span}: the network "
                    "refuses the rest",
                    fix, len(result.over) - 1, "post over the limit"))
            end = result.peak_end.astimezone(self.tz).isoformat() if result.peak_end else None
            groups[group] = {"peak": _number(result.peak), "peak_ends_at": end,
                             "limit": _number(rule.limit), "over": len(result.over)}
        name = "per_" + span.replace(" ", "_")
        summary[name] = groups
        if rule.per == "account":
            summary[f"peak_{name}"] = max((g["peak"] for g in groups.values()), default=0)

    def _day_rule(self, rule: QuotaRule, sends: list[Send], summary: dict[str, Any]) -> None:
        zone = rule.day_zone or "UTC"
        local = ZoneInfo(zone)
        unit = rule.unit
        container = summary.setdefault("projects" if rule.per == "app" else "accounts", {})
        for group, series in sorted(_by(sends, self._group_of(rule)).items()):
            totals: dict[date, float] = defaultdict(float)
            tipping: dict[date, Send] = {}  # the send that takes each day over the limit
            for send in series:
                cost = send_cost(rule, send)
                if cost:
                    day = send.at.astimezone(local).date()
                    totals[day] += cost
                    if totals[day] > rule.limit:
                        tipping.setdefault(day, send)
            if tipping:
                day, send = min(tipping.items(), key=lambda item: item[0])
                self.problems.append(_warning(
                    self.locate, send,
                    f"{send.channel_id}: {_number(totals[day])} {unit} planned on {day} "
                    f"({zone} time); {rule.what} is limited to {_number(rule.limit)} {unit} "
                    f"a day per {rule.per}: the network refuses the rest",
                    f"move some of them to another day (the day ends at midnight in {zone})",
                    len(tipping) - 1, "day over the quota"))
            peak_day = max(totals, key=lambda d: totals[d], default=None)
            entry = container.setdefault(
                group, {"channels": sorted({s.channel_id for s in series})})
            entry[f"peak_{unit}_per_day"] = _number(totals[peak_day]) if peak_day else 0
            entry.setdefault("peak_day", peak_day.isoformat() if peak_day else None)
            entry["days_over"] = entry.get("days_over", 0) + len(tipping)
        summary[f"daily_{unit}"] = _number(rule.limit)
        if "live_setup" in rule.costs:
            summary[f"live_setup_{unit}"] = _number(rule.costs["live_setup"])
        summary["day_ends"] = f"midnight {zone}"
        summary[f"peak_{unit}_per_day"] = max(
            (g.get(f"peak_{unit}_per_day", 0) for g in container.values()), default=0)

    def _native(self, cls: type[Channel], sends: list[Send]) -> dict[str, Any]:
        assert cls.native_schedule is not None
        low, high = cls.native_schedule.earliest, cls.native_schedule.latest
        posts = [s for s in sends if s.kind is SendKind.POST]
        if self.now is None:
            return {"posts": len(posts)}
        ahead = [s.at - self.now for s in posts]
        return {
            "posts": len(posts),
            "natively_schedulable_now": sum(1 for d in ahead if low <= d <= high),
            f"sooner_than_{int(low.total_seconds() // 60)}_minutes":
                sum(1 for d in ahead if d < low),
            f"later_than_{high.days}_days": sum(1 for d in ahead if d > high),
        }

    def bursts(self) -> dict[str, Any]:
        posts = [s for s in self.sends if s.kind is SendKind.POST]
        found: dict[str, int] = {}
        for channel, series in sorted(_by(posts, lambda s: s.channel_id).items()):
            counted = rolling_window([s.at for s in series], [1] * len(series), BURST_WINDOW,
                                     BURST_POSTS)
            if not counted.over:
                continue
            found[channel] = len(counted.over)
            first = series[counted.over[0]]
            self.problems.append(_warning(
                self.locate, first,
                f"{channel}: {_number(counted.peak)} posts within "
                f"{int(BURST_WINDOW.total_seconds() // 60)} minutes (the busiest ending "
                f"{self._show(counted.peak_end)}); more than {BURST_POSTS} posts that "
                f"close together on one account look like spam to the networks",
                "spread the posts (defaults.spacing only delays them when they are sent)",
                len(counted.over) - 1, "post in a burst"))
        return {"posts_over": found, "limit": BURST_POSTS,
                "window_minutes": int(BURST_WINDOW.total_seconds() // 60)}

    def peaks(self) -> dict[str, int]:
        """Per network: the most posts one account has in any 15 minutes (thread parts)."""
        window = timedelta(minutes=15)
        posts = [s for s in self.sends if s.kind is SendKind.POST]
        peaks: dict[str, int] = {}
        for series in _by(posts, lambda s: s.channel_id).values():
            weights = [s.posts for s in series]
            peak = int(rolling_window([s.at for s in series], weights, window, 1 << 30).peak)
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

    ``groups`` maps a channel id to its app/project (channels with the same value share a
    rule ``per="app"``, e.g. X's per-app limit and YouTube's per-project quota; default: each
    channel its own). ``timezone`` is the one times are shown in; ``now`` enables the native
    scheduling counts; ``locate`` places a warning (default: ``schedules.yaml``, the send's
    ``ref`` as its label).
    """
    known = dict(groups or {})
    for send in sends:
        known.setdefault(send.channel_id, send.channel_id)
    quotas = _Quotas(sends, known, timezone or ZoneInfo("UTC"), now, locate)
    summary: dict[str, Any] = {}
    for network, mine in sorted(_by(sends, lambda s: s.network).items()):
        cls = _adapter(network)
        if cls is None or not (cls.quota_rules or cls.pricing or cls.native_schedule):
            continue
        summary[network] = quotas.network(cls, mine)
    summary["bursts"] = quotas.bursts()
    summary["peak_per_15_minutes"] = quotas.peaks()
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
