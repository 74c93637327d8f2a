"""Requests checked against the Mastodon API description (``specs/mastodon_api_subset.json``).

The subset is extracted by ``specs/extract_mastodon_api_subset.py`` from the OpenAPI 3.1
description generated from the official documentation (abraham/mastodon-openapi, MIT; see
``specs/mastodon-api.LICENSE``). ``operation_for(method, path)`` finds the operation of a
request (Rails ignores one trailing slash, and Mastodon.py sends ``/api/v2/instance/``);
``violations(request)`` lists what does not match its parameters and body:

- a query parameter the operation does not declare, or of the wrong type;
- a body of a content type the operation does not take, a missing required field, a field of
  the wrong type or outside its enumeration.

Form bodies (what Mastodon.py sends, ``media_ids[]=1``) are read the way Rails reads them:
``name[]`` is an array, ``"1"``/``"0"``/``"true"``/``"false"`` a boolean, digits an integer.
Two readings of the generated description: ``oneOf`` is checked as ``anyOf`` (its status
alternatives overlap: a text with images is both a TextStatus and a MediaStatus, and Mastodon
takes it), and a header parameter's schema is not checked (the generator types the
``Idempotency-Key`` header as an object; the documentation says "any arbitrary string").
Where the documentation says "String or Array of Strings" and the generator kept only the
array (``_STRING_OR_ARRAY``: ``redirect_uris`` of ``POST /api/v1/apps``, several URIs one per
line, which is what Mastodon.py's ``create_app`` sends), a string is read as its lines.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

from cm_toolkit.sandbox.core import SandboxRequest

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (type(None),),
}
_FORM_BOOLEANS = {"1": True, "0": False, "true": True, "false": False}
_STRING_OR_ARRAY = {("POST /api/v1/apps", "redirect_uris")}


@cache
def subset() -> dict[str, Any]:
    text = resources.files("cm_toolkit.sandbox").joinpath(
        "specs/mastodon_api_subset.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _patterns() -> list[tuple[str, re.Pattern[str], str]]:
    found = []
    for key in subset()["operations"]:
        method, _, path = key.partition(" ")
        regex = re.escape(path).replace(r"\{id\}", "[^/]+")
        found.append((method, re.compile(regex + "/?"), key))
    return found


def operation_for(method: str, path: str) -> str | None:
    """``"METHOD /path/{id}"`` of the documented operation a request calls, if any."""
    for candidate, pattern, key in _patterns():
        if candidate == method and pattern.fullmatch(path):
            return key
    return None


def violations(request: SandboxRequest) -> list[str]:
    """Every way ``request`` departs from the Mastodon API description (empty: it conforms)."""
    key = operation_for(request.method, request.path)
    if key is None:
        return [f"{request.method} {request.path} is not an operation of the Mastodon API"]
    operation = subset()["operations"][key]
    found = _query_problems(operation, request.query)
    bodies: dict[str, Any] = operation["requestBody"]
    if not bodies:
        return found
    ctype = (request.header("content-type") or "").split(";")[0].strip().lower()
    if not request.body and not operation["bodyRequired"]:
        return found
    if ctype == "application/json":
        try:
            value: Any = json.loads(request.body or b"null")
        except ValueError:
            return [*found, "the body is not valid JSON"]
        schema, form = bodies.get("application/json"), False
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = _form_value(request)
        # Rails takes a form wherever the documentation shows JSON (and the reverse)
        schema = bodies.get(ctype) or next(iter(bodies.values()))
        form = True
    else:
        takes = ", ".join(sorted(bodies))
        return [*found, f"a body of type {ctype or 'none'!r}: the operation takes {takes}"]
    for operation_key, name in _STRING_OR_ARRAY:
        if operation_key == key and isinstance(value, dict) and isinstance(value.get(name), str):
            value[name] = value[name].splitlines()
    if schema is None:
        return [*found, f"a {ctype} body: the operation takes {', '.join(sorted(bodies))}"]
    _check(value, schema, "body", found, form)
    return found


def _form_value(request: SandboxRequest) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for name, items in request.form().items():
        if name.endswith("[]"):
            value[name[:-2]] = list(items)
        else:
            value[name] = items[-1]
    for name in request.files():
        value[name] = "<file>"
    return value


def _query_problems(operation: dict[str, Any], query: dict[str, list[str]]) -> list[str]:
    params = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    found: list[str] = []
    for raw_name, items in query.items():
        name = raw_name.removesuffix("[]")
        param = params.get(name)
        if param is None:
            found.append(f"query parameter {raw_name!r} is not one of {sorted(params)}")
            continue
        schema = _deref(param.get("schema", {}))
        value: Any = list(items) if _types(schema) == ["array"] else items[-1]
        _check(value, schema, f"query {name}", found, True)
    for name, param in params.items():
        if param.get("required") and name not in query and f"{name}[]" not in query:
            found.append(f"query parameter {name!r} is required")
    return found


def _deref(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = subset()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return list(kind) if isinstance(kind, list) else [kind]


def _is(value: Any, kind: str, form: bool) -> bool:
    if form and isinstance(value, str):  # a form field is text: what Rails would cast it to
        if kind == "boolean":
            return value in _FORM_BOOLEANS
        if kind in ("integer", "number"):
            return bool(re.fullmatch(r"-?\d+" if kind == "integer" else r"-?\d+(\.\d+)?", value))
    if isinstance(value, bool):
        return kind == "boolean"
    return isinstance(value, _TYPES.get(kind, (object,)))


def _check(value: Any, schema: dict[str, Any], path: str, out: list[str], form: bool) -> None:
    if "$ref" in schema and len(schema) > 1:  # siblings of a $ref (3.1): both apply
        _check(value, _deref(schema), path, out, form)
        schema = {k: v for k, v in schema.items() if k != "$ref"}
    schema = _deref(schema)
    for part in schema.get("allOf", []):
        _check(value, part, path, out, form)
    for key in ("oneOf", "anyOf"):  # oneOf as anyOf: see the module docstring
        options = schema.get(key)
        if options and not any(_valid(value, option, path, form) for option in options):
            reasons: list[str] = []
            for option in options:
                _check(value, option, path, reasons, form)
            out.append(f"{path}: matches none of its {len(options)} forms ({'; '.join(reasons)})")
    kinds = _types(schema)
    if kinds and not any(_is(value, kind, form) for kind in kinds):
        out.append(f"{path}: {type(value).__name__} found, {' or '.join(kinds)} expected")
        return
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        properties: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{path}.{name}: is required")
        for name, item in value.items():
            if name in properties:
                _check(item, properties[name], f"{path}.{name}", out, form)
            elif schema.get("additionalProperties") is False:
                out.append(f"{path}.{name}: is not a documented field")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{index}]", out, form)


def _valid(value: Any, schema: dict[str, Any], path: str, form: bool) -> bool:
    found: list[str] = []
    _check(value, schema, path, found, form)
    return not found
