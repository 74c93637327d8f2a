"""The plan check on whole plans: aggregation, where problems point, quotas from real plans."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cm_toolkit.planning import plan_workspace
from cm_toolkit.templates.plan_check import PlanChecker, check_plan
from cm_toolkit.templates.plan_render import PlanRenderer
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace

from .conftest import REPO_ROOT

Build = Callable[[str, dict[str, str]], Workspace]

HEAD = """\
version: 1
timezone: Europe/Paris
defaults: {language: fr}
variables: {course: "Du Manager au Leader 2.0"}
campaigns:
  - id: essai
    name: Essai
    start: "2027-03-01 00:00"
    posts:
"""


@pytest.fixture
def build(tmp_path: Path) -> Build:
    """A workspace with the sample's channel files, ``posts`` (YAML under ``posts:``, indented
    by 6) and ``templates``."""

    def make(posts: str, templates: dict[str, str]) -> Workspace:
        (tmp_path / "channels").mkdir(exist_ok=True)
        for source in (REPO_ROOT / "channels").glob("*.yaml"):
            (tmp_path / "channels" / source.name).write_text(source.read_text())
        (tmp_path / "templates").mkdir(exist_ok=True)
        for name, text in templates.items():
            (tmp_path / "templates" / name).write_text(text, encoding="utf-8")
        body = textwrap.indent(textwrap.dedent(posts), " " * 6)
        (tmp_path / "schedules.yaml").write_text(HEAD + body, encoding="utf-8")
        loaded, _ = load_workspace(tmp_path, settings_lookup=None)
        return loaded

    return make


def _check(workspace: Workspace) -> list[str]:
    return [str(p) for p in check_plan(workspace, plan_workspace(workspace).deliveries).problems]


def test_a_template_error_in_a_recurring_post_is_reported_once(build: Build) -> None:
    workspace = build(
        """\
        - id: quotidien
          template: quotidien
          every: "0 9 * * *"
          count: 1000
          channels: [x-mooc, facebook-page]
        """,
        {"quotidien.j2": "Jour {{ at | date_short }}\nSemaine {{ semain }} du MOOC {{ course }}"},
    )
    assert _check(workspace) == [
        ("templates/quotidien.j2:2: undefined variable 'semain' (quotidien on facebook-page, "
        "2027-03-01 09:00, and 1999 other occurrences) — did you mean 'session'?")
    ]


def test_over_the_limit_points_at_the_post_and_shows_the_longest(build: Build) -> None:
    workspace = build(
        """\
        - id: court
          template: court
          at: "2027-03-01 09:00"
          channels: [x-mooc]
        - id: semaines
          template: semaines
          every: "0 9 * * MON"
          count: 5
          channels: [linkedin-page]
        """,
        {
            "court.j2": "Un texte court.",
            # Grows with the occurrence: 2,990 characters, then 3,000, 3,010, 3,020, 3,030.
            "semaines.j2": "{{ 'x' * (2980 + 10 * post.occurrence) }}",
        },
    )
    assert _check(workspace) == [
        ("schedules.yaml:14: linkedin-page: the text rendered from templates/semaines.j2 is 3010 "
        "characters as sent, more than the 3000 linkedin accepts; up to 3030 in another "
        "occurrence (semaines on linkedin-page #3, 2027-03-15 09:00, and 2 other occurrences) "
        "— shorten the text of templates/semaines.j2 or the post's variables")
    ]


def test_links_the_text_forgot(build: Build) -> None:
    workspace = build(
        """\
        - id: sans-lien
          template: sans-lien
          at: "2027-03-01 09:00"
          link: "https://mooc-leader20.fr/a"
          channels: [x-mooc, facebook-page, linkedin-page, linkedin-group]
        - id: lien-brut
          template: lien-brut
          at: "2027-03-02 09:00"
          link: "https://mooc-leader20.fr/b"
          channels: [x-mooc]
        - id: avec-lien
          template: avec-lien
          at: "2027-03-03 09:00"
          link: "https://mooc-leader20.fr/c"
          channels: [x-mooc, linkedin-group]
        """,
        {
            "sans-lien.j2": "Lisez l'article !",
            "lien-brut.j2": "Lisez {{ post.link }}",
            "avec-lien.j2": "Lisez {{ link }}",
        },
    )
    found = _check(workspace)
    assert found == [
        ("templates/lien-brut.j2: warning: x-mooc: the text holds the post's link without its UTM "
        "tags; the x adapter will add the tagged link again (lien-brut on x-mooc, 2027-03-02 "
        "09:00) — write {{ link }} instead of {{ post.link }} in templates/lien-brut.j2"),
        ("templates/sans-lien.j2: warning: linkedin-group: the post has a link but the text to "
        "paste does not contain it (the task lists it apart) (sans-lien on linkedin-group, "
        "2027-03-01 09:00) — put {{ link }} in templates/sans-lien.j2 where it reads best"),
        ("templates/sans-lien.j2: warning: x-mooc: the post has a link but the text does not "
        "contain it; x has no link attachment, so it is appended on a line of its own "
        "(sans-lien on x-mooc, 2027-03-01 09:00) — put {{ link }} in templates/sans-lien.j2 "
        "where it reads best"),
    ]


def test_a_youtube_post_needs_a_video_and_a_valid_title(build: Build) -> None:
    workspace = build(
        """\
        - id: replay
          template: replay
          at: "2027-03-01 09:00"
          channels: [youtube]
        """,
        {"replay.j2": "---\ntitle: \"Le <replay> du live\"\n---\nLe replay."},
    )
    assert _check(workspace) == [
        ("schedules.yaml:10: youtube: a YouTube post is a video upload, and this post has no video "
        "(replay on youtube, 2027-03-01 09:00) — add the video file to the post's media"),
        ("templates/replay.j2:2: youtube: the YouTube title contains < or >, which YouTube "
        "refuses (replay on youtube, 2027-03-01 09:00) — shorten the title option; remove < "
        "and >"),
    ]


def test_a_burst_on_one_account_warns_at_the_post(build: Build) -> None:
    posts = "".join(
        f'- id: rafale-{n}\n  template: court\n  at: "2027-03-01 09:0{2 * n}"\n'
        "  channels: [facebook-page]\n"
        for n in range(4)
    )
    found = _check(build(posts, {"court.j2": "Un texte court {{ post.id }}."}))
    assert found == [
        ("schedules.yaml:22: warning: facebook-page: 4 posts within 10 minutes (the busiest "
        "ending 2027-03-01 09:06); more than 3 posts that close together on one account look "
        "like spam to the networks (rafale-3 on facebook-page, 2027-03-01 09:06) — spread the "
        "posts (defaults.spacing only delays them when they are sent)")
    ]


def test_texts_that_vary_are_rendered_per_occurrence(build: Build) -> None:
    workspace = build(
        """\
        - id: rappel
          template: rappel
          every: "0 9 * * *"
          count: 40
          channels: [x-mooc]
        - id: fixe
          template: fixe
          every: "0 10 * * *"
          count: 40
          channels: [x-mooc]
        """,
        {
            # 280 weighted characters on days 1 to 9 of a month, 281 (a thread of two posts,
            # x-mooc has threads: true) from the 10th: the first text must not be reused.
            "rappel.j2": "{{ 'x' * 278 }} {{ at | date('d') }}",
            "fixe.j2": "{% import '_m.j2' as m with context %}{{ m.sig() }}",
            "_m.j2": "{% macro sig() %}MOOC {{ course }}{% endmacro %}",
        },
    )
    renderer = PlanRenderer.for_workspace(workspace)
    assert renderer.varies("x", "rappel") and not renderer.varies("x", "fixe")
    check = check_plan(workspace, plan_workspace(workspace).deliveries)
    lengths = [p.message for p in check.problems]
    assert lengths == [], lengths  # x-mooc has threads: true: long texts become threads
    # 40 fixed posts; rappel from 2027-03-01 to 04-09: 18 days with one digit, 22 with two.
    assert check.summary["x"]["posts"] == 40 + 18 * 1 + 22 * 2


@pytest.mark.parametrize(
    ("template", "varies"),
    [("article", False), ("debat", False), ("teaser", False), ("live-direct", False),
     ("countdown", True), ("module", True), ("live-j7", True)],
)
def test_which_sample_templates_vary_between_occurrences(template: str, varies: bool) -> None:
    sample, _ = load_workspace(REPO_ROOT, settings_lookup=None)
    assert PlanRenderer.for_workspace(sample).varies("x", template) is varies


def test_the_checker_for_cm_check_keeps_the_summary(build: Build) -> None:
    workspace = build(
        """\
        - id: court
          template: court
          at: "2027-03-01 09:00"
          channels: [x-mooc, facebook-page]
          link: "https://mooc-leader20.fr/a"
        """,
        {"court.j2": "Lisez {{ link }}"},
    )
    checker = PlanChecker(now=datetime(2027, 2, 1, tzinfo=UTC))
    assert checker(workspace) == []
    assert checker.result is not None
    summary = checker.result.summary
    assert summary["x"]["cost_usd"] == 0.2  # one post with a URL
    assert summary["facebook"] == {"posts": 1, "natively_schedulable_now": 1,
                                   "sooner_than_10_minutes": 0, "later_than_30_days": 0}
