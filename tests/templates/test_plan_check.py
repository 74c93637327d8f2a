"""The plan check on a small workspace with one mistake of each kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.channels.facebook.channel import FacebookChannel
from cm_toolkit.channels.x.channel import XChannel
from cm_toolkit.planning import plan_workspace
from cm_toolkit.templates.delivery_checks import Where, Wheres, sent_text
from cm_toolkit.templates.network_rules import NetworkRules
from cm_toolkit.templates.plan_check import check_plan
from cm_toolkit.templates.plan_render import PlanRenderer
from cm_toolkit.templates.render import RenderedContent
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
    found = [str(p) for p in check.problems]
    assert found == [
        # Over the limit: at the post's line (the length depends on the post as much as on
        # the template). On X the channel has `threads: true`: the text becomes a thread.
        ("schedules.yaml:8: linkedin-page: the text rendered from templates/long.j2 is 3199 "
        "characters as sent, more than the 3000 linkedin accepts (trop-long on linkedin-page, "
        "2027-03-01 09:00) — shorten the text of templates/long.j2 or the post's variables"),
        # The post's own media: at the post's line; LinkedIn's adapter takes up to 20.
        ("schedules.yaml:17: x-mooc: 5 media, more than the 4 x accepts (images on x-mooc, "
        "2027-03-03 09:00) — keep fewer files in the post's media, or override media for this "
        "channel"),
        # One template error repeated by three occurrences: once, at the template's line.
        ("templates/casse.j2:1: undefined variable 'semaine' (casse on x-mooc, 2027-03-01 09:00, "
        "and 2 other occurrences) — available here: at, campaign, channel, link, network, now, "
        "post, session, variables"),
        # Media declared by the template: at its `media:` line.
        ("templates/illustre.j2:2: facebook-page: media file assets/absente.png not found "
        "(image-absente on facebook-page, 2027-03-04 09:00) — put the file in the workspace "
        "(e.g. assets/) or fix the path"),
        # X has no link attachment: the template forgot {{ link }}. Facebook attaches it.
        ("templates/oubli.j2: warning: x-mooc: the post has a link but the text does not contain "
        "it; x has no link attachment, so it is appended on a line of its own (sans-lien on "
        "x-mooc, 2027-03-02 09:00) — put {{ link }} in templates/oubli.j2 where it reads best"),
    ]
    assert not check.ok
    assert check.summary["errors"] == 4 and check.summary["warnings"] == 1


def test_x_cost_estimate(workspace: Workspace) -> None:
    check = check_plan(workspace, plan_workspace(workspace).deliveries)
    x = check.summary["x"]
    # trop-long: a thread of 12 parts (x-mooc has threads: true), no URL; sans-lien: the link
    # appended by the adapter (a URL); images: 1 post. casse fails to render: never sent.
    assert (x["posts"], x["posts_with_url"]) == (14, 1)
    assert x["cost_usd"] == pytest.approx(13 * 0.015 + 1 * 0.200)
    assert check.summary["by_network"] == {"facebook": 2, "linkedin": 2, "x": 6}


def test_a_where_is_shared_only_by_deliveries_written_alike(workspace: Workspace) -> None:
    """``Wheres`` remembers ``Where.of``: what it gives a delivery must be what ``Where.of``
    says of that delivery (channel, the post's own media or the template's, option lines)."""
    renderer = PlanRenderer.for_workspace(workspace)
    wheres = Wheres(workspace, renderer)
    deliveries = plan_workspace(workspace).deliveries
    assert {bool(d.content.get("media")) for d in deliveries} == {True, False}
    for delivery in deliveries:
        for template in ("simple", "illustre"):
            assert wheres.of(delivery, template) == Where.of(workspace, renderer, delivery,
                                                             template)


class _ComposingFacebook(FacebookChannel):
    """A plugin's adapter that composes its text (a static method, not a classmethod)."""

    compose = staticmethod(lambda post: post.text + " [composed]")


def test_the_text_sent_is_the_adapters_composition_only_when_it_has_one() -> None:
    content = RenderedContent("Bonjour", None, None, "https://a.fr", (), False, "templates/a.j2")
    assert sent_text(NetworkRules("facebook", _ComposingFacebook), content) == (
        "Bonjour [composed]")
    assert sent_text(NetworkRules("facebook", FacebookChannel), content) == "Bonjour"
    assert sent_text(NetworkRules("x", XChannel), content) == "Bonjour\nhttps://a.fr"
    assert NetworkRules("x", XChannel).has_plan_problems
    assert not NetworkRules("facebook", _ComposingFacebook).has_plan_problems
