"""Request validation from the discovery documents shipped inside google-api-python-client.

The same JSON documents the client builds its methods from (``youtube.v3.json``,
``calendar.v3.json``) say which query parameters each method takes (required, enum, boolean,
integer range) and which fields each resource has. Checking requests against them means a
malformed request gets Google's own 400 answer, and the emulator stays in step with the client
version that is installed.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from cm_toolkit.sandbox.core import ApiError, SandboxRequest
from cm_toolkit.sandbox.google.base import google_error, required_parameter

_NOT_PARTS = {"kind", "etag"}
# Marked required in the document but deprecated by YouTube (frameRate + resolution replace it).
_NOT_ENFORCED = {"youtube.liveStreams.insert": ("cdn.format",)}


def snake(name: str) -> str:
    """``scheduledStartTime`` -> ``scheduled_start_time`` (Google names fields so in errors)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _invalid(message: str) -> ApiError:
    return google_error(400, message, reason="invalid", status_text="INVALID_ARGUMENT")


def _parse_datetime(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)  # Python 3.11 reads RFC 3339, "Z" included
    except ValueError:
        return None


class DiscoveryDocument:
    """One API's discovery document, with its methods indexed by id (``youtube.videos.list``)."""

    def __init__(self, name: str) -> None:
        path = resources.files("googleapiclient") / "discovery_cache" / "documents" / name
        self.doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.methods: dict[str, dict[str, Any]] = {}
        self._index(self.doc.get("resources", {}))

    def _index(self, resources_: dict[str, Any]) -> None:
        for resource in resources_.values():
            for method in resource.get("methods", {}).values():
                self.methods[method["id"]] = method
            self._index(resource.get("resources", {}))

    # -- query parameters ------------------------------------------------------------------

    def check_query(
        self, request: SandboxRequest, method_id: str, *, also: tuple[str, ...] = ()
    ) -> dict[str, str]:
        """The query parameters of ``method_id``, checked; path parameters are not included.

        Unknown parameters, missing required ones, and values outside an enum, a boolean or an
        integer range get Google's 400. Repeated parameters are joined with commas.
        """
        method = self.methods[method_id]
        declared: dict[str, Any] = {
            **self.doc.get("parameters", {}),
            **method.get("parameters", {}),
        }
        values: dict[str, str] = {}
        for name, raw in request.query.items():
            if name in also:
                values[name] = raw[0]
                continue
            spec = declared.get(name)
            if spec is None or spec.get("location") == "path":
                raise _invalid(
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                    f"parameter. Field '{name}' could not be found in request message."
                )
            for value in raw:
                self._check_value(name, value, spec)
            values[name] = ",".join(raw)
        for name, spec in method.get("parameters", {}).items():
            if spec.get("required") and spec.get("location") == "query" and not values.get(name):
                raise required_parameter(name)
        return values

    def _check_value(self, name: str, value: str, spec: dict[str, Any]) -> None:
        kind = spec.get("type")
        if kind == "boolean" and value not in ("true", "false"):
            raise _invalid(f"Invalid value at '{snake(name)}' (TYPE_BOOL), \"{value}\"")
        if kind == "integer":
            try:
                number = int(value)
            except ValueError:
                raise _invalid(
                    f"Invalid value at '{snake(name)}' (TYPE_INT32), \"{value}\""
                ) from None
            low, high = spec.get("minimum"), spec.get("maximum")
            if (low is not None and number < int(low)) or (high is not None and number > int(high)):
                raise google_error(
                    400,
                    f"Invalid value '{value}'. Values must be within the range: [{low}, {high}]",
                    reason="invalidParameter",
                    location=name,
                )
        if "enum" in spec and value not in spec["enum"]:
            raise _invalid(f"Invalid value at '{snake(name)}' (TYPE_ENUM), \"{value}\"")

    # -- parts -------------------------------------------------------------------------------

    def parts(self, schema: str) -> set[str]:
        """The ``part`` names of a resource: its top-level properties but ``kind`` and ``etag``."""
        return set(self.doc["schemas"][schema]["properties"]) - _NOT_PARTS

    def check_part(self, value: str, schema: str, *, domain: str = "youtube.part") -> list[str]:
        """``part=snippet,status`` as a list; an unknown name is YouTube's ``unknownPart``."""
        names = [p.strip() for p in value.split(",") if p.strip()]
        if not names:
            raise required_parameter("part")
        known = self.parts(schema)
        for name in names:
            if name not in known:
                raise google_error(
                    400, f"'{name}'", reason="unknownPart", domain=domain, location="part"
                )
        return names

    # -- bodies ----------------------------------------------------------------------------

    def check_body(self, body: Any, schema: str, method_id: str | None = None) -> None:
        """Raise Google's 400 for an unknown field, a value of the wrong type in ``body``, or
        (with ``method_id``) a field the document marks required for that method."""
        self._check({"$ref": schema}, body, "resource")
        if method_id is not None:
            self._check_required(schema, body if isinstance(body, dict) else {}, method_id, "", 0)

    def _check_required(
        self, schema: str, value: dict[str, Any], method_id: str, prefix: str, depth: int
    ) -> None:
        if depth > 3:  # discovery schemas nest (and recurse); required fields sit near the top
            return
        for key, spec in self.doc["schemas"][schema].get("properties", {}).items():
            path = f"{prefix}{key}"
            wanted = spec.get("annotations", {}).get("required", [])
            enforced = method_id in wanted and path not in _NOT_ENFORCED.get(method_id, ())
            if enforced and value.get(key) in (None, "", [], {}):
                raise google_error(
                    400,
                    f"Required field missing: {path}",
                    reason="required",
                    location=path,
                    location_type="other",
                )
            ref = spec.get("$ref")
            if ref and self.doc["schemas"][ref].get("type") == "object":
                child = value.get(key)
                self._check_required(
                    ref, child if isinstance(child, dict) else {}, method_id, f"{path}.", depth + 1
                )

    def _check(self, spec: dict[str, Any], value: Any, where: str) -> None:
        if "$ref" in spec:
            spec = self.doc["schemas"][spec["$ref"]]
        kind = spec.get("type")
        if value is None:
            return
        if kind == "object":
            if not isinstance(value, dict):
                raise _invalid(f"Invalid JSON payload received. Expected an object at '{where}'.")
            properties = spec.get("properties", {})
            extra = spec.get("additionalProperties")
            for key, item in value.items():
                if key in properties:
                    self._check(properties[key], item, f"{where}.{snake(key)}")
                elif extra is not None:
                    self._check(extra, item, f"{where}[{key}]")
                else:
                    raise _invalid(
                        f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                        "Cannot find field."
                    )
        elif kind == "array":
            if not isinstance(value, list):
                raise _invalid(f"Invalid value at '{where}', expected a list.")
            for index, item in enumerate(value):
                self._check(spec.get("items", {}), item, f"{where}[{index}]")
        elif kind == "string":
            self._check_string(spec, value, where)
        elif kind == "boolean" and not isinstance(value, bool):
            raise _invalid(f"Invalid value at '{where}' (TYPE_BOOL), {json.dumps(value)}")
        elif kind in ("integer", "number") and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            raise _invalid(f"Invalid value at '{where}' (TYPE_INT32), {json.dumps(value)}")

    def _check_string(self, spec: dict[str, Any], value: Any, where: str) -> None:
        fmt = spec.get("format")
        if fmt in ("int64", "uint64") and isinstance(value, int) and not isinstance(value, bool):
            return  # 64-bit integers travel as strings, but numbers are accepted
        if not isinstance(value, str):
            raise _invalid(f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}")
        if fmt == "date-time" and _parse_datetime(value) is None:
            raise _invalid(
                f"Invalid value at '{where}' (type.googleapis.com/google.protobuf.Timestamp), "
                f'"{value}"'
            )
        if fmt == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise _invalid(f"Invalid value at '{where}' (TYPE_DATE), \"{value}\"") from None
        if "enum" in spec and value not in spec["enum"]:
            raise _invalid(f"Invalid value at '{where}' (TYPE_ENUM), \"{value}\"")


@cache
def discovery(name: str) -> DiscoveryDocument:
    """The parsed document ``name`` (e.g. ``youtube.v3.json``), loaded once per process."""
    return DiscoveryDocument(name)


def parse_datetime(value: str) -> datetime | None:
    """An RFC 3339 instant as Google sends it (``...Z`` or an offset); ``None`` if invalid."""
    return _parse_datetime(value)
