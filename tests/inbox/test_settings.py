"""The ``inbox:`` section of schedules.yaml: defaults, mistakes at file:line, and what ``cm check``
says the configured polling costs (``templates/quotas.inbox_polling``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cm_toolkit.templates.quotas import inbox_polling
from cm_toolkit.workspace.loader import load_workspace
from tests.scheduler.workspace import live_session, write_workspace
from tests.workspace.conftest import (
    errors,
    the_problem,
    workspace,  # noqa: F401 (fixture)
)

REPO = Path(__file__).resolve().parents[2]


def with_inbox(root: Path, text: str) -> Path:
    path = root / "schedules.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "inbox:\n" + text, encoding="utf-8")
    return root


def test_defaults_and_the_sample_workspace() -> None:
    sample, _ = load_workspace(REPO)
    settings = sample.schedules.inbox
    assert settings.sync["facebook"] == timedelta(minutes=10)
    assert settings.retention == timedelta(days=180) and settings.auto_answers
    assert settings.x_read_budget_usd == 10


def test_mistakes_are_shown_at_their_line(workspace: Path) -> None:  # noqa: F811
    with_inbox(workspace, "  sync: {facebok: 10m}\n  retension: 3d\n")
    found = errors(workspace)
    typo = the_problem(found, "'facebok' is not a network")
    assert "did you mean `facebook`" in typo.message and typo.line is not None
    assert "did you mean `retention`" in the_problem(found, "retension").fix


def test_a_negative_budget_is_refused(workspace: Path) -> None:  # noqa: F811
    with_inbox(workspace, "  x_read_budget_usd: -1\n")
    the_problem(errors(workspace), "x_read_budget_usd")


def test_check_prices_x_polling_and_youtube_units(tmp_path: Path) -> None:
    start = datetime(2027, 3, 1, 18, tzinfo=UTC)
    root = write_workspace(tmp_path / "ws", sessions=[live_session("live-1", start)])
    with_inbox(root, "  sync: {x: 30m, youtube: 1h}\n  live_chat: 20s\n"
                     "  x_read_budget_usd: 25\n")
    loaded, _ = load_workspace(root)
    polling = inbox_polling(loaded)
    by_source = {(s["channel"], s["source"]): s for s in polling["sources"]}
    mentions = by_source[("x-mooc", "mentions")]
    assert mentions["calls_per_month"] == 30 * 48  # every 30 minutes for 30 days
    assert mentions["price_per_read_usd"] == 0.001  # owned reads
    assert by_source[("x-mooc", "replies")]["price_per_read_usd"] == 0.005
    assert by_source[("x-mooc", "replies")]["most_usd_per_month"] == 1440 * 100 * 0.005
    assert polling["x_reads_usd_per_month"] == 25  # the budget caps it
    assert polling["youtube_units_per_day"] == 24  # commentThreads.list, 1 unit an hour
    assert by_source[("youtube", "live_chat")]["calls_per_live_session"] == 180  # 1 h / 20 s
    assert polling["youtube_live_chat_units"] == 180 * 5


def test_cm_check_says_what_polling_costs(capsys: pytest.CaptureFixture[str]) -> None:
    from cm_toolkit.cli import main

    assert main(["check", "--workspace", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "Inbox polling: X reads at most $10.00 a month" in " ".join(out.split())
