"""``cm check``: every problem of a workspace, and what it holds.

``check_workspace`` loads the workspace, then runs extra checkers (other areas add theirs: the
templates' plan check renders every post and checks it against each network's limits). An extra
checker is any ``Callable[[Workspace], list[Problem]]``; it only runs on a workspace that loaded
without errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace.channel_checks import SettingsLookup
from cm_toolkit.workspace.loader import USE_REGISTRY, read_workspace
from cm_toolkit.workspace.models import Workspace

ExtraCheck = Callable[[Workspace], list[Problem]]
FileCheck = Callable[[Path, Workspace | None], list[Problem]]
"""A checker of a file beside the workspace's own (the inbox's ``faq.yaml``): it runs even when
the workspace did not load, with what did."""


@dataclass
class CheckReport:
    """The outcome of ``cm check``: problems in file order and a summary of counts."""

    root: Path
    workspace: Workspace | None
    problems: list[Problem] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def summary_line(self) -> str:
        counts = self.summary
        held = ", ".join(
            f"{counts.get(key, 0)} {name if counts.get(key, 0) != 1 else name.rstrip('s')}"
            for key, name in (
                ("campaigns", "campaigns"),
                ("posts", "posts"),
                ("live_sessions", "live sessions"),
                ("channels", "channels"),
                ("templates", "templates"),
            )
        )
        errors, warnings = len(self.errors), len(self.warnings)
        verdict = (
            "no problem"
            if not self.problems
            else (
                f"{errors} error{'s' if errors != 1 else ''}, "
                f"{warnings} warning{'s' if warnings != 1 else ''}"
            )
        )
        return f"{held} — {verdict}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "problems": [p.as_dict() for p in self.problems],
            "summary": {**self.summary, "errors": len(self.errors), "warnings": len(self.warnings)},
        }


def check_workspace(
    root: Path,
    now: datetime | None,
    *,
    extra_checks: Sequence[ExtraCheck] = (),
    file_checks: Sequence[FileCheck] = (),
    settings_lookup: SettingsLookup | None = USE_REGISTRY,
) -> CheckReport:
    """Load ``root``, run ``file_checks`` and (when it loaded) ``extra_checks`` on it; never
    raises for problems in the files."""
    result = read_workspace(root, now=now, settings_lookup=settings_lookup)
    problems = list(result.problems)
    for file_check in file_checks:
        problems += file_check(result.root, result.workspace)
    if result.workspace is not None:
        for extra in extra_checks:
            problems += extra(result.workspace)
    return CheckReport(
        root=result.root, workspace=result.workspace, problems=problems, summary=dict(result.counts)
    )
