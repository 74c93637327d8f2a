"""The "has passed — it will not be published" warning against the ledger, through ``cm``.

A delivery sent by ``cm publish --now`` (as ``cm run`` would have sent it) is no news once its time
is past: ``cm check``, ``cm plan`` and ``cm apply`` read the ledger (read-only) and warn only about
what was not published. Without a ledger they warn as before, and create none.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.sandbox.server import Sandbox
from tests.scheduler.workspace import live_session, post, write_schedules, write_workspace

PASSED = "which has passed — it will not be published"


@dataclass
class Cli:
    root: Path
    database: Path
    sandbox: Sandbox
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *args: str, sandbox: bool = False, named: bool = True) -> tuple[int, str]:
        """Exit code, and stdout and stderr together (check warns on stdout, plan on stderr).
        ``named``: pass --database-url (else the default, WORKSPACE/.cm/cm.db)."""
        self.capsys.readouterr()
        argv = [*args, "--workspace", str(self.root)]
        if named:
            argv += ["--database-url", f"sqlite:///{self.database}"]
        if sandbox:
            argv += ["--sandbox", self.sandbox.base_url]
        code = main(argv)
        out, err = self.capsys.readouterr()
        return code, out + err


def _passed(output: str) -> dict[str, str]:
    """{label: line} of the "has passed" warnings."""
    found = {}
    for line in output.splitlines():
        if PASSED in line or "which has passed" in line:
            label = line.split("warning: ", 1)[1].split(" is due ", 1)[0]
            found[label] = line
    return found


@pytest.fixture
def cm(tmp_path: Path, capsys: pytest.CaptureFixture[str],
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    monkeypatch.setenv("COLUMNS", "200")
    with Sandbox(seed=5).running(port=0) as sandbox:
        yield Cli(tmp_path / "ws", tmp_path / "cm.db", sandbox, capsys)


def test_published_deliveries_are_not_warned_about_once_their_time_passed(
    cm: Cli, tmp_path: Path
) -> None:
    soon = datetime.now(UTC) + timedelta(days=2)
    session_start = soon + timedelta(days=1)
    posts = [post("news", soon, ["x-mooc", "facebook-page"]),
             post("half", soon, ["x-mooc", "facebook-page"]),
             post("late", soon, ["x-mooc"])]
    sessions = [live_session("qa", session_start, create_before=timedelta(days=2))]
    write_workspace(cm.root, posts, sessions=sessions)
    assert cm("apply")[0] == 0
    # what cm run would have done at their times: "news" everywhere, "half" on X only, the live
    # session's broadcast and announcement; "late" never went out
    assert cm("publish", "news", "--now", sandbox=True)[0] == 0
    assert cm("publish", "half", "--now", "--channel", "x-mooc", sandbox=True)[0] == 0
    code, out = cm("publish", "qa", "--now", sandbox=True)
    assert code == 0, out

    # days later: the same schedule, its times now in the past
    long_ago = datetime.now(UTC) - timedelta(days=3)
    write_schedules(cm.root, [post("news", long_ago, ["x-mooc", "facebook-page"]),
                              post("half", long_ago, ["x-mooc", "facebook-page"]),
                              post("late", long_ago, ["x-mooc"])],
                    sessions=[live_session("qa", long_ago + timedelta(hours=2),
                                           create_before=timedelta(hours=1))])
    for command in ("check", "plan", "apply"):
        code, out = cm(command)
        assert code == 0, out
        warned = _passed(out)
        assert set(warned) == {'post "half"', 'post "late"'}, (command, out)
        assert "(1 of its 2 deliveries were published) — the others will not be" in warned[
            'post "half"'], out
        assert PASSED in warned['post "late"']


def test_without_a_ledger_the_warning_stays_and_none_is_created(cm: Cli) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    write_workspace(cm.root, [post("news", long_ago, ["x-mooc"])],
                    sessions=[live_session("qa", long_ago, create_before=timedelta(hours=1))])
    for command in ("check", "plan"):
        code, out = cm(command, named=False)
        assert code == 0, out
        assert set(_passed(out)) == {'post "news"', 'live session "qa"'}, out
    assert not (cm.root / ".cm" / "cm.db").exists()
