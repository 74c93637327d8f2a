"""``cm sessions`` without a ledger says why every state is "not applied", and where the last
``cm demo``'s season is (the step a new user looks for after ``make demo``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger import open_ledger

REPO = Path(__file__).resolve().parents[2]


def sessions(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    capsys.readouterr()
    assert main(["sessions", "-w", str(root), *args]) == 0
    return " ".join(capsys.readouterr().out.split())  # Rich wraps long lines


def test_the_note_names_the_demo_ledger_only_when_there_is_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "schedules.yaml", root)
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    out = sessions(capsys, root)
    assert "not applied" in out and "No ledger yet (.cm/cm.db)" in out
    assert "--database-url" not in out  # no demo ran here: nothing to point at

    demo = root / ".cm" / "demo" / "cm.db"
    open_ledger(f"sqlite:///{demo}", root).close()
    out = sessions(capsys, root)
    assert out.replace(" ", "").endswith(f"add--database-urlsqlite:///{demo}")  # however Rich wraps
    assert "No ledger yet" not in sessions(capsys, root, "--json")  # JSON stays JSON

    # with a ledger (named, or the workspace's own) the states are its own: no note
    assert "No ledger yet" not in sessions(capsys, root, "--database-url", f"sqlite:///{demo}")
    open_ledger(None, root).close()
    assert "No ledger yet" not in sessions(capsys, root)
