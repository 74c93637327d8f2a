"""The plan check on a small workspace with one mistake of each kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.errors import Severity
from cm_toolkit.planning import plan_workspace
from cm_toolkit.templates.plan_check import check_plan
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace

from .conftest import REPO_ROOT

SCHEDULES = """\
version: 1
timezone: Europe/Paris
defaults: {language: fr}
campaigns:
  - id: essai
    name: Essai
    posts:
      - id: trop-long
        template: long
        at: "2027-03-01 09:00"
        channels: [x-mooc, linkedin-page]
      - id: sans-lien
        template: oubli
        at: "2027-03-02 09:00"
        channels: [x-mooc, facebook-page]
        link: "https://mooc-leader20.fr/article"
      - id: images
        template: simple
        at: "2027-03-03 09:00"
        channels: [x-mooc, linkedin-page]
        media: [assets/1.png, assets/2.png, assets/3.png, assets/4.png, assets/5.png]
      - id: image-absente
        template: illustre
        at: "2027-03-04 09:00"
        channels: [facebook-page]
      - id: casse
        template: casse
        every: "0 9 * * MON"
        count: 3
        channels: [x-mooc]
    start: "2027-03-01 00:00"
"""

TEMPLATES = {
    "long.j2": "{{ 'mot ' * 800 }}",
    "oubli.j2": "Lisez notre article !",
    "simple.j2": "Des images.",
    "illustre.j2": "---\nmedia: [assets/absente.png]\n---\nUne image.",
    "casse.j2": "Semaine {{ semaine }}",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    for folder in ("channels",):
        (tmp_path / folder).mkdir()
        for name in ("x-mooc", "linkedin-page", "facebook-page"):
            source = REPO_ROOT / folder / f"{name}.yaml"
            (tmp_path / folder / source.name).write_text(source.read_text())
    (tmp_path / "templates").mkdir()
    for name, text in TEMPLATES.items():
        (tmp_path / "templates" / name).write_text(text)
    (tmp_path / "assets").mkdir()
    for number in range(1, 6):
        (tmp_path / "assets" / f"{number}.png").write_bytes(
            (REPO_ROOT / "assets" / "visuel-live.png").read_bytes())
    (tmp_path / "schedules.yaml").write_text(SCHEDULES)
    loaded, _ = load_workspace(tmp_path, settings_lookup=None)
    return loaded


def test_each_kind_of_problem_is_reported(workspace: Workspace) -> None:
    check = check_plan(workspace, plan_workspace(workspace).deliveries)
    messages = [(p.severity, p.file, p.message) for p in check.problems]
    text = "\n".join(m for _, _, m in messages)
    assert "x-mooc: 3199 weighted characters, more than the 280 x accepts (trop-long" in text
    assert "linkedin-page: 3199 characters, more than the 3000 linkedin accepts" in text
    assert "x-mooc: 5 media, more than the 4 x accepts" in text
    assert "linkedin-page: 5 media, more than the 1 linkedin accepts" in text
    assert "facebook-page: media file assets/absente.png not found" in text
    assert (Severity.WARNING, "templates/oubli.j2",
            "x-mooc: the post has a link but the text does not contain it (sans-lien on x-mooc)"
            ) in messages
    # Facebook attaches the link itself: no warning there.
    assert "facebook-page: the post has a link" not in text
    # One template error repeated by three occurrences is reported once.
    undefined = [m for m in text.splitlines() if "undefined variable 'semaine'" in m]
    assert undefined == ["undefined variable 'semaine' (casse on x-mooc, and 2 more)"]
    assert not check.ok
    assert check.summary["errors"] == 6 and check.summary["warnings"] == 1


def test_x_cost_estimate(workspace: Workspace) -> None:
    check = check_plan(workspace, plan_workspace(workspace).deliveries)
    x = check.summary["x"]
    # Rendered X posts: trop-long, sans-lien, images (casse fails to render: not counted).
    assert (x["posts"], x["posts_with_url"]) == (3, 0)
    assert x["cost_usd"] == pytest.approx(3 * 0.015)
