"""Rest.li 2.0 query values as the LinkedIn gateway reads them.

linkedin-api-client encodes ``{"shares": ["urn:li:share:1", "urn:li:share:2"]}`` as
``shares=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)`` and a record as
``timeIntervals=(timeGranularityType:DAY,timeRange:(end:2,start:1))``. The sandbox server has
already percent-decoded the query, so the values arrive as ``List(urn:li:share:1,...)``; URNs
without parentheses or commas (every URN this emulator deals with) decode unambiguously.
Rest.li 1.0 forms are read too: ``shares[0]=...`` and ``timeIntervals.timeRange.start=...``.
"""

from __future__ import annotations

from typing import Any

RestliValue = str | list[Any] | dict[str, Any]


class RestliSyntaxError(ValueError):
    """The value is not valid Rest.li 2.0 syntax (unbalanced parentheses...)."""


def decode(text: str) -> RestliValue:
    """``List(a,b)`` -> ``["a", "b"]``; ``(k:v,k2:(x:1))`` -> dict; anything else -> str."""
    value, end = _value(text, 0)
    if end != len(text):
        raise RestliSyntaxError(f"unexpected {text[end:]!r} in {text!r}")
    return value


def _value(text: str, pos: int) -> tuple[RestliValue, int]:
    if text.startswith("List(", pos):
        return _list(text, pos + 5)
    if text.startswith("(", pos):
        return _record(text, pos + 1)
    end = pos
    while end < len(text) and text[end] not in ",)":
        if text[end] == "(":
            raise RestliSyntaxError(f"unexpected '(' in {text!r}")
        end += 1
    return text[pos:end], end


def _list(text: str, pos: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    if text.startswith(")", pos):
        return items, pos + 1
    while True:
        item, pos = _value(text, pos)
        items.append(item)
        if pos >= len(text):
            raise RestliSyntaxError(f"unbalanced List( in {text!r}")
        if text[pos] == ")":
            return items, pos + 1
        pos += 1  # the comma


def _record(text: str, pos: int) -> tuple[dict[str, Any], int]:
    record: dict[str, Any] = {}
    if text.startswith(")", pos):
        return record, pos + 1
    while True:
        colon = text.find(":", pos)
        if colon < 0:
            raise RestliSyntaxError(f"a record field has no ':' in {text!r}")
        key = text[pos:colon]
        value, pos = _value(text, colon + 1)
        record[key] = value
        if pos >= len(text):
            raise RestliSyntaxError(f"unbalanced '(' in {text!r}")
        if text[pos] == ")":
            return record, pos + 1
        pos += 1


def query_list(query: dict[str, list[str]], name: str) -> list[str] | None:
    """A list parameter in either protocol: ``name=List(...)`` or ``name[0]=..&name[1]=..``."""
    if name in query:
        value = decode(query[name][0])
        if isinstance(value, list):
            return [str(v) for v in value]
        return [str(value)]  # a single value written without List()
    indexed = sorted(
        (int(key[len(name) + 1 : -1]), values[0])
        for key, values in query.items()
        if key.startswith(name + "[") and key.endswith("]") and key[len(name) + 1 : -1].isdigit()
    )
    return [value for _, value in indexed] if indexed else None


def query_record(query: dict[str, list[str]], name: str) -> dict[str, Any] | None:
    """A record parameter: ``name=(k:v,...)`` (2.0) or ``name.k.sub=v`` (1.0)."""
    if name in query:
        value = decode(query[name][0])
        if not isinstance(value, dict):
            raise RestliSyntaxError(f"{name} is not a record")
        return value
    record: dict[str, Any] = {}
    prefix = name + "."
    for key, values in query.items():
        if key.startswith(prefix):
            node = record
            *parents, leaf = key[len(prefix) :].split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = values[0]
    return record or None
