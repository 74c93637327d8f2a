"""The template files as files, at ``cm check``: text, and no secret typed into them.

A template that is not text (a binary file, another encoding) failed only when rendered, with
the decoder's words and no line; a token typed into one is published as is. Each ``.j2`` file
under ``templates/`` (partials too: they are published inside others) is read once, bounded,
and each finding is a problem at its line and column.
"""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.errors import Problem
from cm_toolkit.workspace.secret_scan import find_secrets_in_text
from cm_toolkit.workspace.template_names import TEMPLATE_SUFFIX

READ_LIMIT = 1_000_000
"""Bytes of a template read for these checks (a template is a few hundred)."""


def check_template_files(root: Path) -> list[Problem]:
    folder = root / "templates"
    if not folder.is_dir():
        return []
    problems: list[Problem] = []
    for path in sorted(folder.rglob(f"*{TEMPLATE_SUFFIX}")):
        if path.is_file():
            problems += _check_file(path, path.relative_to(root).as_posix())
    return problems


def _check_file(path: Path, file: str) -> list[Problem]:
    try:
        with path.open("rb") as opened:
            raw = opened.read(READ_LIMIT)
    except OSError as exc:
        return [Problem(file, None, None, f"cannot be read ({exc.strerror})",
                        "check the file's permissions")]
    nul = raw.find(b"\0")
    if nul >= 0:
        line, column = _position(raw, nul)
        return [Problem(file, line, column, "is a binary file, not a text template",
                        "a template is UTF-8 text: save it as text, or move it out of "
                        "templates/")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(raw) < READ_LIMIT or exc.start < len(raw) - 3:
            line, column = _position(raw, exc.start)
            return [Problem(file, line, column, "is not UTF-8 text",
                            "save the file with the UTF-8 encoding")]
        text = raw[:exc.start].decode("utf-8-sig")  # a character cut by the read limit
    return find_secrets_in_text(file, text, comments_only=False)


def _position(raw: bytes, index: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of ``raw[index]``."""
    return raw.count(b"\n", 0, index) + 1, index - (raw.rfind(b"\n", 0, index) + 1) + 1
