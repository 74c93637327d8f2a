"""The interactivity metrics' queries (``growth/interactivity.py`` builds the report from them).

Every read goes through ``ix_inbox_messages_metrics`` (``from_us, network, received_at, state,
is_question, auto_answered, first_answered_at, updated_at``; migration 0004): per network, one
query per week's range of ``received_at`` reads one range of the index, which holds every
column used, never the wide message rows, and SQL aggregates it (grouped by a few small keys
for the backlog). Weeks are cut in Python in the workspace zone, so DST is right
(``growth/interactivity_weeks.py`` makes the ``Frame``). Percentiles are PostgreSQL's
``percentile_cont``; SQLite has none, so there each week's delays are read (one number each,
from the index) and sorted here, with the same interpolation. The same figures on both
databases; bench/README.md (``interactivity_bench.py``) has the times for a million messages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    case,
    func,
    literal,
    literal_column,
    select,
)

from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import MessageState

M = InboxMessage
OPEN_AFTER = timedelta(hours=24)
PERCENTILES = (0.5, 0.9)


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


@dataclass(frozen=True)
class Frame:
    """The weeks of a report as instants: ``bounds`` cut the period into weeks (a message's
    week is how many bounds are <= its time, minus one: -1 before the period, ``len(weeks)``
    after it), ``cutoffs`` are the weeks' ends for the backlog (capped at now / the end)."""

    weeks: list[date]
    bounds: list[datetime]
    cutoffs: list[datetime]


def networks_of(session: Any) -> list[str]:
    """The networks the community wrote on, by name: one index seek each (``network >``
    the previous one), not a scan of every message."""
    names: list[str] = []
    column = M.network
    while True:
        query = select(func.min(column)).where(M.from_us.is_(False))
        if names:
            query = query.where(column > names[-1])
        found = session.execute(query).scalar()
        if found is None:
            return names
        names.append(str(found))


def first_and_last(session: Any, networks: list[str], since: datetime | None,
                    until: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The first and last community message of the period: min and max per network (index
    seeks on ``ix_inbox_messages_metrics``)."""
    found: list[datetime] = []
    for name in networks:
        where = [*_community(since, until), M.network == name]
        found.extend(at for at in session.execute(
            select(func.min(M.received_at), func.max(M.received_at)).where(*where)).one()
            if at is not None)
    return (min(found), max(found)) if found else (None, None)


def _community(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [M.from_us.is_(False)]
    if since is not None:
        conditions.append(M.received_at >= since)
    if until is not None:
        conditions.append(M.received_at <= until)
    return conditions


Counts = dict[tuple[Any, ...], list[int]]
"""(network, week) or (network,) -> received, questions, answered, ignored, auto-answered, and
answered with a first-answer time."""
Delays = dict[tuple[Any, ...], tuple[timedelta | None, ...]]


def _ranges(frame: Frame) -> list[tuple[int, datetime | None, datetime]]:
    """(week, from, to) of ``received_at``: the weeks' ranges, and first (week -1, no lower
    end) the messages before the period, which count in the backlog only."""
    bounds = frame.bounds
    return [(-1, None, bounds[0]),
            *[(i, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]]


def counts_and_backlog(session: Any, frame: Frame, networks: list[str],
                        ) -> tuple[Counts, Counts, dict[Any, int]]:
    """One aggregate per network and range of ``received_at`` (``_ranges``): each reads one
    range of ``ix_inbox_messages_metrics``, which holds every column used, and groups its rows
    by a few small keys (no sort of the whole table).

    A message is an open item at cutoff ``j`` (a week's end) when it was received 24 h or more
    before it (``due``) and was not settled by then: ``j`` < its settled rank, the number of
    cutoffs before it was answered (its first answer) or closed (its last change); new and open
    ones are never settled, ignored ones never count. Within a range, a cutoff whose ``due``
    falls inside it splits its rows by one more key; the others are due for all or none."""
    answered = M.state == MessageState.ANSWERED
    counted = [func.count(), _sum(M.is_question.is_(True)), _sum(answered),
               _sum(M.state == MessageState.IGNORED),
               _sum(answered & M.auto_answered.is_(True)),
               _sum(answered & M.first_answered_at.is_not(None))]
    dues = [cutoff - OPEN_AFTER for cutoff in frame.cutoffs]
    weeks = len(frame.weeks)
    settled = case(  # built once: the bisections are the bulk of the statement
        (M.state.in_([MessageState.NEW, MessageState.OPEN]), literal(weeks)),
        (answered, _rank_in(func.coalesce(M.first_answered_at, M.updated_at), frame.cutoffs,
                            inclusive=False)),
        (M.state == MessageState.CLOSED, _rank_in(M.updated_at, frame.cutoffs,
                                                   inclusive=False)),
        else_=literal(0))  # ignored: open at no cutoff
    weekly: Counts = {}
    totals: Counts = {}
    backlog: dict[Any, int] = {}
    for name in networks:
        for week, low, high in _ranges(frame):
            split = [j for j in range(weeks) if (low is None or dues[j] >= low)
                     and dues[j] < high]
            after = [j for j in range(weeks) if dues[j] >= high]  # every row is due there
            keys = [settled, *[case((M.received_at <= dues[j], 1), else_=0) for j in split]]
            where = [M.from_us.is_(False), M.network == name,
                     M.received_at < high]
            if low is not None:
                where.append(M.received_at >= low)
            statement = (select(*keys, *counted).where(*where)
                         .group_by(*[literal_column(str(n + 1)) for n in range(len(keys))]))
            for rank, *rest in session.execute(statement):
                flags, values = rest[:len(split)], [int(v or 0) for v in rest[len(split):]]
                if week >= 0:
                    for table, key in ((weekly, (name, week)), (totals, (name,))):
                        table[key] = [a + b for a, b in zip(
                            table.get(key, [0] * 6), values, strict=True)]
                due = [j for j, flag in zip(split, flags, strict=True) if flag] + after
                for j in due:
                    if j < int(rank):
                        backlog[(name, j)] = backlog.get((name, j), 0) + values[0]
    return weekly, totals, backlog


def _sum(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _answered_rows(low: datetime, high: datetime) -> list[ColumnElement[bool]]:
    """Answered messages received in ``[low, high)``. One range on ``received_at`` only: given
    two, SQLite seeks the index with the first and filters with the second."""
    return [M.from_us.is_(False), M.state == MessageState.ANSWERED,
            M.first_answered_at.is_not(None), M.received_at >= low, M.received_at < high]


def percentiles(session: Any, frame: Frame, dialect: str, networks: list[str],
                 ) -> tuple[Delays, Delays]:
    """Median and p90 of the time to first answer per (network, week) and per network.

    PostgreSQL computes them (``percentile_cont``); SQLite has no percentile function, so the
    delays of each network's week (one index range) are read, one number each, and sorted
    here, with the same interpolation."""
    delay = _seconds_between(M.first_answered_at, M.received_at, dialect)
    if dialect == "postgresql":
        week = _rank_in(M.received_at, frame.bounds, inclusive=True) - 1
        found: list[Delays] = []
        for keys in ([M.network, week], [M.network]):
            statement = (
                select(*keys, *[func.percentile_cont(p).within_group(delay)
                                for p in PERCENTILES])
                .where(*_answered_rows(frame.bounds[0], frame.bounds[-1]))
                .group_by(*[literal_column(str(n + 1)) for n in range(len(keys))]))
            found.append({
                tuple(row[: len(keys)]): tuple(
                    None if value is None else timedelta(seconds=max(0.0, float(value)))
                    for value in row[len(keys):])
                for row in session.execute(statement)})
        return found[0], found[1]
    per_week: Delays = {}
    per_network: Delays = {}
    for name in networks:
        everything: list[float] = []
        for week, low, high in _ranges(frame)[1:]:
            assert low is not None
            values = list(map(float, session.execute(select(delay).where(
                *_answered_rows(low, high), M.network == name))
                .scalars().all()))
            values.sort()
            if values:
                per_week[(name, week)] = tuple(_of_sorted(values, p) for p in PERCENTILES)
                everything.extend(values)
        if everything:
            everything.sort()  # sorted runs one after the other: a merge, not a full sort
            per_network[(name,)] = tuple(_of_sorted(everything, p) for p in PERCENTILES)
    return per_week, per_network


def _of_sorted(values: Sequence[float], p: float) -> timedelta:
    """The p-th percentile of sorted values, interpolated like ``percentile_cont``."""
    position = p * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    # julianday() differences carry ~0.1 ms of float error: keep milliseconds.
    value = values[low] + (values[high] - values[low]) * (position - low)
    return timedelta(seconds=max(0.0, round(value, 3)))


@dataclass(frozen=True)
class InteractivityFigures:
    """What ``read_interactivity`` found, all in one read transaction."""

    networks: list[str]
    frame: Frame
    counts: Counts  # (network, week) -> see ``Counts``
    totals: Counts  # (network,) -> the same over the period
    backlog: dict[Any, int]  # (network, week) -> open over 24 h at the week's end
    per_week: Delays
    per_network: Delays


def read_interactivity(
    ledger: Ledger, since: datetime | None, until: datetime | None,
    frame_for: Callable[[datetime, datetime], Frame],
) -> InteractivityFigures | None:
    """The counts, backlog and delays of ``[since, until]`` (None: no community message).

    ``frame_for(first, last)`` cuts the period (first and last message found) into weeks."""
    with ledger.reading() as session:
        networks = networks_of(session)
        first, last = first_and_last(session, networks, since, until)
        if first is None or last is None:
            return None
        dialect = session.get_bind().dialect.name
        frame = frame_for(first, last)
        # Core, not the ORM: no ORM row loading for hundreds of thousands of delays
        connection = session.connection()
        counts, totals, backlog = counts_and_backlog(connection, frame, networks)
        per_week, per_network = percentiles(connection, frame, dialect, networks)
    return InteractivityFigures(networks, frame, counts, totals, backlog, per_week, per_network)
