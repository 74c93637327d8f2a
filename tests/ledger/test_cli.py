"""``cm plan`` / ``cm apply`` / ``cm status`` on a copy of the sample workspace (the repo root)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.cli import main

SAMPLE = Path(__file__).parents[2]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(SAMPLE / "schedules.yaml", root)
    for folder in ("channels", "templates", "assets"):
        if (SAMPLE / folder).is_dir():
            shutil.copytree(SAMPLE / folder, root / folder)
    return root


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_apply_status_round_trip(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, "plan", "-w", str(sample))
    assert first["create"] and not first["change"] and not first["cancel"]
    assert sum(row["create"] for row in first["summary"]) == len(first["create"])

    applied = run_json(capsys, "apply", "-w", str(sample))
    assert applied["applied"]["created"] == len(first["create"])

    again = run_json(capsys, "plan", "-w", str(sample))
    assert (again["create"], again["change"], again["cancel"]) == ([], [], [])
    assert again["unchanged"] == len(first["create"])

    status = run_json(capsys, "status", "-w", str(sample))
    assert sum(c["count"] for c in status["counts"]) == len(first["create"])
    assert {c["state"] for c in status["counts"]} == {"planned"}
    assert len(status["next_due"]) == 10
    dues = [d["due_at"] for d in status["next_due"]]
    assert dues == sorted(dues)


def test_removing_occurrences_shows_cancels(sample: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "-w", str(sample)]) == 0
    schedules = sample / "schedules.yaml"
    text = schedules.read_text(encoding="utf-8")
    assert "count: 8" in text  # the weekly module post of the sample
    schedules.write_text(text.replace("count: 8", "count: 6", 1), encoding="utf-8")
    plan = run_json(capsys, "plan", "-w", str(sample))
    assert plan["cancel"] and {c["occurrence"] for c in plan["cancel"]} == {7, 8}
    capsys.readouterr()
    assert main(["plan", "-w", str(sample)]) == 0
    out = capsys.readouterr().out
    assert f"{len(plan['cancel'])} to cancel" in out and "Plan" in out


def test_unreachable_database_is_one_clear_error(sample: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "-w", str(sample), "--database-url",
                 "postgresql+psycopg://cm@127.0.0.1:1/cm?connect_timeout=2"])
    err = " ".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert code == 1
    assert "is PostgreSQL running" in err and "Traceback" not in err


# What cm check refuses in a template, and cm plan / cm apply must refuse too: each case writes
# the template named (most often the X variant of the sample's teaser) with this content.
REFUSED_TEMPLATES: dict[str, tuple[str, bytes]] = {
    "syntax error": ("teaser.x.j2", b"Bonjour {% if %}\n"),
    "undefined variable": ("teaser.x.j2", b"Bonjour {{ nobody_defined_this }}\n"),
    "empty": ("cloture.x.j2", b""),
    "a filter failing on its value": ("teaser.x.j2", b'{{ course | truncate_words("many") }}\n'),
    "binary": ("teaser.x.j2", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00"),
    "not UTF-8": ("teaser.x.j2", "Déjà inscrit ?\n".encode("latin-1")),
    "unknown filter": ("teaser.x.j2", b"{{ course | no_such_filter }}\n"),
    "missing include": ("teaser.x.j2", b"{% include 'nowhere.j2' %}\n"),
    "text over the network's limit": ("teaser.linkedin.j2", b"x" * 3100 + b"\n"),
}


def _lines(text: str) -> str:
    return " ".join(text.split())  # Rich wraps long lines on the terminal


@pytest.mark.parametrize("case", sorted(REFUSED_TEMPLATES))
def test_plan_and_apply_refuse_what_check_refuses(
    sample: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    name, content = REFUSED_TEMPLATES[case]
    (sample / "templates" / name).write_bytes(content)
    capsys.readouterr()
    assert main(["check", "-w", str(sample)]) == 1
    refused = [line for line in capsys.readouterr().out.splitlines()
               if line.startswith(("templates/", "schedules.yaml:")) and ": warning:" not in line]
    assert refused, f"cm check does not refuse the {case} case any more"
    for command in ("plan", "apply"):
        assert main([command, "-w", str(sample)]) == 1, command
        err = _lines(capsys.readouterr().err)
        for line in refused:  # the same file:line messages
            assert _lines(line) in err, (command, line)
        assert "Traceback" not in err
    assert not (sample / ".cm" / "cm.db").exists()  # apply wrote nothing


def test_apply_refuses_after_a_template_breaks(sample: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A ledger already applied is left as it was when a template breaks afterwards."""
    applied = run_json(capsys, "apply", "-w", str(sample))
    (sample / "templates" / "teaser.x.j2").write_text("{{ oops ", encoding="utf-8")
    assert main(["apply", "-w", str(sample)]) == 1
    assert "templates/teaser.x.j2:1:" in capsys.readouterr().err
    (sample / "templates" / "teaser.x.j2").unlink()  # back to teaser.j2: the plan checks again
    again = run_json(capsys, "plan", "-w", str(sample))
    assert again["unchanged"] + len(again["change"]) == applied["applied"]["created"]
