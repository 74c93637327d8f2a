"""docs/workspace.md documents every key of every model of schedules.yaml and channel files.

Each model has a section opened by ``<!-- model: Name -->``; each of its fields must be the
first cell of a table row there (``| `key` | ...``).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from cm_toolkit.workspace.model_problems import model_at
from cm_toolkit.workspace.models import ChannelFile, Schedules

DOC = Path(__file__).resolve().parents[2] / "docs" / "workspace.md"


def reachable_models() -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    pending: list[type[BaseModel]] = [Schedules, ChannelFile]
    while pending:
        model = pending.pop()
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        for name in model.model_fields:
            # model_at follows lists, dicts and optionals down to a nested model.
            for path in ((name,), (name, 0), (name, "key")):
                nested = model_at(model, path)
                if nested is not None and nested is not model:
                    pending.append(nested)
    return found


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"<!-- model: (\w+) -->", text)
    result = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        # A section ends at the next model marker (split) or the next "## " chapter.
        result[name] = re.split(r"^## ", body, flags=re.MULTILINE)[0]
    return result


def test_every_model_reachable_from_the_files_is_found() -> None:
    assert set(reachable_models()) == {
        "Schedules",
        "Defaults",
        "UtmDefaults",
        "Growth",
        "TemplateLimits",
        "InboxSettings",
        "Campaign",
        "Post",
        "ChannelOverride",
        "LiveSession",
        "Announcement",
        "ChannelFile",
        "SecretRef",
    }


def test_every_field_is_documented_in_its_section() -> None:
    documented = sections(DOC.read_text(encoding="utf-8"))
    missing = []
    for name, model in sorted(reachable_models().items()):
        if name not in documented:
            missing.append(f"{name}: no <!-- model: {name} --> section")
            continue
        rows = set(re.findall(r"^\| `([A-Za-z_]+)` \|", documented[name], flags=re.MULTILINE))
        missing += [f"{name}.{field}" for field in model.model_fields if field not in rows]
    assert missing == [], "undocumented in docs/workspace.md: " + ", ".join(missing)


def test_no_documented_key_is_stale() -> None:
    documented = sections(DOC.read_text(encoding="utf-8"))
    models = reachable_models()
    stale = []
    for name, body in documented.items():
        rows = re.findall(r"^\| `([A-Za-z_]+)` \|", body, flags=re.MULTILINE)
        stale += [f"{name}.{row}" for row in rows if row not in models[name].model_fields]
    assert stale == [], "documented but not in the models: " + ", ".join(stale)
