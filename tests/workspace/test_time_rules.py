"""Time zone, time rules, cron expressions and times in the past."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.errors import Severity
from tests.workspace.conftest import errors, problems, the_problem, write

HEAD = """
    timezone: Europe/Paris
    campaigns:
      - id: c1
        name: C1
        start: 2027-02-01 00:00
        live_sessions:
          - {id: live-1, title: A, start: 2027-03-04 18:00, duration: 1h, hosted_on: [youtube]}
        posts:
          - id: p1
            template: teaser
            channels: [x-mooc]
"""
# HEAD is 11 lines: the lines of each test's post start at line 12, a key at column 9.


def _post(workspace: Path, rule: str) -> None:
    # 12 spaces: HEAD's own 4 (removed by dedent) and the post's 8.
    lines = "".join(f"{' ' * 12}{line.strip()}\n" for line in rule.strip("\n").splitlines())
    write(workspace, "schedules.yaml", HEAD + lines)


def test_invalid_timezone_suggests_the_close_name(workspace: Path) -> None:
    write(workspace, "schedules.yaml", "timezone: Europe/Pari\n")
    (problem,) = problems(workspace)
    assert str(problem) == (
        "schedules.yaml:1:11: `timezone` `Europe/Pari` is not an IANA time zone"
        " — did you mean `Europe/Paris`?"
    )


def test_no_time_rule(workspace: Path) -> None:
    _post(workspace, "link: https://example.org")
    (problem,) = problems(workspace)
    assert str(problem) == (
        'schedules.yaml:9:9: post "p1" has no time rule — add one of at:, every: or session:'
    )


def test_several_time_rules(workspace: Path) -> None:
    _post(
        workspace,
        """
    at: 2027-02-08 10:00
    session: live-1
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (13, 9)
    assert problem.message == 'post "p1" has several time rules (at, session)'
    assert problem.fix == "keep only one of at:, every: or session:"


@pytest.mark.parametrize(
    ("rule", "line", "message", "fix"),
    [
        (
            "at: 2027-02-08 10:00\nuntil: 2027-03-01 10:00",
            13,
            "`until` only goes with `every`",
            "remove `until:` or add `every:`",
        ),
        (
            "at: 2027-02-08 10:00\ncount: 3",
            13,
            "`count` only goes with `every`",
            "remove `count:` or add `every:`",
        ),
        (
            "at: 2027-02-08 10:00\nskip: [2027-02-15]",
            13,
            "`skip` only goes with `every`",
            "remove `skip:` or make the post recurring (every:)",
        ),
        (
            "at: 2027-02-08 10:00\nbefore: 1h",
            13,
            "`before` only goes with `session`",
            "remove `before:` or add `session:`",
        ),
        (
            'every: "0 9 * * mon"',
            12,
            "`every` needs an end",
            "add `until: <date and time>` or `count: <number of times>`",
        ),
        (
            'every: "0 9 * * mon"\nuntil: 2027-03-01 10:00\ncount: 3',
            14,
            "has both `until` and `count`",
            "keep one of them",
        ),
        (
            "session: live-1\nbefore: 1h\nafter: 1h",
            14,
            "has both `before` and `after`",
            "keep one of them",
        ),
    ],
)
def test_time_rule_companions(
    workspace: Path, rule: str, line: int, message: str, fix: str
) -> None:
    _post(workspace, rule)
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (line, 9)
    assert message in problem.message and problem.message.startswith('post "p1"')
    assert problem.fix == fix


def test_count_must_be_positive(workspace: Path) -> None:
    _post(workspace, 'every: "0 9 * * mon"\ncount: 0')
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (13, 16)
    assert problem.message == 'post "p1": `count` must be at least 1'


def test_every_needs_a_campaign_start(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - id: p1
                template: teaser
                channels: [x-mooc]
                every: "0 9 * * 7"
                count: 3
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (9, 9)
    assert problem.message == 'post "p1" repeats (every:) but campaign "c1" has no `start:`'


def test_invalid_cron_says_the_five_fields(workspace: Path) -> None:
    _post(workspace, 'every: "0 18 * thu"\ncount: 3')
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (12, 16)
    assert problem.message.startswith('post "p1": `every` is not a valid cron expression (')
    assert problem.fix == (
        "write 5 fields: minute hour day-of-month month day-of-week, "
        "e.g. `0 18 * * thu` (Thursdays at 18:00)"
    )


def test_invalid_growth_snapshot_cron(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        growth:
          snapshot: "61 6 * * *"
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (3, 13)
    assert problem.message.startswith("`growth.snapshot` is not a valid cron expression")


def test_zero_session_duration(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            live_sessions:
              - {id: live-1, title: A, start: 2027-03-04 18:00, duration: 0m, hosted_on: [youtube]}
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (6, 67)
    assert problem.message == 'live session "live-1": `duration` must be more than zero'


def test_past_times_are_warnings_not_errors(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            start: 2026-12-01 00:00
            live_sessions:
              - id: live-1
                title: A
                start: 2027-01-03 18:00
                duration: 1h
                hosted_on: [youtube]
                announce_on: [x-mooc]
                announcements:
                  - {template: teaser, before: 7d}
                  - {template: teaser, before: 1d}
            posts:
              - {id: p1, template: teaser, channels: [x-mooc], session: live-1, before: 3d}
              - {id: p2, template: teaser, channels: [x-mooc], every: "0 9 * * *",
                 until: 2026-12-31 23:00}
    """,
    )
    found = problems(workspace)
    assert errors(workspace) == []
    assert all(p.severity is Severity.WARNING for p in found)
    step = the_problem(found, "announcement #1")
    assert (step.line, step.column) == (14, 13)  # the step's `{`
    assert "is due 2026-12-27 18:00 CET, which has passed" in step.message
    post = the_problem(found, 'post "p1" (3d before the session)')
    assert (post.line, post.column) == (17, 9)
    last = the_problem(found, 'the last repetition of post "p2"')
    assert (last.line, last.column) == (19, 17)
    assert len(found) == 3  # the session itself (2027-01-03) and step #2 are still ahead


def test_a_date_without_time_is_a_warning(workspace: Path) -> None:
    _post(workspace, "at: 2027-02-08")
    (problem,) = problems(workspace)
    assert problem.severity is Severity.WARNING
    assert (problem.line, problem.column) == (12, 13)
    assert problem.fix == "add the time, e.g. `at: 2027-01-14 18:00`"


# -- recurrences against the campaign (issue 15 item 7): the line and the right fix -------------

def test_until_before_the_campaign_start_is_an_error_with_its_fix(workspace: Path) -> None:
    # campaign c1 starts 2027-02-01; "now" is 2027-01-01, so the until has not even passed
    _post(workspace, 'every: "0 9 * * mon"\nuntil: 2027-01-20 10:00')
    (problem,) = problems(workspace)
    assert problem.severity is Severity.ERROR
    assert (problem.line, problem.column) == (13, 16)
    assert problem.message == (
        'post "p1": `until` (2027-01-20 10:00) is before the start of campaign "c1" '
        "(2027-02-01 00:00): it would never be published")
    assert problem.fix.startswith("set `until:` after the campaign's `start:`")


def test_an_until_before_the_start_and_past_is_not_called_a_passed_repetition(
        workspace: Path) -> None:
    _post(workspace, 'every: "0 9 * * mon"\nuntil: 2026-12-20 10:00')
    found = problems(workspace)
    assert [p.message for p in found if "passed" in p.message] == []
    assert the_problem(found, "is before the start of").line == 13


@pytest.mark.parametrize(("rule", "line", "column", "fragment", "fix"), [
    ('every: "0 9 * * *"\ncount: 6000', 13, 16, "repeats 6,000 times, more than the 5,000",
     "write `count: 5000` or less, or split it into several posts"),
    ('every: "*/5 * * * *"\nuntil: 2027-12-31 10:00', 13, 16,
     "repeats more than 5,000 times before its `until`",
     "set a nearer `until:`, repeat less often (`every:`), or split it into several posts"),
])
def test_a_recurrence_over_the_limit_is_refused_at_its_line(
        workspace: Path, rule: str, line: int, column: int, fragment: str, fix: str) -> None:
    _post(workspace, rule)
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (line, column)
    assert fragment in problem.message and problem.fix.startswith(fix)


@pytest.mark.parametrize("rule", [
    'every: "0 9 * * *"\ncount: 5000',
    'every: "0 9 * * *"\nuntil: 2037-12-31 10:00',  # 3,987 days of one a day
    # twice a day at most by its fields (5,478 > 5,000), on weekdays only: 3,910, walked
    'every: "0 9,18 * * mon-fri"\nuntil: 2034-06-30 10:00',
])
def test_recurrences_within_the_limit_pass(workspace: Path, rule: str) -> None:
    _post(workspace, rule)
    assert errors(workspace) == []
