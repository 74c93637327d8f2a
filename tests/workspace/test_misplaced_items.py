"""A live session pasted under ``posts:`` (or a post under ``live_sessions:``) is one problem
saying which list it belongs to, not a problem per key."""

from __future__ import annotations

import textwrap
from pathlib import Path

from cm_toolkit.errors import Problem
from tests.workspace.conftest import errors, write


def found_with(workspace: Path, listed_under: str, item: str) -> list[Problem]:
    """The errors of a one-campaign schedules.yaml whose ``listed_under`` list holds ``item``
    (its lines, first at line 6)."""
    lines = textwrap.indent(textwrap.dedent(item).strip(), " " * 6)
    write(workspace, "schedules.yaml", "timezone: Europe/Paris\ncampaigns:\n  - id: week-2\n"
          f"    name: Week 2\n    {listed_under}:\n{lines}\n")
    return errors(workspace)


def test_a_live_session_under_posts_is_one_problem_naming_its_list(workspace: Path) -> None:
    (problem,) = found_with(workspace, "posts", """
        - id: live-2
          title: "Office hours"
          start: 2027-03-04 18:00
          duration: 45m
          hosted_on: [youtube]
          announce_on: [x-mooc]
          announcements:
            - {template: teaser, before: 1h}
    """)
    assert (problem.file, problem.line, problem.column) == ("schedules.yaml", 6, 9)
    assert problem.message == (
        'post "live-2" has the keys of a live session (`announce_on`, `announcements`, '
        "`duration`, `hosted_on`, `start`, `title`) but is listed under `posts:`")
    assert problem.fix == 'move it under `live_sessions:` of campaign "week-2" (docs/workspace.md)'


def test_a_post_under_live_sessions_is_one_problem_naming_its_list(workspace: Path) -> None:
    (problem,) = found_with(workspace, "live_sessions", """
        - id: teaser-1
          template: teaser
          channels: [x-mooc]
          at: 2027-03-04 18:00
    """)
    assert problem.line == 6
    assert problem.message.startswith('live session "teaser-1" has the keys of a post (`at`, '
                                      "`channels`, `template`)")
    assert problem.fix.startswith("move it under `posts:`")


def test_a_post_with_one_wrong_key_is_still_told_about_that_key(workspace: Path) -> None:
    (problem,) = found_with(workspace, "posts", """
        - {id: teaser-1, template: teaser, channels: [x-mooc], at: 2027-03-04 18:00, title: A}
    """)
    assert problem.message == 'unknown key `title` in post "teaser-1"'
