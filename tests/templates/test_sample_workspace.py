"""The repository root is the sample workspace: every template renders for every network, every
planned delivery passes the plan check, X texts fit in 280 weighted characters."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from cm_toolkit.channels.registry import BUILTIN_CHANNELS
from cm_toolkit.channels.x.text import split_thread, x_weighted_length
from cm_toolkit.planning import DeliveryKind, plan_workspace
from cm_toolkit.templates.delivery import context_for, renderer_for
from cm_toolkit.templates.environment import list_templates
from cm_toolkit.templates.plan_check import check_plan, plan_problems
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Network, Workspace

from .conftest import PARIS, REPO_ROOT, make_context

TEMPLATE_NAMES = sorted(list_templates(REPO_ROOT / "templates"))


@pytest.fixture(scope="module")
def sample() -> Workspace:
    workspace, _warnings = load_workspace(REPO_ROOT, settings_lookup=None)
    return workspace


def test_the_sample_has_templates_with_variants() -> None:
    found = list_templates(REPO_ROOT / "templates")
    assert {None, "x", "facebook", "linkedin"} <= found["teaser"]
    assert (REPO_ROOT / "templates" / "_macros.j2").is_file()


@pytest.mark.parametrize("network", sorted(BUILTIN_CHANNELS))
@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_every_template_renders_for_every_network(sample: Workspace, template: str,
                                                  network: Network) -> None:
    renderer = renderer_for(sample)
    variables = dict(sample.schedules.variables)
    for campaign in sample.schedules.campaigns:
        variables.update(campaign.variables)
    variables.update({"theme": "le management à distance", "article": "Un article",
                      "question": "Une question ?", "legende": "Une légende"})
    context = make_context(network, variables=variables, at=datetime(2027, 3, 22, 9, tzinfo=PARIS))
    rendered = renderer.render_for(network, template, context)
    assert rendered.text.strip()
    assert "{{" not in rendered.text and "{%" not in rendered.text
    if network == "x" and not rendered.thread:
        assert x_weighted_length(rendered.text) <= 280, rendered.text


def test_every_planned_delivery_passes_the_plan_check(sample: Workspace) -> None:
    plan = plan_workspace(sample)
    check = check_plan(sample, plan.deliveries)
    assert [str(p) for p in check.problems] == []
    assert check.summary["deliveries"] > 100
    assert set(check.summary["by_network"]) == {"facebook", "x", "linkedin", "manual", "mastodon",
                                                "bluesky"}
    assert check.summary["x"]["posts"] > check.summary["x"]["posts_with_url"] > 0
    assert plan_problems(sample, plan.deliveries) == []


def test_every_x_delivery_fits_or_is_a_thread_of_fitting_parts(sample: Workspace) -> None:
    renderer = renderer_for(sample)
    x_deliveries = [d for d in plan_workspace(sample).deliveries
                    if d.network == "x" and d.kind is not DeliveryKind.LIVE_SETUP]
    assert x_deliveries
    threads = 0
    for delivery in x_deliveries:
        template, context = context_for(sample, delivery)
        rendered = renderer.render_for("x", template, context)
        if rendered.thread:
            threads += 1
            assert all(x_weighted_length(p) <= 280 for p in split_thread(rendered.text))
        else:
            assert x_weighted_length(rendered.text) <= 280, rendered.text
    assert threads >= 1


def test_recurring_module_posts_name_each_week(sample: Workspace) -> None:
    renderer = renderer_for(sample)
    weekly = [d for d in plan_workspace(sample).deliveries
              if d.post_id == "module-semaine" and d.channel_id == "x-mooc"]
    assert [d.occurrence for d in weekly] == list(range(1, 9))
    texts = [renderer.render_for("x", *context_for(sample, d)).text for d in weekly]
    assert "Semaine 1/8" in texts[0] and "Semaine 8/8" in texts[7]
    assert "modules/6?utm_source=x" in texts[5]  # the link declared in the template


def test_a_reminder_across_the_dst_change_shows_the_summer_time(sample: Workspace) -> None:
    renderer = renderer_for(sample)
    (reminder,) = [d for d in plan_workspace(sample).deliveries
                   if d.post_key == "live-3/announce/0" and d.channel_id == "x-mooc"]
    assert reminder.due_at.astimezone(PARIS).utcoffset() != datetime(
        2027, 4, 1, 18, tzinfo=PARIS).utcoffset()  # sent before the change, about after it
    text = renderer.render_for("x", *context_for(sample, reminder)).text
    assert "jeudi 1er avril 2027 à 18:00" in text


def test_session_links_appear_once_known(sample: Workspace) -> None:
    renderer = renderer_for(sample)
    (now_live,) = [d for d in plan_workspace(sample).deliveries
                   if d.post_key == "live-1/announce/3" and d.channel_id == "facebook-page"]
    without = renderer.render_for("facebook", *context_for(sample, now_live)).text
    assert "mooc-leader20.fr/live?" in without
    template, context = context_for(
        sample, now_live, session_links={"live-1": {"youtube": "https://youtu.be/abc123"}})
    text = renderer.render_for("facebook", template, context).text
    assert "https://youtu.be/abc123?utm_source=facebook" in text
    assert "nous sommes en direct" in text.lower()


def test_preview_and_check_render_each_hosts_placeholder_until_created(sample: Workspace) -> None:
    (now_live,) = [d for d in plan_workspace(sample).deliveries
                   if d.post_key == "live-1/announce/3" and d.channel_id == "x-mooc"]
    _template, context = context_for(sample, now_live, placeholders=True)
    assert context.session is not None
    # live-1 is hosted on YouTube and Meet: session.link is YouTube's watch page (11-char id)
    assert context.session.links == {"youtube": "https://www.youtube.com/watch?v=XXXXXXXXXXX",
                                     "meet": "https://meet.google.com/xxx-xxxx-xxx"}
    assert context.session.link == context.session.links["youtube"]
    # a created host's real link replaces its placeholder; the other keeps its own
    _template, context = context_for(
        sample, now_live, placeholders=True,
        session_links={"live-1": {"meet": "https://meet.google.com/abc-defg-hij"}})
    assert context.session is not None
    assert context.session.links["meet"] == "https://meet.google.com/abc-defg-hij"
    assert context.session.link == "https://www.youtube.com/watch?v=XXXXXXXXXXX"
    # at send time there is no placeholder: only what was created
    _template, context = context_for(
        sample, now_live, session_links={"live-1": {"meet": "https://meet.google.com/abc-defg-hij"}})
    assert context.session is not None
    assert context.session.link == "https://meet.google.com/abc-defg-hij"
    assert dict(context.session.links) == {"meet": "https://meet.google.com/abc-defg-hij"}


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    header = data[16 : 16 + length]
    crc = struct.unpack(">I", data[16 + length : 20 + length])[0]
    assert zlib.crc32(kind + header) & 0xFFFFFFFF == crc
    return struct.unpack(">II", header[:8])


def test_sample_images_are_small_valid_pngs() -> None:
    images = sorted((REPO_ROOT / "assets").glob("*.png"))
    assert 2 <= len(images) <= 4
    for image in images:
        assert image.stat().st_size < 50_000
        width, height = _png_size(image)
        assert width > 100 and height > 100
