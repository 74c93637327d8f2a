"""``cm check``: validate the workspace and list every problem.

Exit codes: 0 when there is no error (warnings are allowed), 1 when there are problems, 2 for a
usage error (no workspace folder, no schedules.yaml).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from cm_toolkit.cli import JsonOption, WorkspaceOption, app, console
from cm_toolkit.workspace.check import check_workspace


@app.command("check")
def check(workspace: WorkspaceOption = Path("."), json_output: JsonOption = False) -> None:
    """Check schedules.yaml, channels/ and templates/: every problem, with file:line:column."""
    report = check_workspace(workspace, datetime.now(UTC))
    if json_output:
        console.file.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        for problem in report.problems:
            _say(str(problem))
        _say(report.summary_line())
    if not report.ok:
        raise typer.Exit(code=1)


def _say(text: str) -> None:
    # Plain text: "schedules.yaml:100:19" must not become an emoji (Rich's ":100:"), nor markup.
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
