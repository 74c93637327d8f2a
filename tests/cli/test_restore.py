"""``cm restore POST``: the counterpart of ``cm cancel POST``, through ``cm`` on a real ledger.

It brings back what a person cancelled, at its planned instants, after listing and asking; it
leaves (and says why) what was cancelled because it left schedules.yaml and what would now be
sent late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cm_toolkit.cli import main
from cm_toolkit.ledger.engine import LedgerAccess, open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.states import DeliveryState
from tests.scheduler.workspace import post, write_schedules, write_workspace

S = DeliveryState


@dataclass
class Cli:
    root: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args, "--workspace", str(self.root)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def rows(self, post_key: str) -> list[Delivery]:
        ledger = open_ledger(None, self.root, LedgerAccess.READ)
        try:
            with ledger.reading() as session:
                return list(session.scalars(select(Delivery).where(
                    Delivery.post_key == post_key).order_by(Delivery.channel_id,
                                                            Delivery.occurrence)))
        finally:
            ledger.close()


@pytest.fixture
def cm(tmp_path: Path, capsys: pytest.CaptureFixture[str],
       monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "200")
    return Cli(tmp_path / "ws", capsys)


def test_restore_undoes_a_cancel_at_the_planned_instants(cm: Cli) -> None:
    soon = datetime.now(UTC) + timedelta(days=2)
    write_workspace(cm.root, [post("news", soon, ["x-mooc", "facebook-page"])])
    assert cm("apply")[0] == 0
    planned = {row.channel_id: row.due_at for row in cm.rows("news")}
    code, out, _ = cm("cancel", "news", "--yes")
    assert code == 0 and "2 deliveries of news cancelled (`cm restore news` undoes it)" in out

    code, out, _ = cm("restore", "news", "--channel", "x-mooc", "--yes")
    assert code == 0, out
    assert "1 delivery of news restored, each due at its planned instant" in out
    states = {row.channel_id: (row.state, row.held, row.due_at) for row in cm.rows("news")}
    assert states["x-mooc"] == (S.PLANNED, False, planned["x-mooc"])
    assert states["facebook-page"][:2] == (S.CANCELLED, True)
    assert cm("apply")[0] == 0  # the hold is lifted: apply keeps it planned, nothing changes
    assert [row.state for row in cm.rows("news")] == [S.CANCELLED, S.PLANNED]

    code, _, err = cm("restore", "news", "--channel", "x-mooc", "--yes")
    assert code == 2 and "'news' has no cancelled delivery to restore" in err


def test_restore_asks_first_and_no_answer_restores_nothing(cm: Cli) -> None:
    write_workspace(cm.root, [post("news", datetime.now(UTC) + timedelta(days=2), ["x-mooc"])])
    assert cm("apply")[0] == 0
    assert cm("cancel", "news", "--yes")[0] == 0
    code, out, _ = cm("restore", "news")  # no terminal to answer: a no
    assert code == 1
    assert "To restore" in out and "Nothing restored (--yes restores without asking)." in out
    assert [row.state for row in cm.rows("news")] == [S.CANCELLED]


def test_restore_leaves_what_it_should_not_bring_back_and_says_why(cm: Cli) -> None:
    now = datetime.now(UTC)
    # "old" was due three days ago (past its one-hour grace) and is cancelled; "gone" leaves
    # schedules.yaml, so apply cancels it
    write_workspace(cm.root, [post("old", now - timedelta(days=3), ["x-mooc"]),
                              post("gone", now + timedelta(days=2), ["x-mooc"])])
    assert cm("apply")[0] == 0
    assert cm("cancel", "old", "--yes")[0] == 0
    write_schedules(cm.root, [post("old", now - timedelta(days=3), ["x-mooc"])])
    assert cm("apply")[0] == 0
    [old] = cm.rows("old")
    [gone] = cm.rows("gone")
    assert (old.state, gone.state) == (S.CANCELLED, S.CANCELLED)

    code, _, err = cm("restore", "old", "--yes")
    assert code == 2
    assert f"left cancelled, their time has passed: {old.id} (cm retry N sends one now)" in err
    code, _, err = cm("restore", "gone", "--yes")
    assert code == 2
    assert f"no longer in schedules.yaml: {gone.id} (put the post back, then cm apply)" in err
    assert [r.state for r in cm.rows("old") + cm.rows("gone")] == [S.CANCELLED, S.CANCELLED]


def test_a_mistyped_post_gets_a_did_you_mean(cm: Cli) -> None:
    write_workspace(cm.root, [post("news", datetime.now(UTC) + timedelta(days=2), ["x-mooc"])])
    assert cm("apply")[0] == 0
    code, _, err = cm("restore", "nwes", "--yes")
    assert code == 2 and "did you mean `news`?" in err


def test_a_delivery_given_up_as_unknown_is_never_restored(
    cm: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cm resolve N --drop`` on an unknown outcome: it may be online, so restoring the post
    must not plan it again (it would be published twice)."""
    from cm_toolkit.sandbox.server import Sandbox

    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    write_workspace(cm.root, [post("maybe", datetime.now(UTC) + timedelta(days=2),
                                   ["facebook-page"])])
    with Sandbox(seed=3).running(port=0) as sandbox:
        sandbox.faults.add("facebook:drop-after-commit@once")
        code, _, _ = cm("publish", "maybe", "--now", "--sandbox", sandbox.base_url)
    [row] = cm.rows("maybe")
    assert code == 1 and row.state is S.UNKNOWN
    assert cm("resolve", str(row.id), "--drop")[0] == 0
    code, _, err = cm("restore", "maybe", "--yes")
    assert code == 2
    assert f"given up by cm resolve --drop: {row.id} (it may be online" in err
    assert [r.state for r in cm.rows("maybe")] == [S.CANCELLED]
