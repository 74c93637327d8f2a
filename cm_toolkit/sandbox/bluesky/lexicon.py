"""Validation of XRPC requests, answers and records against the AT Protocol lexicons.

The lexicon JSON files (``sandbox/specs/bluesky-lexicons/``, copied from bluesky-social/atproto
with their licences) are the source of truth: this module reads them and checks values the way
the reference implementation's ``@atproto/lexicon`` does for the types the emulator meets:
objects (``required``, ``nullable``), strings (``maxLength`` in UTF-8 bytes, ``maxGraphemes``,
``format``, ``enum``, ``const``), integers, booleans, arrays, refs, unions (``$type``; open unless
``closed``), blobs (``accept``, ``maxSize``), ``unknown``, ``cid-link``, ``bytes``, and query
``params`` (strings from the URL, converted first).

Each check returns a list of violations (``"record/text: more than 300 graphemes"``); empty
means valid.
"""

from __future__ import annotations

import fnmatch
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import regex

ROOT = Path(__file__).resolve().parent.parent / "specs" / "bluesky-lexicons"

_GRAPHEME = regex.compile(r"\X")
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_NSID = re.compile(r"^[a-zA-Z]([a-zA-Z0-9-]{0,62})?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})?)+$")
_AT_URI = re.compile(r"^at://(did:[a-z]+:[a-zA-Z0-9._:%-]+|[a-zA-Z0-9.-]+)(/[a-zA-Z0-9.-]+(/[A-Za-z0-9._:~-]+)?)?$")
_URI = re.compile(r"^[a-z][a-z.+-]*:\S+$")
_CID = re.compile(r"^[A-Za-z0-9+]{8,}$")
_LANGUAGE = re.compile(r"^(i|[a-z]{2,3})(-[A-Za-z0-9-]+)?$")
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _datetime_ok(value: str) -> bool:
    if not _DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


FORMATS = {
    "did": lambda v: bool(_DID.match(v)) and len(v) <= 2048,
    "handle": lambda v: bool(_HANDLE.match(v)) and len(v) <= 253,
    "at-identifier": lambda v: bool(_DID.match(v) or _HANDLE.match(v)),
    "nsid": lambda v: bool(_NSID.match(v)) and len(v) <= 317,
    "at-uri": lambda v: bool(_AT_URI.match(v)) and len(v) <= 8192,
    "uri": lambda v: bool(_URI.match(v)) and len(v) <= 8192,
    "cid": lambda v: bool(_CID.match(v)),
    "language": lambda v: bool(_LANGUAGE.match(v)),
    "record-key": lambda v: bool(_RKEY.match(v)) and v not in (".", ".."),
    "tid": lambda v: bool(_TID.match(v)),
    "datetime": _datetime_ok,
}


@cache
def document(nsid: str) -> dict[str, Any]:
    path = ROOT.joinpath(*nsid.split(".")).with_suffix(".json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def definition(ref: str, context: str) -> tuple[dict[str, Any], str]:
    """The definition a ``ref`` names, and the document it is in (for its own local refs)."""
    nsid, _, name = ref.partition("#")
    nsid = nsid or context
    defs: dict[str, Any] = document(nsid)["defs"]
    return defs[name or "main"], nsid


def check_params(nsid: str, query: dict[str, list[str]]) -> list[str]:
    """The query string of a query or procedure against its ``parameters``."""
    main = document(nsid)["defs"]["main"]
    schema = main.get("parameters") or {"properties": {}}
    found: list[str] = []
    values: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        given = query.get(name)
        if not given:
            continue
        if prop["type"] == "array":
            values[name] = [_convert(v, prop["items"], name, found) for v in given]
        else:
            values[name] = _convert(given[-1], prop, name, found)
    found += [f"params: unknown parameter {n}" for n in query if n not in schema["properties"]]
    return found + _object(schema, values, "params", nsid)


def _convert(raw: str, prop: dict[str, Any], name: str, found: list[str]) -> Any:
    if prop["type"] == "integer":
        try:
            return int(raw)
        except ValueError:
            found.append(f"params/{name}: {raw!r} is not an integer")
    if prop["type"] == "boolean":
        if raw in ("true", "false"):
            return raw == "true"
        found.append(f"params/{name}: {raw!r} is not true or false")
    return raw


def check_body(nsid: str, body: Any, part: str = "input") -> list[str]:
    """A procedure's JSON ``input`` (or a method's ``output``) against its schema."""
    schema = document(nsid)["defs"]["main"].get(part, {}).get("schema")
    if schema is None:
        return []
    return check(schema, body, part, nsid)


def check_record(collection: str, value: Any) -> list[str]:
    """A record against the ``record`` definition of its collection."""
    main = document(collection)["defs"]["main"]
    if main.get("type") != "record":
        return [f"record: {collection} is not a record type"]
    if not isinstance(value, dict) or value.get("$type") != collection:
        return [f"record/$type: must be {collection!r}"]
    return check(main["record"], value, "record", collection)


def check(schema: dict[str, Any], value: Any, path: str, context: str) -> list[str]:
    kind = schema.get("type")
    if kind == "ref":
        target, doc = definition(schema["ref"], context)
        return check(target, value, path, doc)
    if kind == "union":
        return _union(schema, value, path, context)
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: must be an object"]
        return _object(schema, value, path, context)
    if kind == "record":
        return check(schema["record"], value, path, context)
    if kind == "string":
        return _string(schema, value, path)
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: must be an integer"]
        found = []
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: less than {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: more than {schema['maximum']}")
        if "enum" in schema and value not in schema["enum"]:
            found.append(f"{path}: must be one of {schema['enum']}")
        return found
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: must be a boolean"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: must be an array"]
        found = []
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            found.append(f"{path}: more than {schema['maxLength']} items")
        if "minLength" in schema and len(value) < schema["minLength"]:
            found.append(f"{path}: fewer than {schema['minLength']} items")
        for index, item in enumerate(value):
            found += check(schema["items"], item, f"{path}/{index}", context)
        return found
    if kind == "blob":
        return _blob(schema, value, path)
    if kind == "unknown":
        return [] if isinstance(value, dict) else [f"{path}: must be an object"]
    if kind == "cid-link":
        ok = isinstance(value, dict) and isinstance(value.get("$link"), str)
        return [] if ok else [f"{path}: must be a cid-link ({{'$link': ...}})"]
    if kind == "bytes":
        ok = isinstance(value, dict) and isinstance(value.get("$bytes"), str)
        return [] if ok else [f"{path}: must be bytes ({{'$bytes': ...}})"]
    if kind in ("token", "null"):
        return []
    return [f"{path}: the lexicon type {kind!r} is not checked by the sandbox"]


def _object(schema: dict[str, Any], value: dict[str, Any], path: str, context: str) -> list[str]:
    found: list[str] = []
    nullable = set(schema.get("nullable", ()))
    for name in schema.get("required", ()):
        if name not in value or (value[name] is None and name not in nullable):
            found.append(f"{path}/{name}: required")
    for name, prop in schema.get("properties", {}).items():
        if name not in value or (value[name] is None and name in nullable):
            continue
        found += check(prop, value[name], f"{path}/{name}", context)
    return found


def _union(schema: dict[str, Any], value: Any, path: str, context: str) -> list[str]:
    if not isinstance(value, dict) or not isinstance(value.get("$type"), str):
        return [f"{path}: a union member must be an object with $type"]
    given = value["$type"]
    for ref in schema["refs"]:
        nsid, _, name = ref.partition("#")
        full = f"{nsid or context}#{name or 'main'}"
        if given in (full, full.removesuffix("#main")):
            target, doc = definition(ref, context)
            return check(target, value, path, doc)
    if schema.get("closed"):
        return [f"{path}/$type: {given!r} is not one of {schema['refs']}"]
    return []


def _string(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: must be a string"]
    found: list[str] = []
    size = len(value.encode("utf-8"))
    if "maxLength" in schema and size > schema["maxLength"]:
        found.append(f"{path}: more than {schema['maxLength']} bytes")
    if "minLength" in schema and size < schema["minLength"]:
        found.append(f"{path}: fewer than {schema['minLength']} bytes")
    if "maxGraphemes" in schema or "minGraphemes" in schema:
        graphemes = len(_GRAPHEME.findall(value))
        if graphemes > schema.get("maxGraphemes", graphemes):
            found.append(f"{path}: more than {schema['maxGraphemes']} graphemes")
        if graphemes < schema.get("minGraphemes", 0):
            found.append(f"{path}: fewer than {schema['minGraphemes']} graphemes")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: must be one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        found.append(f"{path}: must be {schema['const']!r}")
    fmt = schema.get("format")
    if fmt and not FORMATS[fmt](value):
        found.append(f"{path}: not a valid {fmt}")
    return found


def _blob(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    ok = (isinstance(value, dict) and value.get("$type") == "blob"
          and isinstance(value.get("ref"), dict) and isinstance(value.get("mimeType"), str)
          and isinstance(value.get("size"), int))
    if not ok:
        return [f"{path}: must be a blob ({{$type: blob, ref, mimeType, size}})"]
    found = []
    if "maxSize" in schema and value["size"] > schema["maxSize"]:
        found.append(f"{path}: {value['size']} bytes, more than {schema['maxSize']}")
    accept = schema.get("accept")
    if accept and not any(fnmatch.fnmatch(value["mimeType"], pattern) for pattern in accept):
        found.append(f"{path}: {value['mimeType']} is not one of {accept}")
    return found
