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

Everything is aggregated in SQL, read-only, the same on SQLite and PostgreSQL: counts with GROUP
BY, percentiles with window functions that return only the rows at the wanted ranks, weeks as a
CASE over the weeks' boundaries (computed in Python in the workspace zone, so DST is right).
Figures for a million messages: bench/README.md (``bench/interactivity_bench.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select

from cm_toolkit.growth.metrics import Period, bucket_of
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import MessageState
from cm_toolkit.workspace.models import Network

M = InboxMessage
OPEN_AFTER = timedelta(hours=24)
PERCENTILES = (0.5, 0.9)
WEEKS_PER_QUERY = 40  # open-item columns per statement (one CASE each)


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
            "network": self.network.value,
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
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _index_of(column: Any, boundaries: Sequence[datetime]) -> ColumnElement[Any]:
    """0 for ``column < boundaries[0]``, i for ``boundaries[i-1] <= column < boundaries[i]``,
    ``len(boundaries)`` beyond the last (and for NULL)."""
    if not boundaries:
        return literal(0)
    return case(*[(column < b, i) for i, b in enumerate(boundaries)], else_=len(boundaries))


def _community(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [M.from_us.is_(False)]
    if since is not None:
        conditions.append(M.received_at >= since)
    if until is not None:
        conditions.append(M.received_at <= until)
    return conditions


# ---------------------------------------------------------------------------------------------
# The computation


def week_starts(first: datetime, last: datetime, zone: ZoneInfo) -> list[date]:
    """Local Mondays of the ISO weeks from ``first`` to ``last``."""
    start, end = bucket_of(first, Period.WEEK, zone), bucket_of(last, Period.WEEK, zone)
    return [start + timedelta(days=7 * i) for i in range((end - start).days // 7 + 1)]


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def build_interactivity(
    ledger: Ledger, zone: ZoneInfo, *, since: datetime | None = None,
    until: datetime | None = None, now: datetime,
) -> Interactivity:
    """The metrics of the period ``[since, until]`` (None: everything in the ledger)."""
    result = Interactivity(since, until, now)
    with ledger.reading() as session:
        first, last = session.execute(
            select(func.min(M.received_at), func.max(M.received_at))
            .where(*_community(since, until))).one()
        if first is None:
            return result
        dialect = session.get_bind().dialect.name
        weeks = week_starts(since or first, min(until or max(last, now), max(last, now)), zone)
        starts = [_local_midnight(day, zone) for day in weeks]
        ends = starts[1:] + [_local_midnight(weeks[-1] + timedelta(days=7), zone)]
        end_of_period = min(until or now, now)
        cutoffs = [min(end, end_of_period) for end in ends]  # "the end of the week" (or now)
        week_of = _index_of(M.received_at, starts[1:])
        counts = _counts(session, [M.network, week_of], since, until)
        totals = _counts(session, [M.network], since, until)
        per_week = _percentiles(session, [M.network, week_of], since, until, dialect)
        per_network = _percentiles(session, [M.network], since, until, dialect)
        open_items = _open_items(session, cutoffs)
    networks = sorted({key[0] for key in counts}, key=lambda n: n.value)
    for index, day in enumerate(weeks):
        for network in networks:
            key = (network, index)
            if key not in counts and not open_items.get(key):
                continue
            result.weeks.append(_row(network, day, counts.get(key), per_week.get(key),
                                     open_items.get(key, 0)))
    for network in networks:
        result.totals.append(_row(network, None, totals.get((network,)),
                                  per_network.get((network,)),
                                  open_items.get((network, len(weeks) - 1), 0)))
    return result


def _row(network: Network, week: date | None, counts: tuple[int, ...] | None,
         delays: tuple[timedelta | None, ...] | None, open_items: int) -> InteractivityRow:
    received, questions, answered, ignored, auto = counts or (0, 0, 0, 0, 0)
    median, p90 = delays or (None, None)
    return InteractivityRow(network, week, received, questions, answered, ignored, auto,
                            median, p90, open_items)


def _counts(session: Any, keys: Sequence[Any], since: datetime | None,
            until: datetime | None) -> dict[tuple[Any, ...], tuple[int, ...]]:
    def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    answered = M.state == MessageState.ANSWERED
    statement = (
        select(*keys, func.count(), count_if(M.is_question.is_(True)), count_if(answered),
               count_if(M.state == MessageState.IGNORED),
               count_if(and_(answered, M.auto_answered.is_(True))))
        .where(*_community(since, until)).group_by(*keys))
    found = {}
    for row in session.execute(statement):
        width = len(keys)
        found[tuple(row[:width])] = tuple(int(value or 0) for value in row[width:])
    return found


def _percentiles(
    session: Any, keys: Sequence[Any], since: datetime | None, until: datetime | None,
    dialect: str,
) -> dict[tuple[Any, ...], tuple[timedelta | None, ...]]:
    """Median and p90 of the time to first answer per group, from the two rows around each
    wanted rank (the database sorts; only a few rows per group come back)."""
    delay = _seconds_between(M.first_answered_at, M.received_at, dialect)
    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
    ranked = (
        select(*labelled, delay.label("delay"),
               func.row_number().over(partition_by=list(keys), order_by=delay).label("rank"),
               func.count().over(partition_by=list(keys)).label("size"))
        .where(*_community(since, until), M.state == MessageState.ANSWERED,
               M.first_answered_at.is_not(None))
        .subquery())
    # 0-based position p * (size - 1), floored with integer division (the same in both SQLs).
    wanted = []
    for p in PERCENTILES:
        tenths = round(p * 10)
        low = (ranked.c.size - 1) * tenths // 10 + 1
        wanted += [ranked.c.rank == low, ranked.c.rank == low + 1]
    columns = [ranked.c[f"k{i}"] for i in range(len(keys))]
    statement = select(*columns, ranked.c.rank, ranked.c.size, ranked.c.delay).where(
        or_(*wanted))
    values: dict[tuple[Any, ...], dict[int, float]] = {}
    sizes: dict[tuple[Any, ...], int] = {}
    for row in session.execute(statement):
        key = tuple(row[: len(keys)])
        rank, size, seconds = row[len(keys):]
        # julianday() differences carry ~0.1 ms of float error: keep milliseconds.
        values.setdefault(key, {})[int(rank)] = round(float(seconds), 3)
        sizes[key] = int(size)
    found = {}
    for key, by_rank in values.items():
        found[key] = tuple(_interpolate(by_rank, sizes[key], p) for p in PERCENTILES)
    return found


def _interpolate(by_rank: dict[int, float], size: int, p: float) -> timedelta | None:
    position = p * (size - 1)
    low = int(position)
    below = by_rank.get(low + 1)
    if below is None:
        return None
    above = by_rank.get(low + 2, below)
    return timedelta(seconds=max(0.0, below + (above - below) * (position - low)))


def _open_items(session: Any, cutoffs: Sequence[datetime]) -> dict[tuple[Network, int], int]:
    """Per (network, week index): messages older than 24 h and not settled at the week's
    cutoff. One SUM(CASE) column per week, ``WEEKS_PER_QUERY`` weeks per statement."""
    settled_at = case(
        (M.state == MessageState.ANSWERED, func.coalesce(M.first_answered_at, M.updated_at)),
        (M.state == MessageState.CLOSED, M.updated_at),
        else_=None)
    found: dict[tuple[Network, int], int] = {}
    for offset in range(0, len(cutoffs), WEEKS_PER_QUERY):
        chunk = cutoffs[offset:offset + WEEKS_PER_QUERY]
        columns = [
            func.sum(case((and_(M.received_at <= cutoff - OPEN_AFTER,
                                (settled_at.is_(None)) | (settled_at > cutoff)), 1), else_=0))
            for cutoff in chunk]
        statement = (select(M.network, *columns)
                     .where(M.from_us.is_(False), M.state != MessageState.IGNORED,
                            M.received_at <= max(chunk) - OPEN_AFTER)
                     .group_by(M.network))
        for network, *sums in session.execute(statement):
            for index, value in enumerate(sums):
                if value:
                    found[(network, offset + index)] = int(value)
    return found


# ---------------------------------------------------------------------------------------------
# The demo's summary


def summary_lines(report: Interactivity) -> list[str]:
    """One line per network: messages, answered share and median response time (the demo)."""
    lines = []
    for row in report.totals:
        share = row.answered_share
        median = row.median_first_answer
        lines.append(
            f"{row.network.value}: {row.received} message(s), "
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
