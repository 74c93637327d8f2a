"""The plain data of a YAML file, read with libyaml (C) when the file allows it.

ruamel.yaml's round-trip parser, which keeps the line of every key for ``file:line`` problems,
is pure Python: about 1 ms per post of a plan written out in full (100 s for 100,000 posts).
``plain_data(text)`` reads the same data with libyaml's parser (PyYAML's C extension) and builds
the plain dicts and lists from its events; ``YamlDocument`` then builds ruamel's positioned tree
only when a position is asked for (a problem to place).

The data must be exactly what the round-trip reader gives (``yaml_source.to_plain``), so this
path reads only what it is sure of and answers ``None`` for the rest, which then goes through
ruamel as before (its own error messages, positions and alias-bomb guard included):

- any syntax error libyaml reports, a ``%YAML``/``%TAG`` directive, several documents or none;
- an alias, a merge key (``<<``), an explicit tag (``!!str``, ``!thing``), a key that is not a
  scalar, a duplicate key;
- a NEL, LINE SEPARATOR or PARAGRAPH SEPARATOR character (line breaks for YAML 1.1 and libyaml,
  not for YAML 1.2), or a tab (libyaml takes ``v<TAB>ersion: 1`` as a key, ruamel refuses it).

A plain (unquoted) scalar gets its type from ruamel's own YAML 1.2 resolver and constructor (a
value is resolved once per file, then remembered), so ``yes`` stays text, ``0o17`` is 15 and a
date stays text, as the round-trip reader leaves them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.nodes import ScalarNode

try:  # PyYAML built with libyaml; without it every file goes through ruamel
    from yaml import events as _events
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - the wheels of PyYAML ship the C extension
    CParser = None

LIBYAML = CParser is not None
_LEFT_TO_RUAMEL = ("\t", "\x85", "\u2028", "\u2029")
_TYPED = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)


class _Unsure(Exception):
    """The file holds something this reader leaves to ruamel."""


class _PlainScalars:
    """Type of plain scalars, with ruamel's YAML 1.2 rules (``constructor`` as the round-trip
    reader's). Most plain scalars start with a letter that no rule starts with: text at once."""

    def __init__(
        self, constructor: type[RoundTripConstructor], to_plain: Callable[[Any], Any]
    ) -> None:
        self.to_plain = to_plain
        yaml = YAML(typ="rt")
        yaml.Constructor = constructor
        self.resolver = yaml.resolver
        self.constructor = yaml.constructor
        self.firsts = frozenset(self.resolver.versioned_resolver)
        self.known: dict[str, Any] = {}

    def value(self, text: str) -> Any:
        if text and text[0] not in self.firsts:
            return text
        known = self.known
        if text in known:
            return known[text]
        tag = self.resolver.resolve(ScalarNode, text, (True, False))
        if str(tag) not in _TYPED:  # merge key, "=" (value), ...
            raise _Unsure
        node = ScalarNode(tag, text, style=None)
        try:
            plain = self.to_plain(self.constructor.construct_object(node, deep=True))
        finally:
            self.constructor.constructed_objects.pop(node, None)
        known[text] = plain
        return plain


def plain_data(
    text: str, constructor: type[RoundTripConstructor], to_plain: Callable[[Any], Any]
) -> tuple[bool, Any]:
    """(True, the data) when libyaml could read ``text`` the way ruamel would; (False, None)
    when the file is left to ruamel (see the module docstring). ``constructor`` and ``to_plain``
    are the round-trip reader's (``yaml_source``), which gives the types of plain scalars."""
    if CParser is None or any(c in text for c in _LEFT_TO_RUAMEL):
        return False, None
    try:
        return True, _build(CParser(text), _PlainScalars(constructor, to_plain))
    except _Unsure:
        return False, None
    except Exception:  # noqa: BLE001 - libyaml's errors: ruamel reports them its own way
        return False, None


_SCALAR = _events.ScalarEvent if LIBYAML else None
_MAP_START = _events.MappingStartEvent if LIBYAML else None
_MAP_END = _events.MappingEndEvent if LIBYAML else None
_SEQ_START = _events.SequenceStartEvent if LIBYAML else None
_SEQ_END = _events.SequenceEndEvent if LIBYAML else None
_DOC_START = _events.DocumentStartEvent if LIBYAML else None
_DOC_END = _events.DocumentEndEvent if LIBYAML else None
_STREAM_START = _events.StreamStartEvent if LIBYAML else None
_STREAM_END = _events.StreamEndEvent if LIBYAML else None


def _build(parser: Any, scalars: _PlainScalars) -> Any:
    """The document's plain data from libyaml's events; ``_Unsure`` for what ruamel must read.

    One loop over about 20 events a post: the state is the open container, the key waiting for
    its value (in a mapping), and a stack of the enclosing ones.
    """
    get = parser.get_event
    if type(get()) is not _STREAM_START:
        raise _Unsure
    start = get()
    if type(start) is not _DOC_START or start.version is not None or start.tags:
        raise _Unsure
    stack: list[tuple[Any, Any]] = []
    current: Any = None  # the open dict or list; None at the top
    key: Any = _NO_KEY
    root: Any = _NO_KEY
    while True:
        event = get()
        kind = type(event)
        if kind is _SCALAR:
            if event.anchor is not None or event.tag is not None:
                raise _Unsure
            value = scalars.value(event.value) if event.implicit[0] else event.value
        elif kind is _MAP_START or kind is _SEQ_START:
            if event.anchor is not None or event.tag is not None:
                raise _Unsure
            if current is not None and type(current) is dict and key is _NO_KEY:
                raise _Unsure  # a mapping or sequence as a key
            value = {} if kind is _MAP_START else []
            stack.append((current, key))
            current, key = value, _NO_KEY
            continue
        elif kind is _MAP_END or kind is _SEQ_END:
            value = current
            current, key = stack.pop()
        elif kind is _DOC_END:
            break
        else:  # an alias (or anything unforeseen)
            raise _Unsure
        # ``value`` is complete: it goes where the open container wants it.
        if current is None:
            root = value
        elif type(current) is list:
            current.append(value)
        elif key is _NO_KEY:
            if value in current or type(value) not in _KEY_TYPES:
                raise _Unsure  # a duplicate key: ruamel reports it
            key = value
        else:
            current[key] = value
            key = _NO_KEY
    if type(get()) is not _STREAM_END or root is _NO_KEY:
        raise _Unsure  # several documents, or none
    return root


_NO_KEY: Any = object()
_KEY_TYPES = frozenset({str, int, float, bool, type(None)})


# -- positions ---------------------------------------------------------------------------------
#
# A problem to place (``file:line:column``) needs where each key and value was written. ruamel's
# round-trip tree keeps that, at ruamel's price (80 s and 1.8 GiB for 100,000 posts). libyaml's
# events carry the same marks (0-based line and column of each scalar's, mapping's and
# sequence's start): ``positions`` reads them in a second pass over the same text, keeping only
# what ``YamlDocument.position`` asks ruamel's tree, in the same shape (a start is a ``Mark``):
#
# - a mapping: ``(start, {key: (key's start, value's start, value's node)})``;
# - a sequence: ``(start, [(item's start, item's node)])``;
# - a scalar: None (its position is its key's value or its item's).
#
# An empty scalar (``key:`` with nothing after it) has no mark: ruamel places it at the token
# after it, or at the colon when a comment follows, which libyaml's events do not tell apart;
# such a position is asked of ruamel's tree (``YamlDocument.position``).

Mark = int | None  # line * MARK_LINE + column: one int, not a tuple of two (100,000s of them)
MARK_LINE = 1 << 32
PositionNode = tuple[Mark, Any] | None


def positions(
    text: str, constructor: type[RoundTripConstructor], to_plain: Callable[[Any], Any]
) -> PositionNode:
    """The positions of a file that ``plain_data`` read (None if libyaml cannot read it now)."""
    if CParser is None:
        return None
    try:
        return _marks(CParser(text), _PlainScalars(constructor, to_plain))
    except Exception:  # noqa: BLE001 - plain_data read the same text: never expected
        return None


def _marks(parser: Any, scalars: _PlainScalars) -> PositionNode:
    """``_build``'s loop, keeping marks instead of values (keys are typed the same way)."""
    get = parser.get_event
    get()  # the stream and document starts (``plain_data`` checked them)
    get()
    stack: list[tuple[Any, Any, Any]] = []
    current: Any = None  # the open mapping's dict or sequence's list of the position tree
    key: Any = _NO_KEY
    key_mark: Mark = 0
    root: PositionNode = None
    while True:
        event = get()
        kind = type(event)
        start: Any = event.start_mark if kind is not _DOC_END else None
        if kind is _SCALAR:
            value = scalars.value(event.value) if event.implicit[0] else event.value
            node: PositionNode = None
            if not event.value and not event.style and start.index == event.end_mark.index:
                start = None  # an empty scalar (see above)
        elif kind is _MAP_START or kind is _SEQ_START:
            stack.append((current, key, key_mark))
            current = {} if kind is _MAP_START else []
            key = _NO_KEY
            stack.append((start.line * MARK_LINE + start.column, None, None))
            continue
        elif kind is _MAP_END or kind is _SEQ_END:
            own, _, _ = stack.pop()
            node = (own, current)
            value = None
            current, key, key_mark = stack.pop()
        elif kind is _DOC_END:
            break
        else:
            return None
        mark = node[0] if node is not None else (
            start.line * MARK_LINE + start.column if start is not None else None)
        if current is None:
            root = node
        elif type(current) is list:
            current.append((mark, node))
        elif key is _NO_KEY:
            key, key_mark = value, mark
        else:
            current[key] = (key_mark, mark, node)
            key = _NO_KEY
    return root
