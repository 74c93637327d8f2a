"""A live session written under ``posts:`` (or a post under ``live_sessions:``).

Both lists sit side by side in a campaign, so pasting a session one list too low is an easy
slip. Checked as a post, a session gets a problem per key (``title``, ``start``, ``hosted_on``,
each "unknown", then "no template", "no channels", "no time rule"): nine lines, one of them
suggesting ``until`` for ``title``, none saying what happened. Here such an item is recognised by
the keys only the other list has, reported once with the list it belongs to, and the per-key
problems of that item are left out.
"""

from __future__ import annotations

from collections.abc import Iterable

from cm_toolkit.errors import Problem
from cm_toolkit.workspace.models import LiveSession, Post
from cm_toolkit.workspace.yaml_source import PathElement, YamlDocument

# Keys that only one of the two lists has: an item holding one of the other list's and none
# of the required keys of its own (a post's `template`, a session's `title`, `start`...) was
# meant for the other list; one with its own required keys merely has a wrong key.
_SESSION_ONLY = frozenset(LiveSession.model_fields) - frozenset(Post.model_fields)
_POST_ONLY = frozenset(Post.model_fields) - frozenset(LiveSession.model_fields)
_REQUIRED = {
    "posts": frozenset(k for k, f in Post.model_fields.items() if f.is_required()) & _POST_ONLY,
    "live_sessions": frozenset(
        k for k, f in LiveSession.model_fields.items() if f.is_required()) & _SESSION_ONLY,
}

_LISTS = {"posts": ("live_sessions", "live session", _SESSION_ONLY),
          "live_sessions": ("posts", "post", _POST_ONLY)}
_NAMES = {"posts": "post", "live_sessions": "live session"}

Path_ = tuple[PathElement, ...]


def misplaced_items(document: YamlDocument) -> tuple[list[Problem], list[Path_]]:
    """One problem per misplaced item, and the items' paths (their other problems are noise)."""
    problems: list[Problem] = []
    paths: list[Path_] = []
    campaigns = document.data.get("campaigns") if isinstance(document.data, dict) else None
    if not isinstance(campaigns, list):
        return problems, paths
    for c, campaign in enumerate(campaigns):
        if not isinstance(campaign, dict):
            continue
        for here, (there, kind, only_there) in _LISTS.items():
            items = campaign.get(here)
            if not isinstance(items, list):
                continue
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                telling = sorted(str(k) for k in item if k in only_there)
                if not telling or any(k in item for k in _REQUIRED[here]):
                    continue
                path: Path_ = ("campaigns", c, here, i)
                line, column = document.position(path)
                ident = f' "{item["id"]}"' if isinstance(item.get("id"), str) else ""
                keys = ", ".join(f"`{k}`" for k in telling)
                where = f' "{campaign["id"]}"' if isinstance(campaign.get("id"), str) else ""
                problems.append(Problem(
                    document.file, line, column,
                    f"{_NAMES[here]}{ident} has the keys of a {kind} ({keys}) but is listed "
                    f"under `{here}:`",
                    f"move it under `{there}:` of campaign{where} (docs/workspace.md)"))
                paths.append(path)
    return problems, paths


def item_lines(document: YamlDocument, paths: Iterable[Path_]) -> set[int]:
    """The lines of the misplaced items' keys: other checks' problems there are dropped."""
    lines: set[int] = set()
    for path in paths:
        item = document.data
        for part in path:
            item = item[part]
        for key in (None, *item):
            line, _ = document.position(path if key is None else (*path, key), key=key is not None)
            if line is not None:
                lines.add(line)
    return lines
