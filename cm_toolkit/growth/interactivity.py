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

Read-only, the same figures on SQLite and PostgreSQL, computed by SQL aggregates over one index
(``ledger/interactivity_reads.py``). Figures for a million messages: bench/README.md
(``bench/interactivity_bench.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.growth.interactivity_weeks import frame_of, week_starts
from cm_toolkit.ledger.interactivity_reads import OPEN_AFTER, read_interactivity
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.workspace.models import Network

__all__ = ["OPEN_AFTER", "Interactivity", "InteractivityRow", "build_interactivity",
           "format_delay", "interactivity_summary", "summary_lines", "week_starts"]


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


def build_interactivity(
    ledger: Ledger, zone: ZoneInfo, *, since: datetime | None = None,
    until: datetime | None = None, now: datetime,
) -> Interactivity:
    """The metrics of the period ``[since, until]`` (None: everything in the ledger).

    Per network, one aggregate over each week's range of ``received_at`` (the counts and the
    backlog), then the percentiles of the answered messages' delays."""
    result = Interactivity(since, until, now)
    figures = read_interactivity(
        ledger, since, until, lambda first, last: frame_of(zone, first, last, since, until, now))
    if figures is None:
        return result
    networks, frame, backlog = figures.networks, figures.frame, figures.backlog
    counts, totals = figures.counts, figures.totals
    per_week, per_network = figures.per_week, figures.per_network
    for index, day in enumerate(frame.weeks):
        for name in networks:
            key = (name, index)
            if key in counts or backlog.get(key):
                result.weeks.append(_row(name, day, counts.get(key), per_week.get(key),
                                         backlog.get(key, 0)))
    last_week = len(frame.weeks) - 1
    for name in networks:
        if (name,) in totals:
            result.totals.append(_row(name, None, totals[(name,)], per_network.get((name,)),
                                      backlog.get((name, last_week), 0)))
    return result


def _row(network: str, week: date | None, counts: list[int] | None,
         delays: tuple[timedelta | None, ...] | None, open_items: int) -> InteractivityRow:
    received, questions, answered, ignored, auto = (counts or [0] * 5)[:5]
    median, p90 = delays or (None, None)
    return InteractivityRow(network, week, received, questions, answered, ignored, auto,
                            median, p90, open_items)


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


def format_delay(delay: timedelta, day_unit: str = "d") -> str:
    """``42 s``, ``12 min``, ``3 h 05``, ``2 d 4 h`` (``2 j 4 h`` with ``day_unit="j"``):
    short, for tables and summaries."""
    seconds = round(delay.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d}"
    return f"{seconds // 86400} {day_unit} {seconds % 86400 // 3600} h"


def interactivity_summary(ledger: Ledger, zone: ZoneInfo, now: datetime | None = None,
                          ) -> list[str]:
    """What ``make demo`` prints for the inbox: ``summary_lines`` over the whole ledger."""
    report = build_interactivity(ledger, zone, now=now or datetime.now(UTC))
    return summary_lines(report)
