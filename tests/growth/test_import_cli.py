"""``cm growth import`` with a wrong CSV, as a user meets it: every bad line, then a summary that
names the CSV (not "problems in the workspace", which has none) and says nothing was imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main


def test_import_errors_name_the_file_not_the_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    assert main(["init", str(root)]) == 0  # channels x, facebook, linkedin
    history = tmp_path / "history.csv"
    history.write_text("date,channel,followers\n"
                       "2026-09-01,x,1200\n"
                       "2026-09-02,twiter,1210\n"
                       "yesterday,x,1220\n", encoding="utf-8")
    capsys.readouterr()
    code = main(["growth", "import", str(history), "-w", str(root)])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"{history}:3:2: no channel 'twiter' in this workspace"), err
    assert lines[1].startswith(f"{history}:4:1: 'yesterday'"), err
    assert lines[-1] == f"2 problems in {history}: nothing was imported", err
    assert "workspace" not in lines[-1]

    history.write_text("", encoding="utf-8")
    assert main(["growth", "import", str(history), "-w", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"1 problem in {history}: nothing was imported", err
