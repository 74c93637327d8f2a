"""The growth commands as a person runs them, on a copy of the sample workspace."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.request import ProxyHandler, build_opener

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger import open_ledger
from cm_toolkit.ledger.states import DeliveryState

from .conftest import add_published, add_snapshots

REPO = Path(__file__).resolve().parents[2]
CM = "import sys; from cm_toolkit.cli import main; sys.exit(main(sys.argv[1:]))"


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
    target = filled / ".cm" / "reports" / "activity.html"  # cm's folder, not the user's files
    assert code == 0 and str(target) in out.replace(" ", "")
    assert not (filled / "reports").exists()
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


def test_activity_csv_has_one_column_per_figure_with_units_and_the_text(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "activity", "-w", str(filled), "--format", "csv",
                       "--output", "-")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    [growth] = [r for r in rows if r["record"] == "growth"]
    assert growth["detail"] == "" and "=" not in "".join(growth.values())
    assert (growth["followers_start"], growth["followers_end"], growth["net_adds_followers"],
            growth["followers_at_reference"], growth["net_adds_7d_followers"],
            growth["net_adds_30d_followers"]) == ("3000", "4180", "1180", "3400", "140", "600")
    assert float(growth["multiple_since_reference"]) == round(4180 / 3400, 6)
    assert float(growth["growth_percent"]) == round(100 * 1180 / 3000, 4)
    assert growth["followers_end_at"].startswith("2027-04-01T07:00:00+02:00")
    teaser = next(r for r in rows if r["post"] == "teaser")
    assert teaser["text"] == "<script>alert(1)</script> bonjour"
    assert teaser["engagement_rate_percent"] != ""


def _break_schedules(root: Path) -> None:
    """A typo in schedules.yaml: the workspace is refused, the rest of the file is readable."""
    schedules = root / "schedules.yaml"
    schedules.write_text(schedules.read_text(encoding="utf-8").replace(
        "timezone: Europe/Paris", "timezone: Europe/Paris\nunknown_key: 1"), encoding="utf-8")


def test_reports_read_the_ledger_when_the_workspace_has_errors(
    filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _break_schedules(filled)
    assert main(["check", "-w", str(filled)]) != 0
    capsys.readouterr()
    code, out, err = run(capsys, "growth", "report", "-w", str(filled), "--format", "json")
    assert code == 0 and "unknown_key" in err and "reads the ledger alone" in err
    [row] = json.loads(out)["channels"]
    # the zone, the reference and the channel's name still come from the files
    assert row["end_at"] == "2027-04-01T07:00:00+02:00" and row["reference"] == 3400
    assert row["name"] == "@ManagerLeader20 (X)"
    code, out, err = run(capsys, "report", "activity", "-w", str(filled), "--output",
                         str(tmp_path / "a.html"))
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert code == 0 and "reads the ledger alone" in err
    assert "Rapport d'activité" in html or "Rapport d&#39;activité" in html
    history = tmp_path / "h.csv"
    history.write_text("date,channel,followers\n2026-01-01,x-mooc,10\n")
    code, out, err = run(capsys, "growth", "import", str(history), "-w", str(filled))
    assert code == 0 and "1 snapshot(s) added" in out and "reads the ledger alone" in err
    code, _, err = run(capsys, "dashboard", "-w", str(filled), "--allow-replies", "--token",
                       "a-long-enough-secret-token-42")
    assert code == 2 and "--allow-replies needs a workspace without errors" in err


def test_dashboard_serves_the_ledger_when_the_workspace_has_errors(filled: Path) -> None:
    _break_schedules(filled)
    process = subprocess.Popen(
        [sys.executable, "-c", CM, "dashboard", "-w", str(filled), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Dashboard on http://127.0.0.1:"), first
        url = first.split(" on ")[1].split()[0]
        with build_opener(ProxyHandler({})).open(url, timeout=10) as answer:
            page = answer.read().decode()
        assert answer.status == 200 and 'data-channel="x-mooc"' in page
        assert "Croissance des abonnés" in page  # defaults.language still read: French
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0 and "reads the ledger alone" in " ".join(err.split())


def test_an_unreadable_schedules_file_leaves_utc_and_channel_ids(
    filled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schedules = filled / "schedules.yaml"
    schedules.write_text("timezone: [Europe/Paris\n", encoding="utf-8")  # a YAML syntax error
    code, out, err = run(capsys, "growth", "report", "-w", str(filled), "--format", "json")
    assert code == 0 and "schedules.yaml:" in err and "reads the ledger alone" in err
    [row] = json.loads(out)["channels"]
    assert row["end_at"] == "2027-04-01T05:00:00+00:00"  # UTC: the zone is unreadable
    assert row["name"] == "@ManagerLeader20 (X)"  # the channel file is fine
