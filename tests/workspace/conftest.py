"""Workspaces written by the tests: the valid fixture copied to tmp_path, then edited."""

from __future__ import annotations

import shutil
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace.loader import read_workspace

FIXTURE = Path(__file__).parent / "fixtures" / "valid"
NOW = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(FIXTURE, root)
    return root


def write(root: Path, relative: str, text: str) -> None:
    """Write a file of the workspace; the text is dedented (line 1 is the first line)."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def problems(root: Path, **kwargs: object) -> list[Problem]:
    kwargs.setdefault("settings_lookup", None)
    return read_workspace(root, now=NOW, **kwargs).problems  # type: ignore[arg-type]


def errors(root: Path, **kwargs: object) -> list[Problem]:
    return [p for p in problems(root, **kwargs) if p.severity is Severity.ERROR]


def the_problem(found: list[Problem], fragment: str) -> Problem:
    """The one problem whose message contains ``fragment`` (fails listing them all otherwise)."""
    matching = [p for p in found if fragment in p.message]
    assert len(matching) == 1, "\n".join(str(p) for p in found)
    return matching[0]
