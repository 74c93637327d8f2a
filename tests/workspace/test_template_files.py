"""Template files that are not text are refused at ``cm check`` with their line and column
(they failed only when rendered, with the decoder's words and no line)."""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.workspace.template_files import READ_LIMIT
from tests.workspace.conftest import errors


def test_a_binary_template_is_refused_at_its_first_nul_byte(workspace: Path) -> None:
    (workspace / "templates" / "teaser.x.j2").write_bytes(b"PNG\n\x89\x00\x01\x02")
    (problem,) = errors(workspace)
    assert (problem.file, problem.line, problem.column) == ("templates/teaser.x.j2", 2, 2)
    assert problem.message == "is a binary file, not a text template"
    assert "save it as text" in problem.fix


def test_a_template_in_another_encoding_is_refused_where_it_stops_being_utf8(
        workspace: Path) -> None:
    (workspace / "templates" / "live" / "reminder.x.j2").write_bytes(
        "{{ course }}\nLe cours commence bientôt\n".encode("latin-1"))
    (problem,) = errors(workspace)
    assert (problem.file, problem.line, problem.column) == ("templates/live/reminder.x.j2", 2, 24)
    assert (problem.message, problem.fix) == ("is not UTF-8 text",
                                             "save the file with the UTF-8 encoding")


def test_a_partial_is_checked_too(workspace: Path) -> None:
    (workspace / "templates" / "_macros.j2").write_bytes(b"\xff\xfe{\x00")
    (problem,) = errors(workspace)
    assert problem.file == "templates/_macros.j2" and problem.line == 1


def test_utf8_text_with_a_bom_and_a_character_cut_by_the_read_limit_pass(
        workspace: Path) -> None:
    (workspace / "templates" / "teaser.x.j2").write_bytes("\ufeff{{ course }} — été\n".encode())
    big = workspace / "templates" / "_long.j2"  # é straddles the limit: not an encoding error
    big.write_bytes(b"a" * (READ_LIMIT - 1) + "é".encode())
    assert errors(workspace) == []
