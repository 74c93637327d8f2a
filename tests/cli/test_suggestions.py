"""Every command a message suggests exists, with the options it names.

The suggestions are read from the package: commands in backticks (`cm auth x-mooc`), commands
in any ``fix=`` of an error, and what ``cm review`` says to do for each state. Each one's
command path must be a command of the app, its ``--options`` must be options of that command,
and ``cm COMMAND --help`` must work.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer

import cm_toolkit
from cm_toolkit.cli import _register_commands, app, main
from cm_toolkit.ledger.decisions import ReviewItem
from cm_toolkit.ledger.states import DeliveryState

PACKAGE = Path(cm_toolkit.__file__).parent
BACKTICKED = re.compile(r"`(cm [^`]+)`")
IN_TEXT = re.compile(r"(?<![\w/.-])(cm [a-z][^.;,()\n]*)")


def _texts_of_fixes(tree: ast.AST) -> list[str]:
    """The literal parts of every ``fix=...`` keyword argument."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "fix":
            parts = [n.value for n in ast.walk(node.value)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            found.append("".join(parts))
    return found


def _suggestions() -> list[str]:
    """Backticked commands and what cm review says to do: each must be a command."""
    found: set[str] = set()
    for source in sorted(PACKAGE.rglob("*.py")):
        if "sandbox" in source.relative_to(PACKAGE).parts:
            continue  # the emulators quote the networks, not cm
        found.update(BACKTICKED.findall(source.read_text(encoding="utf-8")))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    for state in DeliveryState:
        item = ReviewItem(7, "post", "x-mooc", "x", state, now, 1, None, None, None, None)
        found.update(IN_TEXT.findall(item.what_to_do))
    return sorted(found)


def _in_fixes() -> list[str]:
    """`cm ...` written in the prose of a fix ("run cm apply first"): checked when the word
    after cm is a command ("run cm in the workspace folder" is prose)."""
    found: set[str] = set()
    for source in sorted(PACKAGE.rglob("*.py")):
        for fix in _texts_of_fixes(ast.parse(source.read_text(encoding="utf-8"))):
            found.update(IN_TEXT.findall(fix.replace("`", "")))
    return sorted(s for s in found if _resolve(s)[0])


def _resolve(text: str) -> tuple[list[str], list[str]]:
    """(command path, options named) of a suggested command line."""
    _register_commands(everything=True)
    command = typer.main.get_command(app)
    words = text.replace("[", " ").replace("]", " ").split()[1:]
    path: list[str] = []
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words[0]]  # type: ignore[attr-defined]
        path.append(words.pop(0))
    options = []
    for word in words:  # options, placeholders (N, URL, {id}, 3) and | until the prose starts
        if word.startswith("--"):
            options.append(word.split("=")[0])
        elif not (word == "|" or word.isupper() or word[0] in "{0123456789'\"-"
                  or re.fullmatch(r"[a-z0-9][\w.-]*", word) and path and not
                  hasattr(command, "commands") and word == words[0]):
            break
    return path, options


SUGGESTED = _suggestions()
IN_FIXES = _in_fixes()


def test_messages_suggest_commands() -> None:
    # the scan must find what it is meant to check, or this file tests nothing
    assert any(s.startswith("cm retry") for s in SUGGESTED)
    assert any(s.startswith("cm resolve") for s in SUGGESTED)
    assert any(s.startswith("cm auth") for s in SUGGESTED)
    assert any(s.startswith("cm apply") for s in IN_FIXES)


@pytest.mark.parametrize("suggestion", sorted(set(SUGGESTED) | set(IN_FIXES)))
def test_a_suggested_command_exists(suggestion: str, capsys: pytest.CaptureFixture[str]) -> None:
    path, options = _resolve(suggestion)
    assert path, f"{suggestion!r}: no such command"
    assert main([*path, "--help"]) == 0, suggestion
    shown = capsys.readouterr().out
    for option in options:
        assert option in shown, f"{suggestion!r}: `cm {' '.join(path)}` has no {option}"
