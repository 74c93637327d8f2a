"""A template's front matter with several mistakes: ``cm check`` and ``cm preview`` list every
one of them, with its line, and ``cm check`` goes on to the rest of the workspace (its plan
table and summary), as a new user typing options would need."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main

WRONG_OPTIONS = (
    "---\n"
    'titel: "Bienvenue"\n'
    "thread: maybe\n"
    "media: 3\n"
    "---\n"
    "Hello {{ project }}\n"
)
EXPECTED = [
    "templates/hello.j2:2: unknown option 'titel'",
    "templates/hello.j2:3: 'thread' must be true or false",
    "templates/hello.j2:4: 'media' must be a path or a list of paths",
]


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "250")
    folder = tmp_path / "ws"
    assert main(["init", str(folder)]) == 0
    (folder / "templates" / "hello.j2").write_text(WRONG_OPTIONS, encoding="utf-8")
    # another template's option that Jinja cannot parse: reported too, not a crash
    (folder / "templates" / "tip.j2").write_text('---\ntitle: "{{ oops"\n---\nTip\n',
                                                 encoding="utf-8")
    capsys.readouterr()
    return folder


def test_check_lists_every_front_matter_problem_and_the_rest(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "-w", str(root)])
    out, err = capsys.readouterr()
    assert code == 1 and err == "", err
    for expected in EXPECTED:
        assert any(line.startswith(expected) for line in out.splitlines()), (expected, out)
    assert "did you mean 'title'?" in out
    assert any(line.startswith("templates/tip.j2:2: unexpected end of template")
               for line in out.splitlines()), out
    assert "Plan: " in out  # the plan check went on
    assert out.strip().splitlines()[-1].endswith("— 4 errors, 0 warnings"), out


def test_preview_lists_every_front_matter_problem(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["preview", "hello", "--channel", "x", "-w", str(root)])
    out, _ = capsys.readouterr()
    assert code == 1
    for expected in EXPECTED:
        assert f"error {expected}" in out, (expected, out)
