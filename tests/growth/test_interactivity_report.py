"""``cm report activity``'s interactivity: HTML section in the workspace language, CSV columns
with units, ``--json``; on a copy of the sample workspace with an inbox filled through the
ledger's inbox API."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger import open_ledger

from .test_interactivity import Inbox

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "schedules.yaml", root)  # defaults.language: fr
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    ledger = open_ledger(None, root)
    inbox = Inbox(ledger)
    first = inbox.receive("facebook", "2027-03-01 10:00")
    inbox.answer(first, timedelta(minutes=30), "2027-03-01 10:00")
    inbox.receive("facebook", "2027-03-02 10:00", question=False)
    second = inbox.receive("x", "2027-03-03 10:00")
    inbox.auto_answer(second, timedelta(minutes=1), "2027-03-03 10:00")
    ledger.close()
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_csv_has_one_column_per_metric_with_units(workspace: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "report", "activity", "-w", str(workspace), "--format", "csv",
                    "--output", "-")
    assert code == 0
    reader = csv.DictReader(io.StringIO(out))
    assert reader.fieldnames is not None
    for column in ("received_messages", "question_messages", "answered_share_percent",
                   "median_first_answer_minutes", "p90_first_answer_minutes",
                   "open_over_24h_messages", "auto_answered_share_percent"):
        assert column in reader.fieldnames
    rows = {(r["record"], r["network"], r["week"]): r for r in reader
            if r["record"].startswith("interactivity")}
    week = rows[("interactivity", "facebook", "2027-03-01")]
    assert (week["received_messages"], week["question_messages"], week["answered_share_percent"],
            week["median_first_answer_minutes"], week["open_over_24h_messages"]) == (
        "2", "1", "50.0", "30.0", "1")
    total = rows[("interactivity_total", "x", "")]
    assert (total["received_messages"], total["auto_answered_share_percent"]) == ("1", "100.0")


def test_json(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "report", "activity", "-w", str(workspace), "--json")
    assert code == 0
    payload = json.loads(out)
    totals = {row["network"]: row for row in payload["interactivity"]["totals"]}
    assert totals["facebook"]["received"] == 2
    assert totals["facebook"]["median_first_answer_minutes"] == 30.0
    assert totals["x"]["auto_answered_share_percent"] == 100.0
    assert payload["zone"] == "Europe/Paris"
    assert not (workspace / "reports").exists()  # --json prints, writes nothing


def test_html_section_follows_the_workspace_language(workspace: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(capsys, "report", "activity", "-w", str(workspace))
    assert code == 0
    html = (workspace / "reports" / "activity.html").read_text(encoding="utf-8")
    section = html.split('<section id="interactivity">')[1].split("</section>")[0]
    assert "<h2>Interactivité</h2>" in section
    assert "30 min" in section and "50 %" in section and "toute la période" in section
    schedules = workspace / "schedules.yaml"
    schedules.write_text(schedules.read_text(encoding="utf-8").replace(
        "language: fr", "language: en"), encoding="utf-8")
    code, _ = run(capsys, "report", "activity", "-w", str(workspace))
    html = (workspace / "reports" / "activity.html").read_text(encoding="utf-8")
    assert code == 0 and "<h2>Interactivity</h2>" in html and "whole period" in html
