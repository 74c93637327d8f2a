"""Reading one YAML file of the workspace while remembering where every key and value was.

ruamel.yaml's round-trip loader keeps line/column data on each mapping and sequence (``.lc``).
``YamlDocument`` holds both the plain Python data (what pydantic validates) and that tree, so any
path of keys and indexes (a pydantic ``loc``) maps back to ``file:line:column``. Lines and columns
given out are 1-based, as editors show them.

The data is read with libyaml when the file allows it (``yaml_plain``: 30 times faster), and the
tree only when a position or the tree itself is asked for, from the same text: a file without
problems to place never pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from cm_toolkit.errors import Problem
from cm_toolkit.workspace.yaml_plain import MARK_LINE, Mark, PositionNode, plain_data, positions

PathElement = str | int
Position = tuple[int | None, int | None]


_UNREAD: Any = object()  # YamlDocument.parsed_tree before ruamel has read the text


@dataclass(frozen=True)
class YamlDocument:
    """One parsed file: ``data`` is plain Python, ``tree`` is ruamel's, for positions."""

    file: str  # workspace-relative, with forward slashes
    data: Any
    parsed_tree: Any = field(default=_UNREAD, repr=False)  # ruamel's, once read (see ``tree``)
    text: str = ""  # the source, for what the tree does not keep (comments: secret_scan)
    marks: Any = field(default=_UNREAD, repr=False)  # libyaml's positions, once read

    def _marks(self) -> PositionNode:
        """libyaml's positions of ``text`` (``yaml_plain.positions``), read on first use."""
        if self.marks is _UNREAD:
            object.__setattr__(self, "marks", positions(self.text, _WorkspaceConstructor,
                                                        to_plain))
        return cast(PositionNode, self.marks)

    @property
    def tree(self) -> Any:
        """ruamel's round-trip tree of ``text``, read on first use (libyaml read the data)."""
        if self.parsed_tree is _UNREAD:
            try:
                tree = _round_trip().load(self.text)
            except Exception:  # noqa: BLE001 - never expected: libyaml read the same text
                tree = CommentedMap()
            object.__setattr__(self, "parsed_tree", tree)
        return self.parsed_tree

    def position(self, path: Sequence[PathElement], *, key: bool = False) -> Position:
        """Line and column of the value at ``path`` (of its key when ``key``), 1-based.

        A path that goes further than the file (a missing key) stops at the deepest node that
        exists: a "missing field" problem then points at the mapping that lacks it.

        A file libyaml read is placed with libyaml's marks (``yaml_plain.positions``, many times
        faster than ruamel's tree): the same positions, except an empty value's (ruamel's).
        """
        if self.parsed_tree is _UNREAD:
            marks = self._marks()
            placed = _position_in(marks, path, key) if marks is not None else None
            if placed is not None:
                return placed
        node = self.tree
        found: tuple[int, int] | None = _own_position(node) or (0, 0)
        for index, element in enumerate(path):
            last = index == len(path) - 1
            if isinstance(node, CommentedMap) and _has_key(node, element):
                child = node[element]
                try:
                    if last and key:
                        found = node.lc.key(element)
                    else:
                        found = _own_position(child) or node.lc.value(element)
                except (KeyError, TypeError, AttributeError):
                    # Keys merged in with "<<:" have no position of their own.
                    pass
                node = child
            elif isinstance(node, CommentedSeq) and isinstance(element, int):
                if not 0 <= element < len(node):
                    break
                child = node[element]
                try:
                    found = _own_position(child) or node.lc.item(element)
                except (KeyError, TypeError, AttributeError):
                    pass
                node = child
            else:
                break
        if found is None:
            return (None, None)
        return (found[0] + 1, found[1] + 1)


def _position_in(
    marks: PositionNode, path: Sequence[PathElement], key: bool
) -> Position | None:
    """``YamlDocument.position`` walked in libyaml's marks: the same steps as in ruamel's tree.
    None for an empty scalar's position (ruamel's tree places it)."""
    node = marks
    found: Mark = node[0] if node is not None else 0
    for index, element in enumerate(path):
        if node is None:
            break
        children = node[1]
        if type(children) is dict:
            try:
                entry = children.get(element)
            except TypeError:  # an unhashable key written by the user
                break
            if entry is None:
                break
            key_mark, value_mark, child = entry
            if index == len(path) - 1 and key:
                found = key_mark
            else:
                found = child[0] if child is not None else value_mark
            node = child
        elif isinstance(element, int):
            if not 0 <= element < len(children):
                break
            found, node = children[element]
        else:
            break
    if found is None:
        return None
    line, column = divmod(found, MARK_LINE)
    return (line + 1, column + 1)


def _has_key(node: CommentedMap, element: PathElement) -> bool:
    try:
        return element in node
    except TypeError:  # an unhashable key written by the user
        return False


def _own_position(node: Any) -> tuple[int, int] | None:
    """Where a mapping or sequence starts (its first key or item); None for scalars."""
    if isinstance(node, (CommentedMap, CommentedSeq)):
        line, col = node.lc.line, node.lc.col
        if line is not None and col is not None:
            return (line, col)
    return None


MAX_VALUES = 200_000
"""Aliases that add more values than this are refused (an alias "bomb" would hang). What the file
writes out itself is not counted: a plan of 100,000 explicit posts is not a bomb."""


class _TooLarge(Exception):
    pass


def to_plain(node: Any) -> Any:
    """ruamel's round-trip objects as plain dict/list/str/int/float/bool/date/None.

    Aliases (``*name``) are expanded into copies; when the copies add more than ``MAX_VALUES``
    values, ``_TooLarge``.
    """
    return _Plain().convert(node)


class _Plain:
    def __init__(self) -> None:
        self.added = 0  # values converted a second time or more: what aliases add
        self.seen: set[int] = set()  # mappings and sequences converted once (the tree holds them)
        self.aliased = 0  # > 0 while converting a copy

    def convert(self, node: Any) -> Any:
        if self.aliased:
            self.added += 1
            if self.added > MAX_VALUES:
                raise _TooLarge
        if isinstance(node, (dict, list)):
            # An alias is the same object met again (a scalar costs one value: not counted).
            copy = id(node) in self.seen
            self.seen.add(id(node))
            self.aliased += copy
            try:
                if isinstance(node, dict):
                    return {self.key(k): self.convert(v) for k, v in node.items()}
                return [self.convert(item) for item in node]
            finally:
                self.aliased -= copy
        if isinstance(node, TaggedScalar):
            return str(node.value)
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, str):
            return str(node)
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, date):
            return node
        return str(node)

    def key(self, key: Any) -> Any:
        # Keys must stay hashable: a YAML "? [a, b]" key becomes its text.
        plain = self.convert(key)
        if isinstance(plain, (str, int, float, bool, date)) or plain is None:
            return plain
        return str(plain)


class _WorkspaceConstructor(RoundTripConstructor):
    """Round-trip constructor that leaves dates and times as text.

    ruamel would build them itself and fail on ``2027-02-30 10:00:00`` with no position; as text
    they reach ``datetimes.parse_datetime``, whose problems point at the value.
    """


_WorkspaceConstructor.add_constructor(
    "tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str
)


def read_yaml(
    path: Path, file: str, *, libyaml: bool = True
) -> tuple[YamlDocument | None, list[Problem]]:
    """Parse ``path`` (shown as ``file`` in problems). A syntax error is a problem, not a crash.

    The data comes from libyaml when it can read the file exactly as ruamel would
    (``yaml_plain``); ``libyaml=False`` reads with ruamel alone (the two are compared by the
    tests: same data, same problems, same positions)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [
            Problem(
                file, None, None, f"cannot be read ({exc.strerror})", "check the file's permissions"
            )
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Problem(
                file, line, column, "is not UTF-8 text", "save the file with the UTF-8 encoding"
            )
        ]
    read, data = plain_data(text, _WorkspaceConstructor, to_plain) if libyaml else (False, None)
    if read:
        return YamlDocument(file, data, _UNREAD, text), []
    try:
        tree = _round_trip().load(text)
    except MarkedYAMLError as exc:
        return None, [_syntax_problem(file, exc)]
    except YAMLError as exc:
        return None, [
            Problem(
                file,
                None,
                None,
                f"is not valid YAML: {_first_line(exc)}",
                "fix the YAML syntax (indentation, colons, quotes)",
            )
        ]
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, RecursionError) as exc:
        # The parser's own internals can trip on garbage input; the user still gets a problem.
        return None, [
            Problem(
                file,
                None,
                None,
                f"is not valid YAML ({type(exc).__name__})",
                "fix the YAML syntax (indentation, colons, quotes)",
            )
        ]
    try:
        data = to_plain(tree)
    except _TooLarge:
        return None, [
            Problem(
                file,
                None,
                None,
                f"its aliases (*name) add more than {MAX_VALUES} values once expanded",
                "use fewer aliases, or split the file",
            )
        ]
    return YamlDocument(file, data, tree, text), []


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _WorkspaceConstructor
    return yaml


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["syntax error"])[0]


def _syntax_problem(file: str, exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    what = " ".join(part for part in (exc.context, exc.problem) if part) or "syntax error"
    fix = "fix the YAML syntax (indentation, colons, quotes)"
    if "duplicate key" in what:
        fix = "keep only one of the two keys"
    elif "tab" in what.lower():
        fix = "indent with spaces, not tabs"
    return Problem(file, line, column, f"is not valid YAML: {what}", fix)
