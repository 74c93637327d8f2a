"""Which template names a workspace offers (``templates/``), without loading any template.

Convention (shared with ``cm_toolkit.templates``): the template ``teaser`` is the file
``templates/teaser.j2``; per-network variants are ``templates/teaser.<network>.j2``
(``teaser.x.j2``, ``teaser.facebook.j2``); sub-folders are part of the name (``live/reminder``).
Files whose name (or folder) starts with ``_`` are partials and macros, not templates. A name
exists when its base file or any variant exists.
"""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.workspace.networks import known_networks

TEMPLATE_SUFFIX = ".j2"


def template_name(relative: Path) -> str | None:
    """The template name of a file path relative to ``templates/`` (None: not a template)."""
    if relative.suffix != TEMPLATE_SUFFIX or any(p.startswith("_") for p in relative.parts):
        return None
    stem = relative.name[: -len(TEMPLATE_SUFFIX)]
    base, dot, variant = stem.rpartition(".")
    if dot and base and variant in known_networks():
        stem = base
    if not stem:
        return None
    return (relative.parent / stem).as_posix()


def list_templates(root: Path) -> list[str]:
    """Sorted template names available under ``root/templates`` (empty when it is missing)."""
    return names_in(root / "templates")


def builtin_templates() -> list[str]:
    """Names of the templates shipped with cm-toolkit (a workspace file may shadow them)."""
    # Imported here: only this path is needed, not Jinja, to load a workspace.
    from cm_toolkit.templates.environment import BUILTIN_TEMPLATES

    return names_in(BUILTIN_TEMPLATES)


def names_in(folder: Path) -> list[str]:
    """Sorted template names of the ``.j2`` files under ``folder``."""
    if not folder.is_dir():
        return []
    names = set()
    for path in folder.rglob(f"*{TEMPLATE_SUFFIX}"):
        if path.is_file():
            name = template_name(path.relative_to(folder))
            if name is not None:
                names.add(name)
    return sorted(names)
