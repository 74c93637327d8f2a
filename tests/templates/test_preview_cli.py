"""``cm preview``: the sample's posts as each network receives them, JSON and terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cm_toolkit.channels.linkedin.text import linkedin_escape
from cm_toolkit.cli import main

from .conftest import REPO_ROOT


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["preview", *args, "--json", "--workspace", str(REPO_ROOT)])
    return code, json.loads(capsys.readouterr().out)


def test_preview_json_lists_each_channel(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = run_json(capsys, "teaser")
    assert code == 0
    deliveries = {d["channel"]: d for d in payload["deliveries"]}  # type: ignore[union-attr]
    assert set(deliveries) == {"facebook-page", "x-mooc", "linkedin-page", "linkedin-group",
                             "bluesky-mooc"}
    x = deliveries["x-mooc"]
    assert x["template_file"] == "templates/teaser.x.j2"
    assert x["limit"] == 280 and x["length"] <= 280
    assert "utm_source=x" in x["text"]
    assert x["media"] == [{"path": "assets/visuel-leadership.png", "exists": True,
                           "bytes": (REPO_ROOT / "assets/visuel-leadership.png").stat().st_size}]
    assert x["cost_usd"] == 0.2
    linkedin = deliveries["linkedin-page"]
    assert linkedin["wire_text"] == linkedin_escape(linkedin["text"])
    assert "{hashtag|\\#|leadership}" in linkedin["wire_text"]
    assert deliveries["linkedin-group"]["problems"] == []


def test_preview_a_thread_on_x(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = run_json(capsys, "appel-retours")
    assert code == 0
    (delivery,) = payload["deliveries"]  # type: ignore[misc]
    assert len(delivery["thread"]) >= 2
    assert delivery["thread"][0].endswith(f" 1/{len(delivery['thread'])}")
    assert delivery["cost_usd"] > 0.2


def test_preview_an_occurrence_and_a_channel(capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = run_json(capsys, "module-semaine", "--at", "6", "--channel", "x-mooc")
    assert code == 0
    (delivery,) = payload["deliveries"]  # type: ignore[misc]
    assert delivery["occurrence"] == 6
    assert delivery["due_at"] == "2027-03-29T09:00:00+02:00"  # after the DST change
    code, payload = run_json(capsys, "module-semaine", "--at", "2027-03-02", "-c", "x-mooc")
    assert payload["deliveries"][0]["occurrence"] == 3  # type: ignore[index]


def test_preview_a_live_session_shows_its_announcements(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, payload = run_json(capsys, "live-2", "--channel", "x-mooc")
    assert code == 0
    keys = [d["post"] for d in payload["deliveries"]]  # type: ignore[union-attr]
    assert keys == [f"live-2/announce/{i}" for i in range(4)]


def test_preview_unknown_post_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", "teasr", "--workspace", str(REPO_ROOT)])
    assert code == 2
    assert "did you mean 'teaser'" in " ".join(capsys.readouterr().err.split())


def test_preview_terminal_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", "teaser", "--channel", "x-mooc", "--workspace", str(REPO_ROOT)])
    out = capsys.readouterr().out
    assert code == 0
    assert "x-mooc" in out and "weighted characters" in out and "teaser.x.j2" in out


def test_preview_reports_problems_and_fails(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(REPO_ROOT / "channels", workspace / "channels")
    shutil.copytree(REPO_ROOT / "templates", workspace / "templates")
    shutil.copytree(REPO_ROOT / "assets", workspace / "assets")
    shutil.copy(REPO_ROOT / "schedules.yaml", workspace / "schedules.yaml")
    (workspace / "templates" / "teaser.x.j2").write_text("Trop long " * 40 + "{{ link }}")
    (workspace / "templates" / "teaser.linkedin.j2").write_text("Trop long " * 310)
    (workspace / "templates" / "teaser.facebook.j2").write_text("ok\n{{ sesion.title }}")
    code = main(["preview", "teaser", "--json", "--workspace", str(workspace)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    deliveries = {d["channel"]: d for d in payload["deliveries"]}
    problems = {channel: [p["message"] for p in d["problems"]]
                for channel, d in deliveries.items()}
    # Over the limit: at the post's line, as the plan check says it.
    (too_long,) = deliveries["linkedin-page"]["problems"]
    lines = (workspace / "schedules.yaml").read_text().splitlines()
    teaser_line = lines.index("      - id: teaser") + 1
    assert (too_long["file"], too_long["line"]) == ("schedules.yaml", teaser_line)
    assert too_long["message"] == (
        "linkedin-page: the text rendered from templates/teaser.linkedin.j2 is 3099 characters "
        "as sent, more than the 3000 linkedin accepts")
    # x-mooc's channel file sets threads: true: over 280, the text becomes a thread.
    assert problems["x-mooc"] == [] and len(deliveries["x-mooc"]["thread"]) == 2
    assert problems["facebook-page"] == ["undefined variable 'sesion'"]


def test_a_thread_on_any_network_with_threads(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Not only X: Bluesky has ``Capability.THREAD`` (and its channel file ``threads: true``), so
    a text over its 300 graphemes is previewed as its adapter's thread, with no X price."""
    workspace = tmp_path / "ws"
    for folder in ("channels", "templates", "assets"):
        shutil.copytree(REPO_ROOT / folder, workspace / folder)
    shutil.copy(REPO_ROOT / "schedules.yaml", workspace / "schedules.yaml")
    (workspace / "templates" / "teaser.bluesky.j2").write_text("Une phrase du teaser. " * 20)
    code = main(["preview", "teaser", "--json", "--channel", "bluesky-mooc",
                 "--workspace", str(workspace)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0, payload
    (delivery,) = payload["deliveries"]
    assert delivery["problems"] == [] and delivery["length"] > 300
    assert len(delivery["thread"]) == 2 and delivery["thread"][1].endswith(" 2/2")
    assert delivery["cost_usd"] == 0
