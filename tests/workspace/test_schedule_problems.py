"""One test per kind of problem in schedules.yaml: exact file:line:column, message and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from cm_toolkit.errors import Severity, UsageError, WorkspaceError
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.yaml_source import MAX_VALUES, _TooLarge, to_plain
from tests.workspace.conftest import NOW, errors, problems, the_problem, write


def test_the_valid_fixture_has_no_problem(workspace: Path) -> None:
    assert problems(workspace) == []
    loaded, warnings = load_workspace(workspace, now=NOW, settings_lookup=None)
    assert warnings == []
    assert loaded.templates == ["live/reminder", "teaser"]
    assert sorted(loaded.channels) == [
        "facebook-page",
        "linkedin-page",
        "meet",
        "x-mooc",
        "youtube",
    ]
    assert str(loaded.schedules.campaigns[0].posts[0].at) == "2027-02-08 10:00:00+01:00"


def test_yaml_syntax_error_has_the_parser_position(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: [unclosed
    """,
    )
    (problem,) = problems(workspace)
    assert problem.file == "schedules.yaml"
    assert problem.line == 5 and problem.column == 1
    assert problem.message.startswith("is not valid YAML")
    assert problem.fix == "fix the YAML syntax (indentation, colons, quotes)"


def test_duplicate_key_is_a_syntax_problem(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        timezone: Europe/Berlin
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (2, 1)
    assert 'duplicate key "timezone"' in problem.message
    assert problem.fix == "keep only one of the two keys"


def test_unknown_key_suggests_the_close_one(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - id: teaser
                template: teaser
                chanels: [x-mooc]
                at: 2027-02-08 10:00
    """,
    )
    found = errors(workspace)
    problem = the_problem(found, "unknown key")
    assert str(problem) == (
        'schedules.yaml:8:9: unknown key `chanels` in post "teaser" — did you mean `channels`?'
    )
    # The missing `channels` is reported too, at the post.
    missing = the_problem(found, "has no `channels:`")
    assert (missing.line, missing.column) == (6, 9)


def test_unknown_top_level_key_without_close_match_lists_the_keys(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        zzz: 1
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (2, 1)
    assert problem.message == "unknown key `zzz`"
    assert problem.fix.startswith(
        "remove it; the keys allowed here are `allowed_paths`, `campaigns`, `defaults`"
    )


def test_wrong_type_points_at_the_value(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - id: weekly
                template: teaser
                channels: x-mooc
                every: "0 18 * * thu"
                count: three
    """,
    )
    found = errors(workspace)
    channels = the_problem(found, "`channels` must be a list")
    assert (channels.line, channels.column) == (8, 19)
    assert (
        channels.message == 'post "weekly": `channels` must be a list, like [a, b] (got "x-mooc")'
    )
    assert channels.fix == "write it as a list: `channels: [x-mooc]`"
    count = the_problem(found, "`count`")
    assert (count.line, count.column) == (10, 16)
    assert count.message == 'post "weekly": `count` must be a whole number (got "three")'


def test_bad_duration_and_date_say_what_to_write(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        defaults:
          grace: 2 hours
        campaigns:
          - id: c1
            name: C1
            posts:
              - id: p1
                template: teaser
                channels: [x-mooc]
                at: next monday
    """,
    )
    found = errors(workspace)
    grace = the_problem(found, "`defaults.grace`")
    assert (grace.line, grace.column) == (3, 10)
    assert grace.message == (
        "`defaults.grace` is not a duration: write one like 7d, 1h30m, 90m, 2w or 45s "
        '(got "2 hours")'
    )
    assert grace.fix == "for example `grace: 1h30m`"
    at = the_problem(found, "`at`")
    assert (at.line, at.column) == (11, 13)
    assert at.fix == "for example `at: 2027-01-14 18:00`"
    assert "is not a date and time: write it like 2027-01-14 18:00" in at.message


def test_missing_required_field_points_at_the_mapping(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - id: teaser
                channels: [x-mooc]
                at: 2027-02-08 10:00
    """,
    )
    (problem,) = problems(workspace)
    assert str(problem) == (
        'schedules.yaml:6:9: post "teaser" has no `template:` — add `template: teaser`'
    )


def test_missing_timezone(workspace: Path) -> None:
    write(workspace, "schedules.yaml", "campaigns: []\n")
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == "`timezone:` is missing"
    assert problem.fix == "add `timezone: Europe/Paris`"


def test_unknown_channel_in_post_overrides_and_sessions(workspace: Path) -> None:
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
                channels: [x-moc, facebook-page]
                at: 2027-02-08 10:00
                overrides:
                  facebok-page: {skip: true}
            live_sessions:
              - id: live-1
                title: Q&A
                start: 2027-03-04 18:00
                duration: 1h
                hosted_on: [youtub]
                announce_on: [linkedin-pag]
    """,
    )
    found = errors(workspace)
    post = the_problem(found, "unknown channel `x-moc`")
    assert (post.line, post.column, post.fix) == (8, 20, "did you mean `x-mooc`?")
    override = the_problem(found, "unknown channel `facebok-page` in overrides")
    assert (override.line, override.column) == (11, 11)
    assert override.fix == "did you mean `facebook-page`?"
    hosted = the_problem(found, "unknown channel `youtub`")
    assert (hosted.line, hosted.column, hosted.fix) == (17, 21, "did you mean `youtube`?")
    announce = the_problem(found, "unknown channel `linkedin-pag`")
    assert (announce.line, announce.column) == (18, 23)
    assert announce.fix == "did you mean `linkedin-page`?"


def test_unknown_channel_without_close_match_says_how_to_create_it(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - {id: p1, template: teaser, channels: [mastodon], at: 2027-02-08 10:00}
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (6, 47)
    assert problem.fix.startswith("create channels/mastodon.yaml or use one of `facebook-page`")


def test_unknown_template(workspace: Path) -> None:
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
                template: teasr
                channels: [x-mooc]
                at: 2027-02-08 10:00
            live_sessions:
              - id: live-1
                title: Q&A
                start: 2027-03-04 18:00
                duration: 1h
                hosted_on: [youtube]
                announce_on: [x-mooc]
                announcements:
                  - template: live/remindr
                    before: 1d
    """,
    )
    found = errors(workspace)
    post = the_problem(found, "unknown template `teasr`")
    assert str(post) == (
        'schedules.yaml:7:19: post "p1": unknown template `teasr` — did you mean `teaser`?'
    )
    step = the_problem(found, "unknown template `live/remindr`")
    assert (step.line, step.column) == (18, 23)
    assert step.message.startswith('announcement #1 of live session "live-1"')
    assert step.fix == "did you mean `live/reminder`?"


def test_template_variants_and_partials(workspace: Path) -> None:
    # live/reminder exists only as a variant (live/reminder.x.j2); _macros is a partial;
    # session_reminder is shipped with cm-toolkit.
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - {id: p1, template: live/reminder, channels: [x-mooc], at: 2027-02-08 10:00}
              - {id: p2, template: _macros, channels: [x-mooc], at: 2027-02-08 10:00}
              - {id: p3, template: session_reminder, channels: [x-mooc], at: 2027-02-08 10:00}
    """,
    )
    (problem,) = problems(workspace)
    assert problem.line == 7 and "unknown template `_macros`" in problem.message


def test_duplicate_ids(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - {id: p1, template: teaser, channels: [x-mooc], at: 2027-02-08 10:00}
            live_sessions:
              - {id: s1, title: A, start: 2027-03-04 18:00, duration: 1h, hosted_on: [youtube]}
          - id: c1
            name: C2
            posts:
              - {id: p1, template: teaser, channels: [x-mooc], at: 2027-02-09 10:00}
            live_sessions:
              - {id: s1, title: B, start: 2027-03-05 18:00, duration: 1h, hosted_on: [youtube]}
    """,
    )
    found = errors(workspace)
    campaign = the_problem(found, 'campaign id "c1" is used twice')
    assert (campaign.line, campaign.column) == (9, 9)
    assert campaign.message == 'campaign id "c1" is used twice (first on line 3)'
    assert campaign.fix == "give each campaign its own id"
    post = the_problem(found, 'post id "p1" is used twice')
    assert (post.line, post.column) == (12, 14)
    session = the_problem(found, 'live session id "s1" is used twice')
    assert (session.line, session.column) == (14, 14)


def test_badly_formed_id(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: "week 1!"
            name: C1
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (3, 9)
    assert problem.fix == "for example `id: week-1`"


def test_post_referencing_an_undefined_session(workspace: Path) -> None:
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
                session: live-2
                before: 1h
            live_sessions:
              - {id: live-1, title: A, start: 2027-03-04 18:00, duration: 1h, hosted_on: [youtube]}
    """,
    )
    (problem,) = problems(workspace)
    assert str(problem) == (
        'schedules.yaml:9:18: post "p1": live session `live-2` is not defined'
        " — did you mean `live-1`?"
    )


def test_session_hosted_on_a_network_that_cannot_host(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            live_sessions:
              - id: live-1
                title: Q&A
                start: 2027-03-04 18:00
                duration: 1h
                hosted_on: [meet, x-mooc]
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (10, 27)
    assert problem.message == (
        'live session "live-1": channel `x-mooc` is on x, which cannot host a live session'
    )
    assert problem.fix == "host it on a meet or youtube channel (announce on the others)"


def test_missing_media_file(workspace: Path) -> None:
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
                at: 2027-02-08 10:00
                media:
                  - media/visual.png
                  - media/visul.png
    """,
    )
    (problem,) = problems(workspace)
    assert str(problem) == (
        'schedules.yaml:12:13: post "p1": media file `media/visul.png` does not exist'
        " — did you mean `media/visual.png`?"
    )


def test_top_level_must_be_a_mapping(workspace: Path) -> None:
    write(workspace, "schedules.yaml", "- just\n- a list\n")
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == "schedules.yaml must be a mapping of `key: value` lines"


def test_load_workspace_raises_with_every_problem(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Pari
        campaigns:
          - id: c1
            nme: C1
    """,
    )
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(workspace, now=NOW, settings_lookup=None)
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == 3, messages  # time zone, unknown key, missing name
    assert [p.line for p in caught.value.problems] == [1, 3, 4]


def test_not_a_workspace_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_workspace(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="schedules.yaml not found") as caught:
        load_workspace(tmp_path)
    assert "--workspace" in caught.value.fix


def test_past_time_is_a_warning(workspace: Path) -> None:
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
                at: 2026-12-24 10:00
    """,
    )
    loaded, warnings = load_workspace(workspace, now=NOW, settings_lookup=None)
    (warning,) = warnings
    assert warning.severity is Severity.WARNING
    assert (warning.line, warning.column) == (9, 13)
    assert warning.message == 'post "p1" is due 2026-12-24 10:00 CET, which has passed'
    assert loaded.schedules.campaigns[0].posts[0].id == "p1"


def test_an_alias_bomb_is_refused_not_expanded(workspace: Path) -> None:
    lines = ["timezone: UTC", "variables:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 7)]
    (workspace / "schedules.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = problems(workspace)
    assert problem.message == "its aliases (*name) add more than 200000 values once expanded"


def test_only_what_aliases_add_counts_against_the_alias_limit() -> None:
    """A plan written out in full (a script, a CSV import) is not a bomb, however large; the same
    values met again through an alias are."""
    written = CommentedSeq(CommentedMap(id=f"p{i}", at="2027-02-08 10:00") for i in range(70_000))
    assert len(to_plain(CommentedMap(posts=written))["posts"]) == 70_000  # 210,000 values
    aliased = CommentedSeq(range(MAX_VALUES // 2 + 1))
    assert to_plain(CommentedMap(a=aliased, b=aliased))["b"][-1] == MAX_VALUES // 2
    with pytest.raises(_TooLarge):
        to_plain(CommentedMap(a=aliased, b=aliased, c=aliased))


def test_small_aliases_and_merge_keys_work(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        """
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            posts:
              - &base {id: p1, template: teaser, channels: [x-mooc], at: 2027-02-08 10:00}
              - <<: *base
                id: p2
                chanels: [x-mooc]
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.line, problem.column) == (9, 9)
    assert problem.message == 'unknown key `chanels` in post "p2"'
