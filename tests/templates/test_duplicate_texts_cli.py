"""``cm check`` warns when a plan sends the same text twice on one account of a network that
refuses duplicates (X, Facebook, LinkedIn), once per repeated text, at the post's line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.templates.conftest import check_warnings

ABOUT = "the same text"


def test_the_starter_sends_no_text_twice(starter: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_warnings(starter, capsys, ABOUT) == []


def test_a_recurring_post_with_a_fixed_text_is_warned_about_per_account(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (starter / "templates" / "tip.j2").write_text("Tip of the week: ask one question a day.\n",
                                                encoding="utf-8")
    schedules = (starter / "schedules.yaml").read_text(encoding="utf-8")
    tip_line = schedules.splitlines().index("      - id: weekly-tip") + 1
    warned = check_warnings(starter, capsys, ABOUT)
    refusers = {"x": "X", "facebook": "Facebook Page", "linkedin": "LinkedIn Page"}
    assert len(warned) == 3, warned  # not on the manual channel: a person posts it
    for channel, network in refusers.items():
        [line] = [w for w in warned if f" times on {channel} (" in w]
        assert line.startswith(f"schedules.yaml:{tip_line}: warning: post 'weekly-tip' sends "
                               f"the same text 4 times on {channel} ("), line
        assert f"): {network} refuses a post that repeats an earlier one — make each text " \
               "differ: a number or a date in it ({{ post.occurrence }}" in line, line


def test_two_posts_with_one_text_are_warned_about(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (starter / "templates" / "news.j2").write_text("Registrations are open!\n", encoding="utf-8")
    path = starter / "schedules.yaml"
    text = path.read_text(encoding="utf-8")
    [hello_at] = [line.split("at: ", 1)[1] for line in text.splitlines()
                  if line.startswith("        at: ")]
    # two posts with one fixed text on X (no link: nothing makes them differ)
    posts = "".join(f"      - id: {name}\n        template: news\n        at: {hello_at}\n"
                    f"        channels: [x]\n" for name in ("news", "news-again"))
    path.write_text(text.replace("      - id: weekly-tip\n", posts + "      - id: weekly-tip\n"),
                    encoding="utf-8")
    [line] = check_warnings(starter, capsys, ABOUT)
    assert "posts 'news', 'news-again' send the same text on x (2 deliveries, " in line, line
    assert ": X refuses a post that repeats an earlier one" in line
