"""``cm plan`` / ``cm apply`` / ``cm status`` on a copy of the sample workspace (the repo root)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.cli import main

SAMPLE = Path(__file__).parents[2]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(SAMPLE / "schedules.yaml", root)
    for folder in ("channels", "templates", "assets"):
        if (SAMPLE / folder).is_dir():
            shutil.copytree(SAMPLE / folder, root / folder)
    return root


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_apply_status_round_trip(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, "plan", "-w", str(sample))
    assert first["create"] and not first["change"] and not first["cancel"]
    assert sum(row["create"] for row in first["summary"]) == len(first["create"])

    applied = run_json(capsys, "apply", "-w", str(sample))
    assert applied["applied"]["created"] == len(first["create"])

    again = run_json(capsys, "plan", "-w", str(sample))
    assert (again["create"], again["change"], again["cancel"]) == ([], [], [])
    assert again["unchanged"] == len(first["create"])

    status = run_json(capsys, "status", "-w", str(sample))
    assert sum(c["count"] for c in status["counts"]) == len(first["create"])
    assert {c["state"] for c in status["counts"]} == {"planned"}
    assert len(status["next_due"]) == 10
    dues = [d["due_at"] for d in status["next_due"]]
    assert dues == sorted(dues)


def test_removing_occurrences_shows_cancels(sample: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "-w", str(sample)]) == 0
    schedules = sample / "schedules.yaml"
    text = schedules.read_text(encoding="utf-8")
    assert "count: 8" in text  # the weekly module post of the sample
    schedules.write_text(text.replace("count: 8", "count: 6", 1), encoding="utf-8")
    plan = run_json(capsys, "plan", "-w", str(sample))
    assert plan["cancel"] and {c["occurrence"] for c in plan["cancel"]} == {7, 8}
    capsys.readouterr()
    assert main(["plan", "-w", str(sample)]) == 0
    out = capsys.readouterr().out
    assert f"{len(plan['cancel'])} to cancel" in out and "Plan" in out


def test_unreachable_database_is_one_clear_error(sample: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "-w", str(sample), "--database-url",
                 "postgresql+psycopg://cm@127.0.0.1:1/cm?connect_timeout=2"])
    err = " ".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert code == 1
    assert "is PostgreSQL running" in err and "Traceback" not in err
