"""The render limits as ``cm check`` and ``cm preview`` report them: a template that never ends
is one problem at its file:line, within the limit, and both commands exit 1.

The limit is lowered to 0.1 s in the workspace (``template_limits``): the loop below runs
10**10 times, so the outcome does not depend on the machine's speed, only its duration does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cm_toolkit.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "workspace" / "fixtures" / "valid"
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture
def looping(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    (root / "templates" / "teaser.j2").write_text("{{ course }}\n" + LOOP, encoding="utf-8")
    schedules = root / "schedules.yaml"
    schedules.write_text("template_limits: {seconds: 0.1}\n" + schedules.read_text("utf-8"),
                         encoding="utf-8")
    return root


def test_cm_check_reports_the_looping_template_at_its_line(
    looping: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--json", "--workspace", str(looping)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    loops = [p for p in report["problems"] if "ran longer than" in p["message"]]
    assert loops, report["problems"]
    assert {(p["file"], p["line"]) for p in loops} == {("templates/teaser.j2", 2)}
    assert loops[0]["message"].startswith("this template ran longer than 0.1 s")


def test_cm_preview_reports_it_too(looping: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", "teaser", "--json", "--workspace", str(looping)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    problems = [p for d in report["deliveries"] for p in d["problems"]]
    assert problems and all(p["file"] == "templates/teaser.j2" and p["line"] == 2
                            for p in problems)
    assert all("ran longer than 0.1 s" in p["message"] for p in problems)


def test_a_blow_up_is_refused_by_cm_check_too(
    looping: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (looping / "templates" / "teaser.j2").write_text("{{ 'a'.zfill(1000000000) }}",
                                                     encoding="utf-8")
    code = main(["check", "--workspace", str(looping)])
    out = capsys.readouterr().out
    assert code == 1
    assert "templates/teaser.j2:1: this template produced more than 100,000 characters" in out
