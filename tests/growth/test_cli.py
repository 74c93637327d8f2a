"""The growth commands as a person runs them, on a copy of the sample workspace."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger import open_ledger
from cm_toolkit.ledger.states import DeliveryState

from .conftest import add_published, add_snapshots

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "schedules.yaml", root)
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    return root


@pytest.fixture
def filled(workspace: Path) -> Path:
    ledger = open_ledger(None, workspace)
    start = datetime(2027, 2, 1, 5, 0, tzinfo=UTC)
    add_snapshots(ledger, "x-mooc", "x",
                  [(start + timedelta(days=d), 3000 + 20 * d) for d in range(60)])
    add_published(ledger, "teaser", "x-mooc", "x", start + timedelta(days=3), (10, 2, 3),
                  text="<script>alert(1)</script> bonjour")
    add_published(ledger, "broken", "x-mooc", "x", start + timedelta(days=4), None,
                  state=DeliveryState.FAILED, error="X refused <b>it</b>")
    ledger.close()
    return workspace


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    if "--format" in args or "--output" in args:
        return code, out, err
    return code, " ".join(out.split()), " ".join(err.split())  # Rich wraps long lines


def test_growth_report_json_and_csv(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "growth", "report", "-w", str(filled), "--format", "json")
    assert code == 0
    [row] = json.loads(out)["channels"]
    # growth.reference of the sample workspace: 2027-02-22 00:00 Paris -> snapshot of the 21st
    assert (row["channel"], row["start"], row["end"], row["reference"]) == (
        "x-mooc", 3000, 3000 + 20 * 59, 3000 + 20 * 20)
    assert row["net_7d"] == 140 and row["net_30d"] == 600
    assert row["multiple"] == round((3000 + 20 * 59) / (3000 + 20 * 20), 6)
    code, out, _ = run(capsys, "growth", "report", "-w", str(filled), "--format", "csv",
                       "--since", "2027-03-01", "--reference", "2027-02-01")
    [line] = list(csv.DictReader(io.StringIO(out)))
    assert (line["start"], line["reference"]) == (str(3000 + 20 * 27), "3000")
    code, out, _ = run(capsys, "growth", "report", "-w", str(filled))
    assert code == 0 and "x1.23" in out and "+140" in out and "+600" in out


def test_bad_dates_are_usage_errors(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "growth", "report", "-w", str(filled), "--since", "soon")
    assert code == 2 and "--since 'soon'" in err


def test_import_command(workspace: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "h.csv"
    history.write_text("date,channel,followers\n2026-01-01,x-mooc,10\n2026-01-02,nope,11\n")
    code, _, err = run(capsys, "growth", "import", str(history), "-w", str(workspace))
    assert code == 1 and "h.csv:3:2: no channel 'nope'" in err
    history.write_text("date,channel,followers\n2026-01-01,x-mooc,10\n")
    code, out, _ = run(capsys, "growth", "import", str(history), "-w", str(workspace))
    assert code == 0 and "1 snapshot(s) added" in out


def test_activity_csv(filled: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "report", "activity", "-w", str(filled), "--format", "csv",
                       "--output", "-")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    deliveries = [r for r in rows if r["record"] == "delivery"]
    assert [(r["post"], r["state"], r["reactions"], r["detail"]) for r in deliveries] == [
        ("teaser", "published", "10", ""), ("broken", "failed", "", "X refused <b>it</b>")]
    assert [r["channel"] for r in rows if r["record"] == "growth"] == ["x-mooc"]


def test_activity_html_is_self_contained_and_escaped(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "activity", "-w", str(filled), "--since", "2027-02-01",
                       "--until", "2027-02-28")
    target = filled / "reports" / "activity.html"
    assert code == 0 and str(target) in out.replace(" ", "")
    html = target.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js is inlined
    assert '<script src="http' not in html and "cdn." not in html.split("<script>")[0]
    assert "X refused &lt;b&gt;it&lt;/b&gt;" in html
    assert "<b>it</b>" not in html


def test_dashboard_refuses_an_open_address_without_token(
    filled: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CM_DASHBOARD_TOKEN", raising=False)
    code, _, err = run(capsys, "dashboard", "-w", str(filled), "--host", "0.0.0.0")
    assert code == 2 and "without an access token" in err and "--token" in err
    code, _, err = run(capsys, "dashboard", "-w", str(filled), "--host", "0.0.0.0",
                       "--token", "short")
    assert code == 2 and "too short" in err


def test_snapshot_against_a_running_sandbox(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import select

    from cm_toolkit.ledger.models import FollowerSnapshot
    from cm_toolkit.sandbox.server import Sandbox

    with Sandbox(seed=7).running() as sandbox:
        code, out, _ = run(capsys, "growth", "snapshot", "-w", str(workspace),
                           "--sandbox", sandbox.base_url)
    assert code == 0, out
    ledger = open_ledger(None, workspace)
    with ledger.reading() as session:
        stored = dict(session.execute(select(FollowerSnapshot.channel_id,
                                             FollowerSnapshot.followers)).all())
    ledger.close()
    assert {"x-mooc", "facebook-page", "linkedin-page"} <= set(stored)
    assert all(channel in out and f"{followers:,}" in out for channel, followers in stored.items())
