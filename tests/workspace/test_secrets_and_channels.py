"""Pasted secrets are refused without being repeated; channel files are checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from cm_toolkit.workspace.secret_scan import SECRET_FIX, secret_kind
from tests.workspace.conftest import errors, problems, the_problem, write

FACEBOOK_TOKEN = "EAAGm0PX4ZCpsBAKZC" + "q1w2e3r4t5y6u7i8o9p0" * 2
GOOGLE_REFRESH = "1//0gLk3e" + "Xy9_Qw-Er7Ty" * 3
X_BEARER = "A" * 22 + "MLheAAAAAAAAd2Ffk1%2BrS7gQ"
RANDOM_KEY = "q8ZtR2vLx9N4mKp7Wc3Yb6Hj1Dg5Fs0A"
FIX_START = "put it in an environment variable and reference it as {env: NAME}"


def test_the_fix_text_is_the_documented_one() -> None:
    assert SECRET_FIX == FIX_START


def test_literal_value_under_secrets_is_refused(workspace: Path) -> None:
    write(
        workspace,
        "channels/facebook-page.yaml",
        f"""
        network: facebook
        account:
          page_id: "104857600123456"
        secrets:
          page_token: {FACEBOOK_TOKEN}
    """,
    )
    (problem,) = problems(workspace)
    assert (problem.file, problem.line, problem.column) == ("channels/facebook-page.yaml", 5, 15)
    assert problem.message == "secret `page_token` is written in the file"
    assert problem.fix.startswith(FIX_START)
    assert FACEBOOK_TOKEN not in str(problem)


def test_secret_shaped_values_anywhere_are_refused(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        f"""
        timezone: Europe/Paris
        variables:
          note: "call me, my token is {FACEBOOK_TOKEN}"
          refresh: {GOOGLE_REFRESH}
          bearer: "{X_BEARER}"
          key: {RANDOM_KEY}
          slug: du-manager-au-leader-2-0-saison-2027
    """,
    )
    found = problems(workspace)
    assert [(p.line, p.column) for p in found] == [(3, 9), (4, 12), (5, 11), (6, 8)]
    assert found[0].message == "`note` looks like a Facebook access token pasted into the file"
    assert found[1].message == "`refresh` looks like a Google refresh token pasted into the file"
    assert found[2].message == "`bearer` looks like an X bearer token pasted into the file"
    assert found[3].message == "`key` looks like a long random key pasted into the file"
    text = "\n".join(str(p) for p in found)
    for secret in (FACEBOOK_TOKEN, GOOGLE_REFRESH, X_BEARER, RANDOM_KEY):
        assert secret not in text
    assert all(p.fix.startswith(FIX_START) for p in found)


def test_secret_named_keys_holding_literals_are_refused(workspace: Path) -> None:
    write(
        workspace,
        "channels/x-mooc.yaml",
        """
        network: x
        account:
          username: Course
          password: hunter2
          clientSecret: abc
    """,
    )
    found = problems(workspace)
    assert [(p.line, p.column) for p in found] == [(4, 13), (5, 17)]
    assert found[0].message == "`password` holds a secret written in the file"
    assert "hunter2" not in str(found[0]) and "abc" not in str(found[1])


def test_a_pasted_secret_in_a_typed_field_is_not_echoed_by_type_errors(workspace: Path) -> None:
    write(
        workspace,
        "schedules.yaml",
        f"""
        timezone: Europe/Paris
        campaigns:
          - id: c1
            name: C1
            start: 2027-02-01 00:00
            posts:
              - id: p1
                template: teaser
                channels: [x-mooc]
                every: "0 9 * * *"
                count: {FACEBOOK_TOKEN}
    """,
    )
    found = problems(workspace)
    assert len(found) == 1 and found[0].line == 11
    assert FACEBOOK_TOKEN not in str(found[0])


@pytest.mark.parametrize(
    "value",
    [
        "CM_LINKEDIN_ORGANIZATION_ACCESS_TOKEN",
        "urn:li:organization:5515715",
        "https://mooc-leader20.fr/inscription?utm_source=x",
        "assets/visuel-leadership-2027.png",
        "UCmanagerLeader20xxxxxxx",
        "mooc-du-manager-au-leader-saison2-2027-live1",
    ],
)
def test_ordinary_values_are_not_secrets(value: str) -> None:
    assert secret_kind(value) is None


def test_secret_reference_needs_exactly_one_source(workspace: Path) -> None:
    write(
        workspace,
        "channels/youtube.yaml",
        """
        network: youtube
        account: {channel_id: UCcourse}
        secrets:
          refresh_token: {env: CM_A, keyring: cm/yt}
          client_id: {env: "not a name"}
    """,
    )
    found = problems(workspace)
    both = the_problem(found, "names both")
    assert (both.line, both.column) == (4, 18)
    assert both.fix == "write exactly one, e.g. `refresh_token: {env: CM_REFRESH_TOKEN}`"
    name = the_problem(found, "`env` must be the name")
    assert (name.line, name.column) == (5, 20)


def test_unknown_network_suggests(workspace: Path) -> None:
    write(workspace, "channels/facebook-page.yaml", "network: facebok\n")
    write(workspace, "channels/x-mooc.yaml", "network: twitter\n")
    found = problems(workspace)
    facebook = the_problem(found, "`facebok`")
    assert str(facebook) == (
        "channels/facebook-page.yaml:1:10: unknown network `facebok` — did you mean `facebook`?"
    )
    x = the_problem(found, "`twitter`")
    assert x.fix == "write `network: x`"


def test_broken_channel_file_is_not_also_an_unknown_channel(workspace: Path) -> None:
    write(workspace, "channels/x-mooc.yaml", "network: [x\n")
    found = errors(workspace)
    assert len(found) == 1 and found[0].file == "channels/x-mooc.yaml"


def test_unknown_key_in_channel_file(workspace: Path) -> None:
    write(
        workspace,
        "channels/meet.yaml",
        """
        network: meet
        acount: {calendar_id: primary}
    """,
    )
    (problem,) = problems(workspace)
    assert str(problem) == (
        "channels/meet.yaml:2:1: unknown key `acount` — did you mean `account`?"
    )


def test_channel_file_name_must_be_an_id(workspace: Path) -> None:
    write(workspace, "channels/my page.yaml", "network: facebook\n")
    (problem,) = problems(workspace)
    assert problem.file == "channels/my page.yaml" and problem.line is None
    assert "channel id `my page`" in problem.message


class _PageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_id: str
    api_version: str = "v21.0"


def _lookup(network: str) -> type[BaseModel] | None:
    return _PageSettings if network == "facebook" else None


def test_account_is_checked_by_the_adapter_settings(workspace: Path) -> None:
    write(
        workspace,
        "channels/facebook-page.yaml",
        """
        network: facebook
        account:
          pageid: "104857600123456"
        options:
          api_version: [21]
        secrets:
          page_token: {env: CM_FACEBOOK_PAGE_TOKEN}
    """,
    )
    found = problems(workspace, settings_lookup=_lookup)
    unknown = the_problem(found, "unknown key `pageid`")
    assert (unknown.line, unknown.column, unknown.fix) == (3, 3, "did you mean `page_id`?")
    assert unknown.message == "unknown key `pageid` in `account`"
    missing = the_problem(found, "has no `page_id:`")
    assert (missing.line, missing.column) == (3, 3)
    wrong = the_problem(found, "`options.api_version`")
    assert (wrong.line, wrong.column) == (5, 16)


def test_adapter_settings_accept_a_good_account(workspace: Path) -> None:
    assert problems(workspace, settings_lookup=_lookup) == []


# -- comments, URLs, templates (issue 15 item 7) -------------------------------------------------

REAL_X_BEARER = ("A" * 21 + "MLheAAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDj"
                 "Rfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F")


def test_a_token_in_a_comment_of_a_channel_file_is_refused(workspace: Path) -> None:
    write(
        workspace,
        "channels/x-mooc.yaml",
        f"""
        network: x
        account:
          username: Course  # the old one was {REAL_X_BEARER}
        secrets:
          # access_token: {FACEBOOK_TOKEN}
          access_token: {{env: CM_X_ACCESS_TOKEN}}
    """,
    )
    found = errors(workspace)
    assert [(p.file, p.line, p.column) for p in found] == [
        ("channels/x-mooc.yaml", 3, 39), ("channels/x-mooc.yaml", 5, 19)]
    assert found[0].message == "a comment holds what looks like an X bearer token"
    assert found[1].message == "a comment holds what looks like a Facebook access token"
    assert all(p.fix.startswith(FIX_START) for p in found)
    text = "\n".join(str(p) for p in found)
    assert REAL_X_BEARER not in text and FACEBOOK_TOKEN not in text


def test_ordinary_comments_and_hash_signs_in_values_pass(workspace: Path) -> None:
    write(workspace, "channels/x-mooc.yaml", """
        # The course's X account: feedback, critique, shared articles.
        network: x
        name: "#MOOC (X)"  # hashtags are not comments inside quotes
        account:
          username: Course
        secrets:
          # OAuth 2.0 user token (cm auth x-mooc obtains and refreshes it).
          access_token: {env: CM_X_ACCESS_TOKEN}
    """)
    assert errors(workspace) == []


@pytest.mark.parametrize("url", ["https://mooc:hunter2-pass@example.org/course",
                                 "http://user:p%40ss@127.0.0.1:8080/"])
def test_credentials_in_a_url_are_refused(workspace: Path, url: str) -> None:
    text = (workspace / "schedules.yaml").read_text()
    write(workspace, "schedules.yaml",
          text.replace('link: "https://example.org/course"', f'link: "{url}"'))
    problem = the_problem(errors(workspace), "a URL with a password")
    assert problem.file == "schedules.yaml" and problem.line == 23
    assert "hunter2" not in str(problem) and "p%40ss" not in str(problem)
    assert secret_kind("https://example.org/a:b@c") is None  # a path, not credentials
    assert secret_kind("https://user@example.org/") is None  # a user name alone


@pytest.mark.parametrize("template", ["templates/teaser.j2", "templates/_macros.j2"])
def test_a_token_typed_into_a_template_is_refused_at_its_line(workspace: Path,
                                                              template: str) -> None:
    path = workspace / template
    path.write_text(path.read_text() + f"\nDM us, the API key is {RANDOM_KEY} !\n")
    lines = path.read_text().splitlines()
    problem = the_problem(errors(workspace), "it would be published as is")
    assert (problem.file, problem.line) == (template, len(lines))
    assert problem.column == lines[-1].index(RANDOM_KEY) + 1
    assert problem.message == ("the template holds what looks like a long random key: it would "
                               "be published as is")
    assert RANDOM_KEY not in str(problem)


def test_credentials_in_a_template_url_are_refused(workspace: Path) -> None:
    (workspace / "templates" / "teaser.x.j2").write_text(
        "{{ course }}: https://admin:s3cret@intranet.example.org/replay\n")
    problem = the_problem(errors(workspace), "a URL with a password")
    assert (problem.file, problem.line, problem.column) == ("templates/teaser.x.j2", 1, 15)


def test_an_x_bearer_token_needs_its_real_shape() -> None:
    assert secret_kind(REAL_X_BEARER) == "an X bearer token"
    assert secret_kind("A" * 10_000_000) is None  # was taken for a token
    assert secret_kind("A" * 10_000_000 + "b1") is None
    assert secret_kind("A" * 30) is None


def test_secrets_deep_in_lists_and_after_containers_are_all_found_in_order(
    workspace: Path,
) -> None:
    # The scan judges short strings without a call and enters only containers: what it skips
    # must be what secret_kind would pass, at any depth, and the order must stay the file's.
    write(
        workspace,
        "schedules.yaml",
        f"""
        timezone: Europe/Paris
        variables:
          nested:
            - plain
            - [short, "ftp://u:pw@h", {{deep: [ya29.x]}}]
            - {{pageToken: [a, b], ok: yes}}
          tokens: [x1, [x2]]
          after: "{FACEBOOK_TOKEN}"
          9: {RANDOM_KEY}
    """,
    )
    found = problems(workspace)
    assert [(p.line, p.column, p.message) for p in found] == [
        (5, 15, "`nested` looks like a URL with a password (user:password@) pasted into the file"),
        (5, 39, "`deep` looks like a Google access token pasted into the file"),
        (6, 19, "`pageToken` holds a secret written in the file"),
        (7, 11, "`tokens` holds a secret written in the file"),
        (8, 10, "`after` looks like a Facebook access token pasted into the file"),
        (9, 6, "`9` looks like a long random key pasted into the file"),
    ]
