"""Extract the operations the Mastodon emulator serves from the Mastodon OpenAPI description.

Source: abraham/mastodon-openapi (dist/schema.json, MIT; generated from the official Mastodon
documentation), the file given as the first argument. The subset keeps, per operation, its
parameters and request bodies, plus every component schema they reference (transitively):

    python cm_toolkit/sandbox/specs/extract_mastodon_api_subset.py \
        /work/shared/specs/mastodon-api.openapi.json > cm_toolkit/sandbox/specs/mastodon_api_subset.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

OPERATIONS = (
    ("post", "/api/v1/statuses"),
    ("get", "/api/v1/statuses"),
    ("get", "/api/v1/statuses/{id}"),
    ("delete", "/api/v1/statuses/{id}"),
    ("post", "/api/v2/media"),
    ("get", "/api/v2/instance"),
    ("get", "/api/v1/accounts/verify_credentials"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/apps"),
    ("post", "/oauth/token"),
    ("get", "/oauth/authorize"),
)


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def extract(spec: dict[str, Any]) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for method, path in OPERATIONS:
        operation = spec["paths"][path][method]
        body = operation.get("requestBody", {}).get("content", {})
        operations[f"{method.upper()} {path}"] = {
            "operationId": operation.get("operationId"),
            "parameters": operation.get("parameters", []),
            "requestBody": {ctype: item["schema"] for ctype, item in body.items()},
            "bodyRequired": bool(operation.get("requestBody", {}).get("required")),
        }
    schemas = spec["components"]["schemas"]
    wanted: set[str] = set()
    _refs(operations, wanted)
    pending = list(wanted)
    while pending:  # referenced schemas may reference others
        found: set[str] = set()
        _refs(schemas[pending.pop()], found)
        pending.extend(found - wanted)
        wanted |= found
    return {
        "source": "abraham/mastodon-openapi dist/schema.json (MIT), from the Mastodon docs",
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "operations": operations,
        "components": {"schemas": {name: schemas[name] for name in sorted(wanted)}},
    }


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        json.dump(extract(json.load(handle)), sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
