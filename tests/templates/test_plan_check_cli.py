"""``cm check`` runs the plan check: problems with file:line, a plan table, ``--json`` shape."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cm_toolkit.cli import main

from .conftest import REPO_ROOT


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


def test_the_sample_workspace_passes_with_a_cost_and_quota_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = _run(["check", "--workspace", str(REPO_ROOT)], capsys)
    assert code == 0, out
    lines = out.strip().splitlines()
    assert lines[-1].endswith("— no problem")
    table = "\n".join(lines[:-1])
    assert "Plan: 2027-02-08 to 2027-05-02" in table
    x_row = next(line for line in lines if line.startswith("│ x "))
    assert "$6.64 (36 posts," in x_row and "4/100 per 15 min," in x_row
    youtube_row = next(line for line in lines if line.startswith("│ youtube "))
    assert "0 + 4 live" in youtube_row and "peak 151/10,000" in youtube_row


def test_json_has_problems_summary_and_plan(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(["check", "--json", "-w", str(REPO_ROOT)], capsys)
    assert code == 0
    report = json.loads(out)
    assert list(report) == ["problems", "summary", "plan"]
    assert report["problems"] == []
    assert report["summary"]["posts"] == 22 and report["summary"]["errors"] == 0
    plan = report["plan"]
    assert plan["deliveries"] == 123
    assert plan["by_network"] == {"bluesky": 2, "facebook": 34, "linkedin": 35, "manual": 15,
                                  "mastodon": 4, "x": 33}
    assert plan["live_setups"] == {"meet": 4, "youtube": 4}
    assert plan["x"]["posts"] == 36 and plan["x"]["posts_with_url"] == 33
    assert plan["x"]["cost_usd"] == pytest.approx(3 * 0.015 + 33 * 0.200)
    assert plan["youtube"]["peak_units_per_day"] == 151
    assert plan["peak_per_15_minutes"]["x"] == 4
    assert plan["bursts"]["posts_over"] == {}
    assert set(plan["facebook"]) >= {"posts", "natively_schedulable_now"}


def test_plan_problems_are_listed_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    schedules = (REPO_ROOT / "schedules.yaml").read_text(encoding="utf-8")
    (root / "schedules.yaml").write_text(schedules, encoding="utf-8")
    debat = root / "templates" / "debat.linkedin.j2"
    debat.write_text(debat.read_text(encoding="utf-8").replace("{{ question }}", "{{ questoin }}"),
                     encoding="utf-8")
    code, out = _run(["check", "-w", str(root)], capsys)
    assert code == 1
    first = out.splitlines()[0]
    assert first.startswith(
        "templates/debat.linkedin.j2:5: undefined variable 'questoin' (debat-autorite on "
        "linkedin-page, 2027-03-03 08:00, and 3 other occurrences) — did you mean 'question'?")
    report = json.loads(_run(["check", "--json", "-w", str(root)], capsys)[1])
    assert report["summary"]["errors"] == 1 and report["plan"]["deliveries"] == 123


def test_plan_is_null_when_the_files_do_not_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schedules.yaml").write_text("timezone: 3\n")
    code, out = _run(["check", "--json", "-w", str(tmp_path)], capsys)
    assert code == 1
    assert json.loads(out)["plan"] is None
