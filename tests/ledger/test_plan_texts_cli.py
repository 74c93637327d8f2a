"""``cm plan`` after a template edit: which deliveries' texts change (the fingerprint does not
cover template files, so no row changes and the plan used to say "0 to change")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cm_toolkit.cli import main


@pytest.fixture
def starter(tmp_path: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """``cm init``'s workspace applied: "hello" once and "weekly-tip" 4 times, on x, facebook
    and linkedin."""
    monkeypatch.setenv("COLUMNS", "200")
    folder = tmp_path / "ws"
    assert main(["init", str(folder)]) == 0
    assert main(["apply", "-w", str(folder)]) == 0
    capsys.readouterr()
    return folder


def _plan(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, object]]:
    assert main(["plan", "-w", str(root)]) == 0
    text = capsys.readouterr().out
    assert main(["plan", "-w", str(root), "--json"]) == 0
    return text, json.loads(capsys.readouterr().out)


def test_a_template_edit_shows_the_texts_it_changes_until_applied(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, data = _plan(starter, capsys)
    assert data["texts_changed"] == [] and "new text" not in out

    tip = starter / "templates" / "tip.j2"
    tip.write_text(tip.read_text(encoding="utf-8").replace("Tip", "Weekly tip"),
                   encoding="utf-8")
    out, data = _plan(starter, capsys)
    changed = data["texts_changed"]
    assert isinstance(changed, list)
    assert sorted((c["post_key"], c["channel"], c["occurrence"]) for c in changed) == sorted(
        ("weekly-tip", channel, n) for channel in ("x", "facebook", "linkedin")
        for n in (1, 2, 3, 4))
    assert data["change"] == [] and data["create"] == []  # no row changes: the text does
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("0 to create, 0 to change, 0 to cancel, 15 unchanged; 12 with a "
                              "new text since the last cm apply"), summary
    assert any(line.startswith("~ weekly-tip on x #1: new text, due ") for line in
               out.splitlines()), out

    assert main(["apply", "-w", str(starter)]) == 0  # records the texts of now
    capsys.readouterr()
    out, data = _plan(starter, capsys)
    assert data["texts_changed"] == [] and "new text" not in out


def test_a_variant_for_one_network_changes_only_its_texts(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (starter / "templates" / "hello.x.j2").write_text("Hello from X! {{ link }}\n",
                                                     encoding="utf-8")
    _out, data = _plan(starter, capsys)
    changed = data["texts_changed"]
    assert isinstance(changed, list)
    assert [(c["post_key"], c["channel"]) for c in changed] == [("hello", "x")]
