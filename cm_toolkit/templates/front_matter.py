"""Post options declared at the top of a template, in a YAML front matter block.

    ---
    title: "Live : {{ session.title }}"
    link: "{{ session.link }}"
    media: [assets/visuel-module-1.png]
    thread: true
    ---
    Le texte du post...

The block must start on the first line with ``---`` and end with the next line that is ``---``.
Keys: ``title``, ``description``, ``link``, ``media`` (a path or a list of paths), ``thread``.
String values are themselves templates, rendered with the same context as the body.
Jinja never sees the block: ``blank_front_matter`` replaces it with empty lines so that line
numbers in error messages are the file's.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from cm_toolkit.errors import Problem

OPTION_KEYS = ("title", "description", "link", "media", "thread")
_FENCE = "---"


@dataclass(frozen=True)
class TemplateOptions:
    """The options a template file declares. ``lines`` maps each key to its line in the file."""

    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def _front_matter_end(lines: list[str]) -> int | None:
    """Index of the closing ``---`` line, or None when the file has no front matter."""
    if not lines or lines[0].rstrip() != _FENCE:
        return None
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _FENCE:
            return index
    return None


def blank_front_matter(source: str) -> str:
    """``source`` with its front matter replaced by as many empty lines."""
    lines = source.split("\n")
    end = _front_matter_end(lines)
    if end is None:
        return source
    return "\n" * (end + 1) + "\n".join(lines[end + 1 :])


def read_options(source: str, file: str) -> TemplateOptions:
    """Parse the front matter of ``source`` (the text of template ``file``).

    Raises ``FrontMatterError`` (its ``problems`` say file:line) for bad YAML, or with every
    unknown key and value of the wrong type.
    """
    lines = source.split("\n")
    end = _front_matter_end(lines)
    if end is None:
        if lines and lines[0].rstrip() == _FENCE:
            raise FrontMatterError(
                Problem(file, 1, 1, "the front matter opened with --- is never closed",
                        "add a line with --- after the options")
            )
        return TemplateOptions()
    block = "\n".join(lines[1:end])
    try:
        data = YAML(typ="rt").load(block) if block.strip() else {}
    except (MarkedYAMLError, YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 2
        raise FrontMatterError(
            Problem(file, line, None, f"the front matter is not valid YAML: {exc}",
                    "write one 'key: value' per line between the --- lines")
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError(
            Problem(file, 2, 1, "the front matter must be 'key: value' lines",
                    f"keys: {', '.join(OPTION_KEYS)}")
        )
    values: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    problems: list[Problem] = []
    for key, value in data.items():
        # ruamel keeps each key's 0-based line inside the block; +2 for the opening fence.
        position = data.lc.key(key) if hasattr(data, "lc") else (0, 0)
        line = int(position[0]) + 2
        key_lines[str(key)] = line
        try:
            values[str(key)] = _checked(str(key), value, file, line)
        except FrontMatterError as error:  # every option is checked: all problems at once
            problems += error.problems
    if problems:
        raise FrontMatterError(*problems)
    return TemplateOptions(values, key_lines)


def _checked(key: str, value: Any, file: str, line: int) -> Any:
    if key not in OPTION_KEYS:
        close = difflib.get_close_matches(key, OPTION_KEYS, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"keys: {', '.join(OPTION_KEYS)}"
        raise FrontMatterError(Problem(file, line, 1, f"unknown option '{key}'", fix))
    if key == "thread":
        if not isinstance(value, bool):
            raise FrontMatterError(
                Problem(file, line, 1, "'thread' must be true or false", "write thread: true")
            )
        return value
    if key == "media":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise FrontMatterError(
                Problem(file, line, 1, "'media' must be a path or a list of paths",
                        "write media: [assets/image.png]")
            )
        return [str(i) for i in items]
    if value is None:
        return None
    if not isinstance(value, (str, int, float)):
        raise FrontMatterError(
            Problem(file, line, 1, f"'{key}' must be a text", f'write {key}: "..."')
        )
    return str(value)


class FrontMatterError(ValueError):
    """Front matter problems (every wrong option of the block); ``problem`` is the first."""

    def __init__(self, problem: Problem, *more: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem
        self.problems = (problem, *more)
