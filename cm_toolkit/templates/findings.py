"""The plan check's findings put together: one problem per (place, kind, severity), naming the
first delivery it was seen on and how many more (``cm check``, ``cm preview``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.errors import Problem
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.templates.delivery_checks import SCHEDULES_FILE, Finding
from cm_toolkit.templates.schedule_lines import ScheduleLines


class Findings:
    """Aggregates findings: one problem per (place, kind, severity), with how many deliveries.

    A finding placed at its post (``at_post``) gets the post's line in schedules.yaml when the
    problems are listed: the file is read again only when there is something to report.
    """

    def __init__(self, tz: ZoneInfo, lines: Callable[[], ScheduleLines]) -> None:
        self.tz = tz
        self.lines = lines
        self._groups: dict[tuple[Any, ...], list[Any]] = {}

    def add(self, finding: Finding, delivery: PlannedDelivery) -> None:
        post = delivery.post_key if finding.at_post else None
        key = (finding.file, finding.line, finding.severity, finding.same, post)
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = [finding, delivery, 1, finding.measure]
            return
        group[2] += 1
        if finding.measure is not None and (group[3] is None or finding.measure > group[3]):
            group[3] = finding.measure

    def add_problem(self, problem: Problem, delivery: PlannedDelivery) -> None:
        self.add(Finding.of(problem), delivery)

    def label(self, delivery: PlannedDelivery) -> str:
        label = f"{delivery.post_key} on {delivery.channel_id}"
        if delivery.occurrence != 1:
            label += f" #{delivery.occurrence}"
        return label + f", {delivery.due_at.astimezone(self.tz):%Y-%m-%d %H:%M}"

    def locate(self, delivery: PlannedDelivery) -> tuple[str, int | None, str]:
        return SCHEDULES_FILE, self.lines().line_of(delivery), self.label(delivery)

    def problems(self, *, labelled: bool = True) -> list[Problem]:
        """The problems found; ``labelled``: each names the delivery it was first seen on (and
        how many more), which ``cm preview``, showing one delivery, does without."""
        found = []
        for finding, delivery, count, largest in self._groups.values():
            note = ""
            if largest is not None and finding.measure is not None and largest > finding.measure:
                note += f"; up to {largest} in another occurrence"
            others = count - 1
            more = f", and {others} other occurrence{'s' if others != 1 else ''}" if others else ""
            if labelled:
                note += f" ({self.label(delivery)}{more})"
            line = self.lines().line_of(delivery) if finding.at_post else None
            found.append(finding.problem(line, note))
        return found
