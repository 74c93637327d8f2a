"""Graph's node specs and its field-expansion syntax, as the emulator validates requests.

The specs are an excerpt of Meta's Graph API node specs (``cm_toolkit/sandbox/specs/graph/``).
A field name or POST parameter the spec does not list is answered with Graph's code 100, as the
real API does; a ``fields`` value Graph cannot parse gets its code 2500 "Syntax error".

``parse_fields("shares,reactions.summary(true).limit(0),comments{message}")`` gives one
``FieldRequest`` per top-level field, with its modifiers and sub-fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "graph"

# Parameters every Graph call accepts besides the endpoint's own.
COMMON_PARAMS = frozenset(
    {
        "access_token",
        "appsecret_proof",
        "format",
        "method",
        "pretty",
        "suppress_http_code",
        "locale",
        "debug",
        "fields",
        "transport",
    }
)


@dataclass(frozen=True)
class FieldRequest:
    """One requested field: ``name``, its ``.modifier(value)`` chain and ``{sub,fields}``."""

    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    subfields: tuple[FieldRequest, ...] = ()

    def flag(self, modifier: str) -> bool:
        return self.modifiers.get(modifier, "").lower() in ("true", "1", "total_count")

    def limit(self, default: int) -> int:
        value = self.modifiers.get("limit", "")
        return int(value) if value.isdigit() else default


class FieldSyntaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_fields(text: str) -> list[FieldRequest]:
    """Parse Graph's ``fields`` syntax; raises ``FieldSyntaxError`` at the first bad character."""
    requests, _ = _parse_list(text, 0, closing=None)
    return requests


def _parse_list(text: str, pos: int, closing: str | None) -> tuple[list[FieldRequest], int]:
    items: list[FieldRequest] = []
    while True:
        while pos < len(text) and text[pos] == " ":
            pos += 1
        match = _NAME.match(text, pos)
        if match is None:
            found = text[pos] if pos < len(text) else "end of string"
            raise FieldSyntaxError(f'Expected field name instead of "{found}".', pos)
        name, pos = match.group(), match.end()
        modifiers: dict[str, str] = {}
        subfields: tuple[FieldRequest, ...] = ()
        while pos < len(text) and text[pos] in ".{":
            if text[pos] == ".":
                mod = _NAME.match(text, pos + 1)
                if mod is None or mod.end() >= len(text) or text[mod.end()] != "(":
                    raise FieldSyntaxError('Expected "(" after a modifier name.', pos + 1)
                end = text.find(")", mod.end())
                if end < 0:
                    raise FieldSyntaxError('Expected ")".', len(text))
                modifiers[mod.group()] = text[mod.end() + 1 : end].strip()
                pos = end + 1
            else:
                inner, pos = _parse_list(text, pos + 1, closing="}")
                subfields = tuple(inner)
        items.append(FieldRequest(name, modifiers, subfields))
        if pos >= len(text):
            if closing is not None:
                raise FieldSyntaxError(f'Expected "{closing}".', pos)
            return items, pos
        if text[pos] == ",":
            pos += 1
            continue
        if closing is not None and text[pos] == closing:
            return items, pos + 1
        raise FieldSyntaxError(f'Expected end of string instead of "{text[pos]}".', pos)


@dataclass(frozen=True)
class NodeSpec:
    """One Graph node type: its field names, its GET edges and its endpoints' parameters."""

    name: str
    fields: frozenset[str]
    edges: frozenset[str]
    params: dict[tuple[str, str], frozenset[str]]  # (METHOD, endpoint or "") -> names

    def knows(self, field_name: str) -> bool:
        return field_name in self.fields or field_name in self.edges

    def unknown_fields(self, requested: list[FieldRequest]) -> list[str]:
        return [f.name for f in requested if not self.knows(f.name)]

    def accepts(self, method: str, endpoint: str) -> frozenset[str] | None:
        """The parameters of ``METHOD /{node}/{endpoint}``; None when the spec has no such call."""
        return self.params.get((method, endpoint))


@cache
def node_spec(name: str) -> NodeSpec:
    """The spec of node type ``name`` (Page, PagePost, Photo, Comment)."""
    data = json.loads((SPEC_DIR / f"{name}.json").read_text(encoding="utf-8"))
    params: dict[tuple[str, str], frozenset[str]] = {}
    for api in data["apis"]:
        key = (api["method"], api.get("endpoint", ""))
        params[key] = frozenset(p["name"] for p in api["params"])
    return NodeSpec(
        name=name,
        fields=frozenset(f["name"] for f in data["fields"]),
        edges=frozenset(data.get("edges", [])),
        params=params,
    )


def param_name(form_key: str) -> str:
    """``attached_media[0]`` -> ``attached_media``: Graph's array parameters by their base name."""
    return form_key.split("[", 1)[0]
