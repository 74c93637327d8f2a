"""The fixes of ``cm check`` name this workspace's own templates and channels: a workspace made
by ``cm init`` (templates hello and tip; channels x, facebook, linkedin) is never told to write
``template: teaser`` or ``channels: [x-mooc, facebook-page]``, which it does not have."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    folder = tmp_path / "ws"
    assert main(["init", str(folder)]) == 0
    capsys.readouterr()
    return folder


def _check_after(root: Path, capsys: pytest.CaptureFixture[str], old: str, new: str) -> str:
    path = root / "schedules.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    assert main(["check", "-w", str(root)]) == 1
    out = capsys.readouterr().out
    assert "teaser" not in out and "x-mooc" not in out, out
    return out


def test_a_missing_template_is_told_one_of_its_own(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _check_after(root, capsys, "        template: hello\n", "")
    assert 'post "hello" has no `template:` — add `template: hello`' in out, out


def test_a_template_of_the_wrong_shape_gets_an_example_of_its_own(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _check_after(root, capsys, "template: tip", "template: [tip]")
    assert "`template` must be text (got a list) — for example `template: hello`" in out, out


def test_missing_channels_are_told_its_own_channel_ids(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _check_after(root, capsys, "        channels: [x, facebook, linkedin]\n", "")
    assert "has no `channels:` — add `channels: [facebook, linkedin]`" in out, out
