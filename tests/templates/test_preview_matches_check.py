"""``cm preview`` reports, for each delivery, exactly the problems ``cm check`` reports for it.

The workspace has one post per network, each exercising a rule where the two once disagreed:
the adapter's media limit (LinkedIn takes 20 images), the text as sent (X appends the link; a
YouTube description carries it), the X channel's ``threads: true``, media types and the YouTube
video, the link warnings of manual channels, media a network ignores.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.cli import main

from .conftest import REPO_ROOT

SCHEDULES = """\
version: 1
timezone: Europe/Paris
defaults: {language: fr}
campaigns:
  - id: apercu
    name: Aperçu et contrôle
    start: "2027-03-01 00:00"
    posts:
      - id: deux-images
        template: images
        at: "2027-03-01 09:00"
        channels: [linkedin-page]
        media: [assets/1.png, assets/2.png]
      - id: lien-ajoute
        template: presque
        at: "2027-03-02 09:00"
        channels: [x-court]
        link: "https://mooc-leader20.fr/article"
      - id: fil
        template: long
        at: "2027-03-03 09:00"
        channels: [x-mooc]
      - id: video
        template: video
        at: "2027-03-04 09:00"
        channels: [youtube]
        link: "https://mooc-leader20.fr/replay"
        media: [assets/video.mp4]
      - id: sans-video
        template: annonce
        at: "2027-03-05 09:00"
        channels: [youtube]
      - id: photo
        template: photo
        at: "2027-03-06 09:00"
        channels: [facebook-page]
      - id: a-coller
        template: coller
        at: "2027-03-07 09:00"
        channels: [linkedin-group]
        link: "https://mooc-leader20.fr/groupe"
      - id: agenda
        template: agenda
        at: "2027-03-08 09:00"
        channels: [meet]
        media: [assets/1.png]
"""

TEMPLATES = {
    "images.j2": "Deux images.",
    # 266 weighted characters: over 280 only with the link the X adapter appends.
    "presque.j2": "Presque trop long. " * 14,
    "long.j2": "Une phrase assez longue pour un fil. " * 16,
    "video.j2": "---\ntitle: Le replay <en entier>\ndescription: Le replay.\n---\nLe replay.",
    "annonce.j2": "Une annonce sans vidéo.",
    "photo.j2": "---\nmedia: [assets/photo.bmp]\n---\nUne photo.",
    "coller.j2": "À coller dans le groupe.",
    "agenda.j2": "Un rendez-vous.",
}

POSTS = ("deux-images", "lien-ajoute", "fil", "video", "sans-video", "photo", "a-coller", "agenda")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "channels").mkdir()
    for name in ("x-mooc", "linkedin-page", "facebook-page", "youtube", "linkedin-group", "meet"):
        (tmp_path / "channels" / f"{name}.yaml").write_text(
            (REPO_ROOT / "channels" / f"{name}.yaml").read_text())
    # A second X account without the `threads: true` option of x-mooc.
    x_mooc = (REPO_ROOT / "channels" / "x-mooc.yaml").read_text()
    assert "options:\n  threads: true\n" in x_mooc
    (tmp_path / "channels" / "x-court.yaml").write_text(
        x_mooc.replace("options:\n  threads: true\n", "")
        .replace("username: ManagerLeader20", "username: Court"))
    (tmp_path / "templates").mkdir()
    for name, text in TEMPLATES.items():
        (tmp_path / "templates" / name).write_text(text)
    (tmp_path / "assets").mkdir()
    image = (REPO_ROOT / "assets" / "visuel-live.png").read_bytes()
    (tmp_path / "assets" / "1.png").write_bytes(image)
    (tmp_path / "assets" / "2.png").write_bytes(image)
    (tmp_path / "assets" / "photo.bmp").write_bytes(b"BM")
    (tmp_path / "assets" / "video.mp4").write_bytes(b"video")
    (tmp_path / "schedules.yaml").write_text(SCHEDULES)
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _label(delivery: dict[str, Any]) -> str:
    """How the plan check names a delivery in its messages."""
    due = datetime.fromisoformat(delivery["due_at"])
    return f"{delivery['post']} on {delivery['channel']}, {due:%Y-%m-%d %H:%M}"


Seen = tuple[str, int | None, str, str, str]


def _seen(problem: dict[str, Any], message: str) -> Seen:
    return (problem["file"], problem["line"], problem["severity"], message, problem["fix"])


def test_preview_reports_what_the_plan_check_reports(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previews: dict[str, dict[str, Any]] = {}
    for post in POSTS:
        _code, payload = _json(capsys, "preview", post, "--workspace", str(root))
        for delivery in payload["deliveries"]:
            previews[_label(delivery)] = delivery
    assert len(previews) == len(POSTS)
    previewed = {label: {_seen(p, p["message"]) for p in d["problems"]}
                 for label, d in previews.items()}

    code, report = _json(capsys, "check", "--workspace", str(root))
    assert code == 1
    checked: dict[str, set[Seen]] = {label: set() for label in previews}
    for problem in report["problems"]:
        # Each delivery is the only one with its post and template: no "other occurrences".
        (label,) = [label for label in previews if problem["message"].endswith(f" ({label})")]
        message = problem["message"].removesuffix(f" ({label})")
        checked[label].add(_seen(problem, message))

    assert previewed == checked
    by_post = {previews[label]["post"]: len(found) for label, found in checked.items()}
    assert by_post == {"deux-images": 0, "lien-ajoute": 2, "fil": 0, "video": 1,
                       "sans-video": 1, "photo": 1, "a-coller": 1, "agenda": 1}


def test_preview_shows_the_numbers_of_the_check(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _code, report = _json(capsys, "check", "--workspace", str(root))
    previews = {}
    for post in ("lien-ajoute", "fil", "video"):
        _code, payload = _json(capsys, "preview", post, "--workspace", str(root))
        previews[post] = payload["deliveries"][0]

    # X: measured with the link the adapter appends, as the check's message says.
    appended = previews["lien-ajoute"]
    assert appended["wire_text"] == f"{appended['text'].rstrip()}\n{appended['link']}"
    assert (appended["length"], appended["limit"]) == (289, 280)
    too_long = next(p for p in report["problems"] if "lien-ajoute on x-court" in p["message"]
                    and p["severity"] == "error")
    assert "is 289 weighted characters as sent, more than the 280 x accepts" in (
        too_long["message"])
    # The channel's threads: true makes a thread, and each part is priced as the plan is.
    thread = previews["fil"]["thread"]
    assert len(thread) == 3 and thread[0].endswith(" 1/3")
    x_cost = previews["lien-ajoute"]["cost_usd"] + previews["fil"]["cost_usd"]
    assert x_cost == pytest.approx(report["plan"]["x"]["cost_usd"])
    # YouTube: the description with the link, measured in bytes.
    video = previews["video"]
    assert video["wire_text"] == f"Le replay.\n\n{video['link']}"
    assert (video["length"], video["unit"]) == (len(video["wire_text"].encode()), "bytes")


def test_the_plan_table_counts_youtube_uploads_apart_from_units(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _code, report = _json(capsys, "check", "--workspace", str(root))
    # video posts on two days, no live setup: 0 quota units, 1 of the 100 uploads a day
    youtube = report["plan"]["youtube"]
    assert (youtube["peak_units_per_day"], youtube["peak_uploads_per_day"]) == (0, 1)
    monkeypatch.setenv("COLUMNS", "200")  # the row on one line
    main(["check", "--workspace", str(root)])
    [row] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│ youtube")]
    assert "peak 0/10,000 units/day, uploads 1/100 per day" in row
