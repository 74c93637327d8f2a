"""``cm run``'s live view: what is due next, what just happened, and what needs a person.

Times are shown in the workspace's time zone (the one ``schedules.yaml`` is written in). The
caption counts deliveries per state and says ``cm review`` when something needs a decision;
the counts are read at most every few seconds (a GROUP BY over the whole ledger).
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text

from cm_toolkit.ledger.decisions import NEEDS_DECISION
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.scheduler.publisher import Step
from cm_toolkit.scheduler.runner import Runner

NEXT_ROWS = 5
RECENT_ROWS = 8
COUNTS_EVERY = 3.0  # seconds
STEP_STYLE = {Step.PUBLISHED: "green", Step.AWAITING_DONE: "cyan", Step.RETRY: "yellow",
              Step.FAILED: "red", Step.UNKNOWN: "bold red", Step.MISSED: "red"}


class LiveView:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._labels: dict[int, str] = {}  # delivery id -> "post → channel" (never changes)
        self._counts: dict[DeliveryState, int] = {}
        self._counted_at = float("-inf")

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.runner.current_view().workspace.schedules.timezone)

    def _label(self, delivery_id: int) -> str:
        if delivery_id not in self._labels:
            row = self.runner.ledger.get(delivery_id)
            self._labels[delivery_id] = (f"{row.post_key} → {row.channel_id}" if row is not None
                                         else "(deleted)")
        return self._labels[delivery_id]

    def _caption(self) -> str:
        if time.monotonic() - self._counted_at > COUNTS_EVERY:
            counts: dict[DeliveryState, int] = {}
            for line in self.runner.ledger.state_counts():
                counts[line.state] = counts.get(line.state, 0) + line.count
            self._counts, self._counted_at = counts, time.monotonic()
        shown = [f"{state.value} {count}" for state, count in sorted(
            self._counts.items(), key=lambda item: item[0].value)]
        waiting = sum(self._counts.get(state, 0) for state in NEEDS_DECISION)
        needs = f" — {waiting} need you: cm review" if waiting else ""
        return " · ".join(shown) + needs + "\nCtrl-C stops cleanly (sends in flight are recorded)"

    def render(self) -> Table:
        tz = self._tz()

        def local(at: datetime) -> str:
            return f"{at.astimezone(tz):%Y-%m-%d %H:%M:%S}"

        runner = self.runner
        table = Table(title=Text(f"cm run {runner.worker_id} — {local(runner.clock.now())} "
                                 f"({tz.key})"), caption=Text(self._caption()),
                      caption_justify="left")
        for column in ("when", "what", "delivery", "detail"):
            table.add_column(column, overflow="fold")
        for due in runner.ledger.next_due(NEXT_ROWS):
            row = due.delivery
            what = "retry" if row.state is DeliveryState.RETRY_WAIT else "next"
            # Text, not markup: post ids and the networks' words may hold brackets
            table.add_row(local(row.next_attempt_at or row.due_at), what,
                          Text(f"#{row.id} {row.post_key} → {row.channel_id}"),
                          Text(row.last_error or "" if what == "retry" else ""))
        table.add_section()
        for at, attempt in list(runner.recent)[-RECENT_ROWS:]:
            style = STEP_STYLE.get(attempt.step, "")
            table.add_row(local(at), Text(attempt.step.value, style=style),
                          Text(f"#{attempt.delivery_id} {self._label(attempt.delivery_id)}"),
                          Text(attempt.detail[:120]))
        return table
