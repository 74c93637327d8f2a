"""Interactivity: how the community was answered, per network and ISO week (docs/growth.md).

Over the inbox's messages from the community (``from_us`` false), per network and ISO week of
``received_at`` in the workspace time zone:

- ``received``: messages received; ``questions``: those marked as questions at sync;
- ``answered share``: messages in state ``answered`` / (received − ``ignored``);
- ``median`` and ``p90`` time to first answer: ``first_answered_at − received_at`` of the answered
  ones (linear interpolation between ranks, like PostgreSQL's ``percentile_cont``);
- ``open over 24 h``: at the end of the week (now for the current week; the period's end if it
  ends sooner), messages received more than 24 h before then and not yet answered or closed then
  (any week's: it is the backlog). A message counts as settled at its ``first_answered_at``
  (answered) or at its last change (closed); ``ignored`` ones never count; ``new``/``open`` ones
  count until today;
- ``auto-answered share``: answered messages whose first answer was an FAQ ``auto`` answer /
  answered messages.

Read-only, the same figures on SQLite and PostgreSQL: one scan grouped by network, week, state
and flags gives the counts and the backlog (weeks are a bisecting CASE over the weeks'
boundaries, computed in Python in the workspace zone, so DST is right); percentiles are
PostgreSQL's ``percentile_cont``, and on SQLite (which has none) the answered messages' delays
are read (one number each) and sorted here.
Figures for a million messages: bench/README.md (``bench/interactivity_bench.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    String,
    case,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)

from cm_toolkit.growth.metrics import Period, bucket_of
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import MessageState
from cm_toolkit.workspace.models import Network

M = InboxMessage
OPEN_AFTER = timedelta(hours=24)
PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True)
class InteractivityRow:
    """The metrics of one network over one week (``week``: its local Monday) or, for totals,
    over the whole period (``week`` None)."""

    network: Network
    week: date | None
    received: int = 0
    questions: int = 0
    answered: int = 0
    ignored: int = 0
    auto_answered: int = 0
    median_first_answer: timedelta | None = None
    p90_first_answer: timedelta | None = None
    open_over_24h: int = 0

    @property
    def answered_share(self) -> float | None:
        """Answered / (received − ignored), 0..1; None when nothing is to be answered."""
        considered = self.received - self.ignored
        return self.answered / considered if considered > 0 else None

    @property
    def auto_answered_share(self) -> float | None:
        """Auto-answered / answered, 0..1; None when nothing was answered."""
        return self.auto_answered / self.answered if self.answered else None

    def as_dict(self) -> dict[str, Any]:
        """Plain values with units in the names (JSON, CSV)."""
        return {
            "network": self.network,
            "week": self.week.isoformat() if self.week else None,
            "received": self.received,
            "questions": self.questions,
            "answered": self.answered,
            "ignored": self.ignored,
            "answered_share_percent": _percent(self.answered_share),
            "median_first_answer_minutes": _minutes(self.median_first_answer),
            "p90_first_answer_minutes": _minutes(self.p90_first_answer),
            "open_over_24h": self.open_over_24h,
            "auto_answered": self.auto_answered,
            "auto_answered_share_percent": _percent(self.auto_answered_share),
        }


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _minutes(delay: timedelta | None) -> float | None:
    return None if delay is None else round(delay.total_seconds() / 60, 1)


@dataclass
class Interactivity:
    """Rows per network and week (weeks in order, networks by name), and totals per network
    over the period (their ``open_over_24h`` is at the period's end)."""

    since: datetime | None
    until: datetime | None
    generated_at: datetime
    weeks: list[InteractivityRow] = field(default_factory=list)
    totals: list[InteractivityRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "weeks": [row.as_dict() for row in self.weeks],
            "totals": [row.as_dict() for row in self.totals],
        }


# ---------------------------------------------------------------------------------------------
# SQL pieces


def _seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    if sqlite3.sqlite_version_info >= (3, 38):  # unixepoch() parses faster than julianday()
        return func.unixepoch(later) - func.unixepoch(earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _rank_in(column: Any, boundaries: Sequence[datetime], *, inclusive: bool) -> Any:
    """How many ``boundaries`` (sorted) are below ``column`` (``<=`` when ``inclusive``): a
    bisection written as nested CASEs, so a row costs log2(n) comparisons, not n."""

    def between(low: int, high: int) -> Any:
        if low == high:
            return literal(low)
        middle = (low + high) // 2
        below = boundaries[middle] <= column if inclusive else boundaries[middle] < column
        return case((below, between(middle + 1, high)), else_=between(low, middle))

    return between(0, len(boundaries))


# ---------------------------------------------------------------------------------------------
# The computation


def week_starts(first: datetime, last: datetime, zone: ZoneInfo) -> list[date]:
    """Local Mondays of the ISO weeks from ``first`` to ``last``."""
    start, end = bucket_of(first, Period.WEEK, zone), bucket_of(last, Period.WEEK, zone)
    return [start + timedelta(days=7 * i) for i in range((end - start).days // 7 + 1)]


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class _Frame:
    """The weeks of a report as instants: ``bounds`` cut the period into weeks (a message's
    week is how many bounds are <= its time, minus one: -1 before the period, ``len(weeks)``
    after it), ``cutoffs`` are the weeks' ends for the backlog (capped at now / the end)."""

    weeks: list[date]
    bounds: list[datetime]
    cutoffs: list[datetime]


def _frame(zone: ZoneInfo, first: datetime, last: datetime, since: datetime | None,
           until: datetime | None, now: datetime) -> _Frame:
    latest = max(last, now)
    weeks = week_starts(since or first, min(until or latest, latest), zone)
    starts = [_local_midnight(day, zone) for day in weeks]
    end = _local_midnight(weeks[-1] + timedelta(days=7), zone)
    lower = max(since, starts[0]) if since else starts[0]
    upper = min(until + timedelta(microseconds=1), end) if until else end
    # "now" for the current week; a ledger whose messages are later than now (a replayed
    # season, a clock set back) is read as of its last message.
    end_of_period = min(until or latest, latest)
    cutoffs = [min(stop, end_of_period) for stop in [*starts[1:], end]]
    return _Frame(weeks, [lower, *starts[1:], upper], cutoffs)


def build_interactivity(
    ledger: Ledger, zone: ZoneInfo, *, since: datetime | None = None,
    until: datetime | None = None, now: datetime,
) -> Interactivity:
    """The metrics of the period ``[since, until]`` (None: everything in the ledger).

    One scan grouped by network, week, state and flags (the counts and the backlog), then the
    percentiles of the answered messages' delays."""
    result = Interactivity(since, until, now)
    with ledger.reading() as session:
        first, last = session.execute(
            select(func.min(M.received_at), func.max(M.received_at))
            .where(*_community(since, until))).one()
        if first is None:
            return result
        dialect = session.get_bind().dialect.name
        frame = _frame(zone, first, last, since, until, now)
        counts, totals, backlog = _counts_and_backlog(session, frame)
        per_week, per_network = _percentiles(session, frame, dialect)
    networks = sorted({key[0] for key in totals})
    for index, day in enumerate(frame.weeks):
        for network in networks:
            key = (network, index)
            if key in counts or backlog.get(key):
                result.weeks.append(_row(network, day, counts.get(key), per_week.get(key),
                                         backlog.get(key, 0)))
    last_week = len(frame.weeks) - 1
    for network in networks:
        result.totals.append(_row(network, None, totals.get((network,)),
                                  per_network.get((network,)), backlog.get((network, last_week), 0)))
    return result


def _community(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [M.from_us.is_(False)]
    if since is not None:
        conditions.append(M.received_at >= since)
    if until is not None:
        conditions.append(M.received_at <= until)
    return conditions


def _row(network: Network, week: date | None, counts: list[int] | None,
         delays: tuple[timedelta | None, ...] | None, open_items: int) -> InteractivityRow:
    received, questions, answered, ignored, auto = (counts or [0] * 5)[:5]
    median, p90 = delays or (None, None)
    return InteractivityRow(network, week, received, questions, answered, ignored, auto,
                            median, p90, open_items)


Counts = dict[tuple[Any, ...], list[int]]
"""(network, week) or (network,) -> received, questions, answered, ignored, auto-answered, and
answered with a first-answer time."""
Delays = dict[tuple[Any, ...], tuple[timedelta | None, ...]]


def _counts_and_backlog(session: Any, frame: _Frame) -> tuple[Counts, Counts, dict[Any, int]]:
    """One scan of the community's messages (the backlog needs those before the period too).

    Per row: its week, ``due`` (the first cutoff it is 24 h old at) and ``settled`` (the first
    cutoff it is answered or closed at; never for new/open ones): it is an open item at cutoff
    i when due <= i < settled."""
    week = _rank_in(M.received_at, frame.bounds, inclusive=True) - 1
    due = _rank_in(M.received_at, [c - OPEN_AFTER for c in frame.cutoffs], inclusive=False)
    # The state is tested once; the bisections compare plain columns.
    settled = case(
        (M.state == MessageState.ANSWERED, _rank_in(
            func.coalesce(M.first_answered_at, M.updated_at), frame.cutoffs, inclusive=False)),
        (M.state == MessageState.CLOSED, _rank_in(M.updated_at, frame.cutoffs, inclusive=False)),
        else_=len(frame.cutoffs))
    timed = func.sum(case((M.first_answered_at.is_not(None), 1), else_=0))
    keys = [M.network, week, due, settled, M.state, M.is_question, M.auto_answered]
    # GROUP BY 1, 2, ...: the CASEs are computed once per row, not again for the grouping.
    statement = (select(*keys, func.count(), timed)
                 .where(M.from_us.is_(False), M.received_at < frame.bounds[-1])
                 .group_by(*[literal_column(str(n + 1)) for n in range(len(keys))]))
    weekly: Counts = {}
    totals: Counts = {}
    backlog: dict[Any, int] = {}
    weeks = len(frame.weeks)
    for network, index, due_at, settled_at_index, state, question, auto, count, with_time in \
            session.execute(statement):
        if 0 <= index < weeks:
            answered = state is MessageState.ANSWERED
            add = [count, count if question else 0, count if answered else 0,
                   count if state is MessageState.IGNORED else 0,
                   count if answered and auto else 0, int(with_time) if answered else 0]
            for table, key in ((weekly, (network, index)), (totals, (network,))):
                table[key] = [a + b for a, b in zip(table.get(key, [0] * 6), add, strict=True)]
        if state is not MessageState.IGNORED:
            for cutoff in range(int(due_at), min(int(settled_at_index), weeks)):
                backlog[(network, cutoff)] = backlog.get((network, cutoff), 0) + count
    return weekly, totals, backlog


def _answered_rows(frame: _Frame) -> list[ColumnElement[bool]]:
    """Answered messages of the period. The state is tested inside a CASE so that SQLite does
    not walk the (state, received_at) index: for most of a table, a lookup per row through an
    index costs far more than one pass over the table."""
    return [M.from_us.is_(False),
            case((M.state == MessageState.ANSWERED, 1), else_=0) == 1,
            M.first_answered_at.is_not(None), M.received_at >= frame.bounds[0],
            M.received_at < frame.bounds[-1]]


def _percentiles(session: Any, frame: _Frame, dialect: str) -> tuple[Delays, Delays]:
    """Median and p90 of the time to first answer per (network, week) and per network.

    PostgreSQL computes them (``percentile_cont``); SQLite has no percentile function, so the
    delays (one number per answered message) are read and sorted here, with the same
    interpolation."""
    delay = _seconds_between(M.first_answered_at, M.received_at, dialect)
    week = _rank_in(M.received_at, frame.bounds, inclusive=True) - 1
    if dialect == "postgresql":
        found: list[Delays] = []
        for keys in ([M.network, week], [M.network]):
            statement = (
                select(*keys, *[func.percentile_cont(p).within_group(delay)
                                for p in PERCENTILES])
                .where(*_answered_rows(frame))
                .group_by(*[literal_column(str(n + 1)) for n in range(len(keys))]))
            found.append({
                tuple(row[: len(keys)]): tuple(
                    None if value is None else timedelta(seconds=max(0.0, float(value)))
                    for value in row[len(keys):])
                for row in session.execute(statement)})
        return found[0], found[1]
    groups: dict[tuple[Any, ...], list[float]] = {}
    # The network as plain text: no enum conversion for each of a million rows.
    statement = select(type_coerce(M.network, String), week, delay).where(*_answered_rows(frame))
    for name, index, seconds in session.execute(statement.execution_options(yield_per=50_000)):
        value = float(seconds)
        groups.setdefault((name, index), []).append(value)
        groups.setdefault((name,), []).append(value)
    result: Delays = {}
    for (name, *rest), values in groups.items():
        values.sort()
        result[(name, *rest)] = tuple(_of_sorted(values, p) for p in PERCENTILES)
    return ({k: v for k, v in result.items() if len(k) == 2},
            {k: v for k, v in result.items() if len(k) == 1})


def _of_sorted(values: Sequence[float], p: float) -> timedelta:
    """The p-th percentile of sorted values, interpolated like ``percentile_cont``."""
    position = p * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    # julianday() differences carry ~0.1 ms of float error: keep milliseconds.
    value = values[low] + (values[high] - values[low]) * (position - low)
    return timedelta(seconds=max(0.0, round(value, 3)))


# ---------------------------------------------------------------------------------------------
# The demo's summary


def summary_lines(report: Interactivity) -> list[str]:
    """One line per network: messages, answered share and median response time (the demo)."""
    lines = []
    for row in report.totals:
        share = row.answered_share
        median = row.median_first_answer
        lines.append(
            f"{row.network}: {row.received} message(s), "
            f"{'-' if share is None else f'{share:.0%}'} answered, median response "
            f"{'-' if median is None else format_delay(median)}")
    return lines


def format_delay(delay: timedelta) -> str:
    """``42 s``, ``12 min``, ``3 h 05``, ``2 d 4 h``: short, for tables and summaries."""
    seconds = round(delay.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def interactivity_summary(ledger: Ledger, zone: ZoneInfo, now: datetime | None = None,
                          ) -> list[str]:
    """What ``make demo`` prints for the inbox: ``summary_lines`` over the whole ledger."""
    report = build_interactivity(ledger, zone, now=now or datetime.now(UTC))
    return summary_lines(report)
