"""``cm demo`` on a copy of the sample workspace: the main job, end to end.

It replays the sample season through the real scheduler, adapters and sandbox, so this test is
also the "full run" whose whole output is scanned for the sandbox's secrets.

The replay runs on a warp clock that races between due instants but waits at each alarm's
instant until the alarm has rung (``clock.py: GatedClock``), and stands still while the runner
starts: a CPU stall on a busy machine makes the replay slower, never carries a delivery past its
grace window. So every delivery is published (or handed to a person), whatever the load, and
the same seed gives the same result.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.sandbox.server import Sandbox
from tests.sample_workspace import copy_sample

REPO = Path(__file__).resolve().parents[1]


def _replay(root: Path) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = main(["demo", "--workspace", str(root), "--seconds", "20"])
    assert code == 0, buffer.getvalue()
    return buffer.getvalue()


def _sample_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = _sample_copy(tmp_path_factory)
    return root, _replay(root)


def _states(root: Path) -> dict[str, int]:
    with sqlite3.connect(root / ".cm" / "demo" / "cm.db") as db:
        return dict(db.execute("select state, count(*) from deliveries group by state").fetchall())


def _outcomes(root: Path) -> dict[tuple[str, str, int], tuple[str, str | None, str | None]]:
    """(post, channel, occurrence) -> (state, remote id, last error) of every delivery."""
    with sqlite3.connect(root / ".cm" / "demo" / "cm.db") as db:
        rows = db.execute("select post_key, channel_id, occurrence, state, remote_id, last_error "
                          "from deliveries").fetchall()
    return {(post, channel, n): (state, remote, error)
            for post, channel, n, state, remote, error in rows}


def _claims(root: Path) -> dict[str, int]:
    """delivery id -> how many times it was claimed (each claim is one request at most)."""
    with sqlite3.connect(root / ".cm" / "demo" / "cm.db") as db:
        return {str(i): n for i, n in db.execute(
            "select delivery_id, count(*) from events where kind = 'claimed' "
            "group by delivery_id").fetchall()}


def test_the_season_is_replayed_and_every_delivery_reaches_a_final_state(
    demo_run: tuple[Path, str],
) -> None:
    root, output = demo_run
    states = _states(root)
    # 131 deliveries in the sample season: none left waiting, none lost
    assert sum(states.values()) == 131
    assert set(states) == {"published", "awaiting_done"}, states
    with sqlite3.connect(root / ".cm" / "demo" / "cm.db") as db:
        rows = db.execute("select id, network, state, remote_id, last_error from deliveries"
                          ).fetchall()
    claims = _claims(root)
    for delivery_id, network, state, remote_id, error in rows:
        # claimed (once, unless a network asked to retry) and the network's id recorded
        assert claims.get(str(delivery_id), 0) >= 1 and remote_id, (delivery_id, state, error)
    # the LinkedIn group is a manual channel: its posts are tasks for a person
    manual = [state for _, network, state, _, _ in rows if network == "manual"]
    assert manual == ["awaiting_done"] * 15
    assert states.get("published", 0) > 0
    assert "Follower growth (multiples since" in output
    assert "Deliveries per network and state" in output


def _demo_multiples(output: str) -> dict[str, str]:
    """channel id -> the multiple the demo's summary prints (``x2.52``)."""
    return dict(re.findall(r"^\W*([a-z][\w-]*)\s*│.*?(x\d+\.\d+)\s*│\s*$", output, re.MULTILINE))


def test_the_summary_shows_growth_close_to_the_course_outcomes(demo_run: tuple[Path, str]) -> None:
    _, output = demo_run
    multiples = _demo_multiples(output)
    assert "multiples since 2027-02-22" in output  # the sample's growth.reference
    assert 2.2 <= float(multiples["x-mooc"][1:]) <= 2.9
    assert 2.0 <= float(multiples["linkedin-page"][1:]) <= 3.4


def test_one_multiple_per_channel_in_demo_report_and_dashboard(
    demo_run: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's summary, `cm growth report`, the HTML report and the dashboard's cards show
    the same multiple for each channel (GrowthRow.multiple: since the growth reference)."""
    from wsgiref.util import setup_testing_defaults

    from cm_toolkit.clock import SystemClock
    from cm_toolkit.growth.context import GrowthContext
    from cm_toolkit.ledger.engine import open_ledger
    from cm_toolkit.web.app import Dashboard
    from cm_toolkit.workspace.loader import load_workspace

    root, output = demo_run
    shown = _demo_multiples(output)
    assert {"x-mooc", "linkedin-page", "facebook-page", "youtube"} <= set(shown), output
    database = f"sqlite:///{root / '.cm' / 'demo' / 'cm.db'}"
    capsys.readouterr()
    assert main(["growth", "report", "-w", str(root), "--database-url", database,
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["channels"]
    reported = {row["channel"]: f"x{row['multiple']:.2f}" for row in rows
                if row["multiple"] is not None}
    assert reported == shown

    html = (root / ".cm" / "demo" / "activity.html").read_text()
    for figure in shown.values():  # the sample is French: x2,52 in the report
        assert figure.replace(".", ",") in html

    ledger = open_ledger(database, root)
    try:
        workspace, _ = load_workspace(root)
        app = Dashboard(ledger, GrowthContext.from_workspace(workspace, ledger), SystemClock())
        environ: dict[str, object] = {}
        setup_testing_defaults(environ)
        page = b"".join(app(environ, lambda status, headers: None)).decode()
    finally:
        ledger.close()
    cards = dict(re.findall(r'data-channel="([^"]+)".*?class="multiple" data-value="([^"]*)"',
                            page, re.DOTALL))
    assert {cid: f"x{float(v):.2f}" for cid, v in cards.items() if v} == shown


def test_announcements_carry_the_live_session_link(demo_run: tuple[Path, str]) -> None:
    root, _ = demo_run
    with sqlite3.connect(root / ".cm" / "demo" / "cm.db") as db:
        texts = [
            text
            for (text,) in db.execute(
                "select rendered_text from deliveries where post_key like '%/announce/%' "
                "and network != 'manual' and state = 'published'"
            )
        ]
        links = [url for (url,) in db.execute("select remote_url from live_session_hosts")]
        [(created,)] = db.execute("select count(*) from deliveries where post_key like '%/live' "
                                  "and network = 'youtube' and state = 'published'").fetchall()
    assert texts
    youtube = [url for url in links if "youtube.com/watch" in url]
    assert created >= 1 and len(youtube) == created  # one broadcast per session created
    assert all(any(link in text for link in youtube) for text in texts), texts[:3]


def test_no_secret_of_the_sandbox_appears_in_any_output(demo_run: tuple[Path, str]) -> None:
    root, output = demo_run
    secrets = [value for value in Sandbox(seed=0).env().values() if len(value) >= 8]
    assert secrets
    with sqlite3.connect(root / ".cm" / "demo" / "cm.db") as db:
        ledger_text = "\n".join(
            str(row)
            for table in ("deliveries", "events", "live_session_hosts")
            for row in db.execute(f"select * from {table}")
        )
    log = (root / ".cm" / "demo" / "cm.log").read_text()
    for secret in secrets:
        assert secret not in output
        assert secret not in log
        assert secret not in ledger_text


def _summary(output: str) -> list[str]:
    """The summary tables' rows (deliveries per state, followers per channel)."""
    return [line for line in output.splitlines() if line.startswith("│")]


def test_same_seed_same_result(
    demo_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    first_root, first = demo_run
    second_root = _sample_copy(tmp_path_factory)
    second = _replay(second_root)
    assert len(_summary(first)) >= 10  # six networks' states and four channels' growth
    before, after = _outcomes(first_root), _outcomes(second_root)
    assert before.keys() == after.keys()
    assert {key: before[key][0] for key in before} == {key: after[key][0] for key in after}
    assert _summary(first) == _summary(second)  # the same seed: the same result
