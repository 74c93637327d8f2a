"""Extract the part of X's OpenAPI document the sandbox serves into ``x_api_v2_subset.json``.

    python cm_toolkit/sandbox/specs/extract_x_api_subset.py ../shared/specs/x-api-v2.openapi.json

The full document (800 KB) is not shipped; the subset keeps, for each operation the X emulator
serves, its query/path parameters (``$ref`` resolved) and its request body schema, plus every
component schema those reach. The emulator validates requests against it
(``cm_toolkit/sandbox/x/schema.py``).

Wire-name corrections: in v2.167 of the document the post lookup operations name their field
parameters ``post.fields`` / ``expansions`` with ``*_post_*`` values, while the API (and tweepy)
use ``tweet.fields`` and ``*_tweet_*`` names, as the same document's stream operations still do.
The subset uses the stream operations' ``tweet.fields``, ``expansions`` and ``user.fields``
parameters for those operations, and the ``*_tweet_id`` user expansions. ``notes`` in the output
records this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# operation name -> (method, path) in the OpenAPI document
OPERATIONS: dict[str, tuple[str, str]] = {
    "createPosts": ("post", "/2/tweets"),
    "deletePosts": ("delete", "/2/tweets/{id}"),
    "getPostsByIds": ("get", "/2/tweets"),
    "getUsersMe": ("get", "/2/users/me"),
    "getUsersMentions": ("get", "/2/users/{id}/mentions"),
    "searchPostsRecent": ("get", "/2/tweets/search/recent"),
    "mediaUpload": ("post", "/2/media/upload"),
    "getMediaUploadStatus": ("get", "/2/media/upload"),
    "initializeMediaUpload": ("post", "/2/media/upload/initialize"),
    "appendMediaUpload": ("post", "/2/media/upload/{id}/append"),
    "finalizeMediaUpload": ("post", "/2/media/upload/{id}/finalize"),
    "createMediaMetadata": ("post", "/2/media/metadata"),
}
# The stream operation whose parameters carry the API's real tweet/user field names.
WIRE_NAMES_FROM = ("get", "/2/tweets/search/stream")
REPLACED_PARAMETERS = {
    "#/components/parameters/PostFieldsParameter": "tweet.fields",
    "#/components/parameters/PostExpansionsParameter": "expansions",
    "#/components/parameters/UserFieldsParameter": "user.fields",
}
USER_EXPANSION_NAMES = {
    "pinned_post_id": "pinned_tweet_id",
    "most_recent_post_id": "most_recent_tweet_id",
}
DROPPED_KEYS = {"description", "example", "externalDocs", "summary", "x-twitter-streaming"}


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _strip(node: Any, names: bool = False) -> Any:
    """``node`` without documentation keys (``names``: keys are property names, kept)."""
    if isinstance(node, dict):
        return {
            k: _strip(v, names=(k == "properties" and not names))
            for k, v in node.items()
            if names or k not in DROPPED_KEYS
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def extract(doc: dict[str, Any]) -> dict[str, Any]:
    method, path = WIRE_NAMES_FROM
    wire: dict[str, Any] = {}
    for param in doc["paths"][path][method]["parameters"]:
        param = _resolve(doc, param["$ref"]) if "$ref" in param else param
        wire[param["name"]] = param
    operations: dict[str, Any] = {}
    for name, (method, path) in OPERATIONS.items():
        op = doc["paths"][path][method]
        params = []
        for param in op.get("parameters", []):
            ref = param.get("$ref")
            if ref in REPLACED_PARAMETERS:
                param = wire[REPLACED_PARAMETERS[ref]]
            elif ref:
                param = _resolve(doc, ref)
                if ref.endswith("/UserExpansionsParameter"):
                    param = json.loads(json.dumps(param))
                    items = param["schema"]["items"]
                    items["enum"] = [USER_EXPANSION_NAMES.get(v, v) for v in items["enum"]]
            params.append(_strip(param))
        body = op.get("requestBody", {}).get("content", {})
        operations[name] = {
            "method": method.upper(),
            "path": path,
            "parameters": params,
            "requestBody": {ctype: _strip(spec["schema"]) for ctype, spec in body.items()},
        }
    # every component schema reachable from the kept parameters and bodies
    schemas: dict[str, Any] = {}
    pending: set[str] = set()
    _refs(operations, pending)
    while pending:
        ref = pending.pop()
        key = ref.rsplit("/", 1)[-1]
        if key in schemas:
            continue
        schemas[key] = _strip(_resolve(doc, ref))
        _refs(schemas[key], pending)
    return {
        "source": "X API v2 OpenAPI document (api.x.com/2/openapi.json), "
        f"version {doc['info'].get('version')}; MIT licence: see x-api-v2.LICENSE",
        "notes": __doc__.split("Wire-name corrections:")[1].strip().replace("\n", " "),
        "operations": operations,
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def main(argv: list[str]) -> int:
    source = Path(argv[1] if len(argv) > 1 else "../shared/specs/x-api-v2.openapi.json")
    target = Path(__file__).with_name("x_api_v2_subset.json")
    subset = extract(json.loads(source.read_text()))
    target.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")
    print(f"wrote {target} ({len(subset['operations'])} operations)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
