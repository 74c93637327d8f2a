"""``cm check`` on X's media rule: up to 4 images, or 1 GIF, or 1 video (API_FACTS.md).

A GIF is uploaded as ``tweet_gif`` and posted alone; a post that puts one beside other media, or
two GIFs, is refused by X: the plan check says so with the post's line and the fix, from the
adapter's own rule (``XChannel.plan_problems``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cm_toolkit.cli import main

from .conftest import REPO_ROOT

GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def _workspace(root: Path, media: str) -> Path:
    """The sample's channels and templates, with one X post carrying ``media``."""
    for folder in ("channels", "templates"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    (root / "assets").mkdir()
    (root / "assets" / "anime.gif").write_bytes(GIF)
    (root / "assets" / "autre.gif").write_bytes(GIF)
    shutil.copy(REPO_ROOT / "assets" / "visuel-leadership.png", root / "assets" / "visuel.png")
    (root / "templates" / "gif.j2").write_text("Le module 2 en une image.\n", encoding="utf-8")
    (root / "schedules.yaml").write_text(
        "version: 1\n"
        "timezone: Europe/Paris\n"
        "campaigns:\n"
        "  - id: essai\n"
        "    name: Essai\n"
        "    start: \"2027-03-01 00:00\"\n"
        "    posts:\n"
        "      - id: gif\n"
        "        template: gif\n"
        "        at: \"2027-03-01 09:00\"\n"
        "        channels: [x-mooc]\n"
        f"        media: {media}\n",
        encoding="utf-8",
    )
    return root


def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "-w", str(root)])
    return code, capsys.readouterr().out


def test_a_gif_beside_an_image_is_refused_at_the_post_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(_workspace(tmp_path, "[assets/anime.gif, assets/visuel.png]"), capsys)
    assert code == 1, out
    assert out.splitlines()[0] == (
        "schedules.yaml:8: x-mooc: 2 media with anime.gif: X takes up to 4 images, or 1 GIF, or "
        "1 video per post, and a GIF cannot share its post (gif on x-mooc, 2027-03-01 09:00) — "
        "keep the GIF alone in its post (override media for this channel) and post the other "
        "files apart, or convert the GIF to a PNG image"
    )


def test_two_gifs_are_refused_and_one_gif_alone_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(_workspace(tmp_path / "two", "[assets/anime.gif, assets/autre.gif]"),
                       capsys)
    assert code == 1 and "2 media with anime.gif, autre.gif: X takes up to 4 images" in out
    code, out = _check(_workspace(tmp_path / "one", "[assets/anime.gif]"), capsys)
    assert code == 0, out
    code, out = _check(_workspace(tmp_path / "images", "[assets/visuel.png, assets/visuel.png]"),
                       capsys)
    assert code == 0, out


def test_cm_preview_shows_the_same_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path, "[assets/anime.gif, assets/visuel.png]")
    code = main(["preview", "gif", "--json", "--workspace", str(root)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    [problem] = payload["deliveries"][0]["problems"]
    assert (problem["file"], problem["line"]) == ("schedules.yaml", 8)
    assert "and a GIF cannot share its post" in problem["message"]


def test_a_gif_may_weigh_15_mb_an_image_5(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """X takes animated GIFs up to 15 MB and other images up to 5 MB (API_FACTS.md)."""
    root = _workspace(tmp_path / "gif", "[assets/anime.gif]")
    padding = b"\x00" * (6 * 1024 * 1024)
    (root / "assets" / "anime.gif").write_bytes(GIF + padding)
    code, out = _check(root, capsys)
    assert code == 0, out
    (root / "assets" / "anime.gif").write_bytes(GIF + padding * 3)
    code, out = _check(root, capsys)
    assert code == 1 and "assets/anime.gif is 18.0 MB, more than the 15 MB x accepts" in out, out
    root = _workspace(tmp_path / "png", "[assets/visuel.png]")
    image = root / "assets" / "visuel.png"
    image.write_bytes(image.read_bytes() + padding)
    code, out = _check(root, capsys)
    assert code == 1 and "more than the 5 MB x accepts" in out, out
