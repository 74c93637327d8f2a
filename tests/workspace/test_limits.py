"""Ids, names and links are refused at ``cm check`` with file:line when the ledger or the
network could not take them (issue 15 item 7): an id longer than its ledger column (on
PostgreSQL it stopped ``cm apply`` with a traceback), a link that is not an http(s) URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.ledger import models as ledger_models
from cm_toolkit.workspace import models
from tests.workspace.conftest import errors, the_problem, write
from tests.workspace.test_time_rules import HEAD

AT = "            at: 2027-02-08 10:00\n"
SCHEDULE = HEAD + AT
# (tests/workspace/test_time_rules.py's HEAD) the post's id is on line 9 at column 13, its
# template on line 10; a line added after SCHEDULE is line 13, a key at column 9


def test_the_limits_are_the_ledger_column_sizes() -> None:
    assert ledger_models.Campaign.__table__.c.id.type.length == models.ID_MAX_LENGTH
    assert ledger_models.LiveSession.__table__.c.id.type.length == models.ID_MAX_LENGTH
    assert ledger_models.Post.__table__.c.post_id.type.length == models.ID_MAX_LENGTH
    assert ledger_models.Delivery.__table__.c.channel_id.type.length == models.ID_MAX_LENGTH
    assert ledger_models.Post.__table__.c.template.type.length == models.TEMPLATE_NAME_MAX_LENGTH
    assert ledger_models.Campaign.__table__.c.name.type.length == models.NAME_MAX_LENGTH
    assert ledger_models.LiveSession.__table__.c.title.type.length == models.NAME_MAX_LENGTH
    # a session's items are keyed "<session>/announce/<n>": the key column has room for it
    assert ledger_models.Post.__table__.c.key.type.length >= models.ID_MAX_LENGTH + 20


def test_a_ten_thousand_character_post_id_is_refused_at_its_line(workspace: Path) -> None:
    write(workspace, "schedules.yaml", SCHEDULE.replace("id: p1", "id: " + "p" * 10_000))
    problem = the_problem(errors(workspace), "characters long")
    assert (problem.file, problem.line, problem.column) == ("schedules.yaml", 9, 13)
    assert "10,000 characters long, more than the 200 the ledger keeps" in problem.message
    assert "p" * 100 not in str(problem)  # the value is not repeated whole
    assert problem.fix == "shorten it to at most 200 characters"


def test_an_id_at_the_limit_passes(workspace: Path) -> None:
    write(workspace, "schedules.yaml", SCHEDULE.replace("id: p1", "id: " + "p" * 200))
    assert errors(workspace) == []


@pytest.mark.parametrize(("old", "new", "line"), [
    ("id: c1", "id: " + "c" * 201, 3),
    ("name: C1", "name: " + "n" * 501, 4),
    ("template: teaser", "template: " + "t" * 301, 10),
])
def test_campaign_ids_names_and_template_names_are_bounded(
        workspace: Path, old: str, new: str, line: int) -> None:
    write(workspace, "schedules.yaml", SCHEDULE.replace(old, new))
    assert the_problem(errors(workspace), "characters long").line == line


def test_a_channel_file_name_too_long_for_the_ledger(workspace: Path) -> None:
    name = "x" * 201
    (workspace / "channels" / f"{name}.yaml").write_text("network: x\n")
    problem = the_problem(errors(workspace), "channel id of 201 characters")
    assert problem.file == f"channels/{name}.yaml" and "rename the file" in problem.fix


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "not a url", "ftp://example.org/f", "https://", "http://[oops",
    "mailto:team@example.org",
])
def test_a_link_that_is_not_a_web_address_is_refused_at_its_line(workspace: Path,
                                                                 link: str) -> None:
    write(workspace, "schedules.yaml", SCHEDULE + f'            link: "{link}"\n')
    problem = the_problem(errors(workspace), "must be a web address")
    assert (problem.file, problem.line, problem.column) == ("schedules.yaml", 13, 15)
    assert problem.fix == "for example `link: https://example.org/course`"


def test_an_override_link_is_checked_too(workspace: Path) -> None:
    write(workspace, "schedules.yaml", SCHEDULE + "            overrides:\n"
          "              x-mooc: {link: \"javascript:void(0)\"}\n")
    assert the_problem(errors(workspace), "must be a web address").line == 14


@pytest.mark.parametrize("link", ["https://example.org/course?utm_source=x",
                                  "http://127.0.0.1:8000/", "HTTPS://EXAMPLE.ORG"])
def test_web_links_pass(workspace: Path, link: str) -> None:
    write(workspace, "schedules.yaml", SCHEDULE + f'            link: "{link}"\n')
    assert errors(workspace) == []
