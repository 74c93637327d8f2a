"""A value of the wrong form (a Mastodon instance given as a URL, a Bluesky handle with "@")
is one line with an example, never the field's regular expression (issue 15 recheck)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cm_toolkit.cli import main

SAMPLE = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("channel", "written", "wrong", "example"), [
    ("mastodon-mooc", "instance: social.univ-campus.fr", 'instance: "https://bad host"',
     "for example `instance: mastodon.social`"),
    ("bluesky-mooc", "handle: mooc-leader20.bsky.social", 'handle: "@not a handle"',
     "for example `handle: name.bsky.social`"),
])
def test_a_value_of_the_wrong_form_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    channel: str, written: str, wrong: str, example: str,
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(SAMPLE / "schedules.yaml", root)
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(SAMPLE / folder, root / folder)
    path = root / "channels" / f"{channel}.yaml"
    assert written in path.read_text("utf-8")
    path.write_text(path.read_text("utf-8").replace(written, wrong), encoding="utf-8")
    assert main(["check", "--workspace", str(root)]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith(f"channels/{channel}.yaml")]
    assert len(lines) == 1, lines
    assert "not of the form this field takes" in lines[0] and example in lines[0]
    assert "pattern" not in lines[0] and "^" not in lines[0]
