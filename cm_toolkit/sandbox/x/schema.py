"""Request validation against the shipped subset of X's OpenAPI document.

``specs/x_api_v2_subset.json`` (made by ``specs/extract_x_api_subset.py``) holds the parameters
and request-body schemas of the operations the emulator serves. ``RequestSchema`` checks a JSON
body or a query string against them and returns X's own wording:

- bodies: the JSON-schema messages X's validator emits, e.g.
  ``$.foo: is not defined in the schema and the schema does not allow additional properties``;
- query parameters: ``The query parameter [foo] is not one of [ids,tweet.fields,...]``,
  ``The `tweet.fields` query parameter value [bar] is not one of [...]``.

Only the part of JSON Schema the subset uses is implemented: ``type`` (with OpenAPI
``nullable``), ``properties``/``required``/``additionalProperties``, ``enum``, ``pattern``,
``minLength``/``maxLength``, ``minimum``/``maximum``, ``minItems``/``maxItems``/``uniqueItems``,
``items``, ``anyOf``/``oneOf`` and local ``$ref``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_FOUND = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class Violation:
    """One problem, as an entry of X's ``errors`` array."""

    message: str
    parameters: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {"parameters": self.parameters, "message": self.message}


@cache
def _subset() -> dict[str, Any]:
    text = resources.files("cm_toolkit.sandbox").joinpath("specs/x_api_v2_subset.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


class RequestSchema:
    """Validation of one operation's requests (``operation``: its OpenAPI operationId)."""

    def __init__(self, operation: str) -> None:
        spec = _subset()
        self.operation = spec["operations"][operation]
        self.schemas: dict[str, Any] = spec["components"]["schemas"]

    # -- query parameters ---------------------------------------------------------------------

    def query(self, query: dict[str, list[str]]) -> list[Violation]:
        params = [p for p in self.operation["parameters"] if p["in"] == "query"]
        known = {p["name"]: p for p in params}
        problems: list[Violation] = []
        for name, values in query.items():
            if name not in known:
                problems.append(
                    Violation(
                        f"The query parameter [{name}] is not one of [{','.join(known)}]",
                        {name: values},
                    )
                )
        for name, param in known.items():
            given = query.get(name)
            if given is None:
                if param.get("required"):
                    problems.append(
                        Violation(f"The `{name}` query parameter can not be empty", {name: []})
                    )
                continue
            problems.extend(self._query_value(name, given[-1], param["schema"]))
        return problems

    def _query_value(self, name: str, raw: str, schema: dict[str, Any]) -> list[Violation]:
        schema = self._deref(schema)
        if schema.get("type") == "array":
            items = [v for v in raw.split(",")]
            item_schema = self._deref(schema.get("items", {}))
            if not raw:
                return [Violation(f"The `{name}` query parameter can not be empty", {name: [raw]})]
            if "enum" in item_schema:
                bad = [v for v in items if v not in item_schema["enum"]]
                if bad:
                    return [
                        Violation(
                            f"The `{name}` query parameter value [{bad[0]}] is not one of "
                            f"[{','.join(item_schema['enum'])}]",
                            {name: [bad[0]]},
                        )
                    ]
            if "maxItems" in schema and len(items) > schema["maxItems"]:
                return [
                    Violation(
                        f"The `{name}` query parameter value [{raw}] has more than "
                        f"{schema['maxItems']} items",
                        {name: [raw]},
                    )
                ]
            for item in items:
                if not _matches(item_schema, item):
                    return [
                        Violation(
                            f"The `{name}` query parameter value [{item}] does not match "
                            f"{item_schema.get('pattern', 'the expected format')}",
                            {name: [item]},
                        )
                    ]
            return []
        if schema.get("type") == "integer":
            try:
                number = int(raw)
            except ValueError:
                return [
                    Violation(
                        f"The `{name}` query parameter value [{raw}] is not a number", {name: [raw]}
                    )
                ]
            low, high = schema.get("minimum"), schema.get("maximum")
            if (low is not None and number < low) or (high is not None and number > high):
                return [
                    Violation(
                        f"The `{name}` query parameter value [{raw}] is not between {low} and "
                        f"{high}",
                        {name: [raw]},
                    )
                ]
            return []
        if "enum" in schema and raw not in schema["enum"]:
            return [
                Violation(
                    f"The `{name}` query parameter value [{raw}] is not one of "
                    f"[{','.join(schema['enum'])}]",
                    {name: [raw]},
                )
            ]
        if not _matches(schema, raw):
            return [
                Violation(
                    f"The `{name}` query parameter value [{raw}] does not match "
                    f"{schema.get('pattern', 'the expected format')}",
                    {name: [raw]},
                )
            ]
        return []

    # -- bodies ---------------------------------------------------------------------------------

    def body(self, value: Any, content_type: str = "application/json") -> list[Violation]:
        schema = self.operation["requestBody"].get(content_type)
        if schema is None:
            return []
        messages: list[str] = []
        self._check(value, schema, "$", messages)
        return [Violation(message, {}) for message in messages]

    def _deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _check(self, value: Any, schema: dict[str, Any], path: str, out: list[str]) -> None:
        schema = self._deref(schema)
        if value is None and schema.get("nullable"):
            return
        for key in ("anyOf", "oneOf"):
            if key in schema:
                if not any(self._valid(value, option, path) for option in schema[key]):
                    out.append(f"{path}: should be valid to {key.replace('O', ' o')} schema")
                return
        expected = schema.get("type")
        if expected and not _is_type(value, expected):
            out.append(f"{path}: {_FOUND.get(type(value), 'unknown')} found, {expected} expected")
            return
        if "enum" in schema and value not in schema["enum"]:
            out.append(
                f"{path}: does not have a value in the enumeration [{', '.join(schema['enum'])}]"
            )
        if isinstance(value, dict):
            self._check_object(value, schema, path, out)
        elif isinstance(value, list):
            self._check_array(value, schema, path, out)
        elif isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{path}: does not match the regex pattern {schema['pattern']}")
            if "minLength" in schema and len(value) < schema["minLength"]:
                out.append(f"{path}: must be at least {schema['minLength']} characters long")
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                out.append(f"{path}: may only be {schema['maxLength']} characters long")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{path}: must have a minimum value of {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{path}: must have a maximum value of {schema['maximum']}")

    def _check_object(
        self, value: dict[str, Any], schema: dict[str, Any], path: str, out: list[str]
    ) -> None:
        properties: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{path}.{name}: is missing but it is required")
        for name, item in value.items():
            if name in properties:
                self._check(item, properties[name], f"{path}.{name}", out)
            elif schema.get("additionalProperties") is False:
                out.append(
                    f"{path}.{name}: is not defined in the schema and the schema does not allow "
                    "additional properties"
                )

    def _check_array(
        self, value: list[Any], schema: dict[str, Any], path: str, out: list[str]
    ) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(
                f"{path}: there must be a minimum of {schema['minItems']} items in the array"
            )
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(
                f"{path}: there must be a maximum of {schema['maxItems']} items in the array"
            )
        if schema.get("uniqueItems") and len({json.dumps(v) for v in value}) < len(value):
            out.append(f"{path}: the items in the array must be unique")
        if "items" in schema:
            for index, item in enumerate(value):
                self._check(item, schema["items"], f"{path}[{index}]", out)

    def _valid(self, value: Any, schema: dict[str, Any], path: str) -> bool:
        found: list[str] = []
        self._check(value, schema, path, found)
        return not found


def _is_type(value: Any, expected: str) -> bool:
    if isinstance(value, bool):
        return expected == "boolean"
    return isinstance(value, _TYPES.get(expected, (object,)))


def _matches(schema: dict[str, Any], value: str) -> bool:
    pattern = schema.get("pattern")
    return pattern is None or bool(re.search(pattern, value))
