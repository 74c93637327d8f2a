"""``schedules.yaml``'s checks on a large plan run in two processes (``cm_toolkit/cores.py``:
the secret scan and the time rules beside the model and the references): every problem is the
same, in the same order, as in one process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.cores import ENV, forking_allowed
from tests.templates.test_cores import children_faults
from tests.workspace.conftest import FIXTURE, problems, write

BROKEN = """\
timezone: Europe/Paris
campaigns:
  - id: week-2
    name: Week 2
    start: "2027-03-01 09:00"
    posts:
      - {id: p1, template: teaser, channels: [x-mooc], at: "2027-03-04 18:00"}
      - {id: p2, template: teaser, channels: [x-moc], at: "2027-03-04 19:00"}
      - {id: p3, template: teaser, channels: [x-mooc], at: "2027-02-04 19:00"}
      - id: p4
        template: teaser
        channels: [x-mooc]
        at: "2027-03-05 10:00"
        variables: {note: "EAAGm0PX4ZCpsBAKaBcDeFgHiJkLmNoPqRsTuVwXyZ"}
      - {id: p5, template: teaser, channels: [x-mooc], at: "2027-03-05 11:00", colour: red}
      - {id: p6, template: teaser, channels: [x-mooc], every: "0 9 * * *", count: 2, until: "2027-02-01"}
      - id: live-2
        title: "Office hours"
        start: 2027-03-04 18:00
        duration: 45m
        hosted_on: [youtube]
"""


def test_a_broken_schedule_gives_the_same_problems_in_two_processes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workspace, "schedules.yaml", BROKEN)
    monkeypatch.setenv(ENV, "1")
    alone = [str(p) for p in problems(workspace)]
    # every half of the split has something to report
    assert any("x-moc" in p for p in alone), alone  # a reference
    assert any("Facebook access token" in p for p in alone), alone  # the secret scan
    assert any("colour" in p for p in alone), alone  # the model
    assert any("live session" in p for p in alone), alone  # misplaced items
    assert any("2027-02-01" in p or "until" in p for p in alone), alone  # the time rules
    assert all("EAAGm0PX4ZCps" not in p for p in alone)  # hidden
    monkeypatch.setenv(ENV, "2")
    before = children_faults()
    with forking_allowed():
        assert [str(p) for p in problems(workspace)] == alone
    assert children_faults() > before  # the file's checks ran in a child


def test_cm_check_gives_the_same_report_in_two_processes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cm check --json`` itself allows the fork (the sample-like fixture workspace: its plan,
    summary and problems are the same whichever way it is checked)."""
    clean = workspace.parent / "clean"  # the plan is checked (rendered) only where it loads
    shutil.copytree(FIXTURE, clean)
    write(workspace, "schedules.yaml", BROKEN)
    outputs = []
    for count in ("1", "2"):
        monkeypatch.setenv(ENV, count)
        before = children_faults()
        for root in (workspace, clean):
            assert main(["check", "--json", "--workspace", str(root)]) in (0, 1)
        outputs.append(capsys.readouterr().out)
        assert (children_faults() > before) == (count == "2")
    assert outputs[0] == outputs[1]
