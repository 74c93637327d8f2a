"""``cm check`` warns when a plan sends the same text twice on one account of a network that
refuses duplicates (X, Facebook, LinkedIn), once per repeated text, at the post's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "300")
    folder = tmp_path / "ws"
    # channels x, facebook, linkedin, manual; posts "hello" (once) and "weekly-tip" (4 times)
    assert main(["init", str(folder), "--networks", "x,facebook,linkedin,manual"]) == 0
    capsys.readouterr()
    return folder


def _warnings(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["check", "-w", str(root)]) == 0  # warnings only
    return [line for line in capsys.readouterr().out.splitlines() if "the same text" in line]


def test_the_starter_sends_no_text_twice(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _warnings(root, capsys) == []


def test_a_recurring_post_with_a_fixed_text_is_warned_about_per_account(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "templates" / "tip.j2").write_text("Tip of the week: ask one question a day.\n",
                                                encoding="utf-8")
    schedules = (root / "schedules.yaml").read_text(encoding="utf-8")
    tip_line = schedules.splitlines().index("      - id: weekly-tip") + 1
    warned = _warnings(root, capsys)
    refusers = {"x": "X", "facebook": "Facebook Page", "linkedin": "LinkedIn Page"}
    assert len(warned) == 3, warned  # not on the manual channel: a person posts it
    for channel, network in refusers.items():
        [line] = [w for w in warned if f" times on {channel} (" in w]
        assert line.startswith(f"schedules.yaml:{tip_line}: warning: post 'weekly-tip' sends "
                               f"the same text 4 times on {channel} ("), line
        assert f"): {network} refuses a post that repeats an earlier one — make each text " \
               "differ: a number or a date in it ({{ post.occurrence }}" in line, line


def test_two_posts_with_one_text_are_warned_about(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "templates" / "news.j2").write_text("Registrations are open!\n", encoding="utf-8")
    path = root / "schedules.yaml"
    text = path.read_text(encoding="utf-8")
    [hello_at] = [line.split("at: ", 1)[1] for line in text.splitlines()
                  if line.startswith("        at: ")]
    # two posts with one fixed text on X (no link: nothing makes them differ)
    posts = "".join(f"      - id: {name}\n        template: news\n        at: {hello_at}\n"
                    f"        channels: [x]\n" for name in ("news", "news-again"))
    path.write_text(text.replace("      - id: weekly-tip\n", posts + "      - id: weekly-tip\n"),
                    encoding="utf-8")
    [line] = _warnings(root, capsys)
    assert "posts 'news', 'news-again' send the same text on x (2 deliveries, " in line, line
    assert ": X refuses a post that repeats an earlier one" in line
