"""Walking the raw ``schedules.yaml`` data defensively, and naming each part the user's way.

The cross-reference checks run on the raw data, not on the validated models, so that one typo in
a post does not hide every other problem: each part is visited only when it has the right shape,
and everything else was already reported by pydantic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from cm_toolkit.workspace.yaml_source import PathElement

Path_ = tuple[PathElement, ...]


class Part:
    """A mapping of the schedule (campaign, post, live session, announcement) and its path.

    Its ``label`` ('post "teaser"') is made when first asked, from its ``kind`` and ``owner``:
    only a problem asks for it, and the checks walk 100,000 posts several times."""

    __slots__ = ("_kind", "_label", "_owner", "data", "path")

    def __init__(self, path: Path_, data: dict[str, Any], label: str | None = None, *,
                 kind: str = "", owner: Part | None = None) -> None:
        self.path = path
        self.data = data
        self._label = label
        self._kind = kind  # "campaign", "post", "live session", "announcement"
        self._owner = owner  # the campaign of a post or session, the session of an announcement

    @property
    def label(self) -> str:
        if self._label is None:
            index = int(self.path[-1])
            owner = self._owner.label if self._owner is not None else None
            if self._kind == "announcement":
                self._label = f"announcement #{index + 1} of {owner}"
            else:
                self._label = _label(self._kind, self.data, index, owner)
        return self._label

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    def texts(self, key: str) -> list[tuple[Path_, str]]:
        """The strings of a list field, with their paths (other items are pydantic's to report)."""
        value = self.data.get(key)
        if not isinstance(value, list):
            return []
        return [((*self.path, key, i), v) for i, v in enumerate(value) if isinstance(v, str)]


LABEL_ID_LENGTH = 60


def _mappings(data: Any, key: str, path: Path_) -> Iterator[tuple[Path_, dict[str, Any]]]:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield (*path, key, index), item


def _label(kind: str, item: dict[str, Any], index: int, owner: str | None) -> str:
    ident = item.get("id")
    if isinstance(ident, str) and ident:
        if len(ident) > LABEL_ID_LENGTH:  # an id too long for the ledger is not repeated whole
            ident = ident[:LABEL_ID_LENGTH - 3] + "..."
        return f'{kind} "{ident}"'
    return f"{kind} #{index + 1}" + (f" of {owner}" if owner else "")


def campaigns(data: Any) -> Iterator[Part]:
    for path, item in _mappings(data, "campaigns", ()):
        yield Part(path, item, kind="campaign")


def posts(data: Any) -> Iterator[Part]:
    for campaign in campaigns(data):
        for path, item in _mappings(campaign.data, "posts", campaign.path):
            yield Part(path, item, kind="post", owner=campaign)


def sessions(data: Any) -> Iterator[Part]:
    for campaign in campaigns(data):
        for path, item in _mappings(campaign.data, "live_sessions", campaign.path):
            yield Part(path, item, kind="live session", owner=campaign)


def announcements(session: Part) -> Iterator[Part]:
    for path, item in _mappings(session.data, "announcements", session.path):
        yield Part(path, item, kind="announcement", owner=session)


def describe_schedules(data: Any, path: Sequence[PathElement]) -> tuple[str, int]:
    """Name the part of ``schedules.yaml`` at ``path``: (label, path elements it covers)."""
    label, used = "", 0
    node: Any = data
    kinds = {"campaigns": "campaign", "posts": "post", "live_sessions": "live session"}
    index = 0
    while index < len(path):
        key = path[index]
        child = node.get(key) if isinstance(node, dict) and not isinstance(key, int) else None
        if key in kinds and index + 1 < len(path) and isinstance(path[index + 1], int):
            position = int(path[index + 1])
            item = child[position] if isinstance(child, list) and position < len(child) else None
            owner = label or None
            label = _label(kinds[str(key)], item if isinstance(item, dict) else {}, position, owner)
            node, index = item, index + 2
            used = index
        elif key == "announcements" and index + 1 < len(path) and isinstance(path[index + 1], int):
            label = f"announcement #{int(path[index + 1]) + 1} of {label}"
            items = child if isinstance(child, list) else []
            position = int(path[index + 1])
            node = items[position] if position < len(items) else None
            index += 2
            used = index
        elif key == "overrides" and index + 1 < len(path) and label:
            label = f"override `{path[index + 1]}` of {label}"
            node = child.get(path[index + 1]) if isinstance(child, dict) else None
            index += 2
            used = index
        else:
            break
    return label, used
