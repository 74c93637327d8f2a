"""The workspace cannot reach outside itself: ``WorkspacePaths``, the one place file names of a
workspace (templates and what they include, import or extend, media; FAQ and reply files) are
turned into files on disk.

A name is resolved the way the operating system will open it (``Path.resolve()``: symbolic
links followed, ``..`` applied) and must land inside the workspace folder, or inside a folder
``schedules.yaml`` lists under ``allowed_paths:``. Anything else is refused before the file is
opened (``OutsideWorkspace``, a ``WorkspaceError`` naming the file and the fix), so that a
template linked to ``~/.aws/credentials`` or ``media: [/etc/passwd]`` is never read, let alone
published. ``cm check`` refuses them at their line; the renderer and the adapters ask again when
they open the file, so that a link changed after the check is refused too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cm_toolkit.errors import Problem, WorkspaceError

OUTSIDE_FIX = (
    "copy the file into the workspace (e.g. assets/ or templates/), or list its folder under "
    "allowed_paths: in schedules.yaml (docs/workspace.md, 'Files outside the workspace')"
)


class OutsideWorkspace(WorkspaceError):
    """A file name of the workspace leads outside it. ``problem`` says which and how to fix."""

    def __init__(self, problem: Problem) -> None:
        super().__init__([problem])
        self.problem = problem
        self.message, self.fix = problem.message, problem.fix


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of links: treated as leading nowhere allowed
        return Path("/\0unresolvable")


@dataclass(frozen=True)
class WorkspacePaths:
    """The folders a workspace's files may live in: its root and its ``allowed_paths``."""

    root: Path
    allowed: tuple[Path, ...] = ()

    @classmethod
    def of(cls, root: Path, allowed_paths: Iterable[str] = ()) -> WorkspacePaths:
        """``allowed_paths`` as written in schedules.yaml: relative to ``root``, absolute, or
        starting with ``~``."""
        root = Path(root)
        allowed = tuple(_resolve(root / Path(p).expanduser()) for p in allowed_paths)
        return cls(_resolve(root), allowed)

    @property
    def folders(self) -> tuple[Path, ...]:
        return (self.root, *self.allowed)

    def is_inside(self, path: Path) -> bool:
        """True when ``path``, once resolved, is in the workspace or an allowed folder."""
        real = _resolve(path)
        return any(real == folder or real.is_relative_to(folder) for folder in self.folders)

    def refusal(self, path: Path, shown: str) -> Problem | None:
        """Why ``path`` (written ``shown`` in the user's file) may not be used; None if it may.
        The file is not opened."""
        if self.is_inside(path):
            return None
        real = _resolve(path)
        if os.path.isabs(shown) or ".." in Path(shown).parts:
            what = f"`{shown}` is outside the workspace"
        else:
            what = f"`{shown}` is a link to {real}, outside the workspace"
        return Problem(shown, None, None, what, OUTSIDE_FIX)

    def check(self, path: Path, shown: str) -> Path:
        """``path`` resolved; raises ``OutsideWorkspace`` when it leads outside."""
        refused = self.refusal(path, shown)
        if refused is not None:
            raise OutsideWorkspace(refused)
        return _resolve(path)

    def media(self, item: str) -> Path:
        """A media path as written in the workspace (relative to its root, or absolute),
        resolved; raises ``OutsideWorkspace``."""
        return self.check(self.root / item, item)

    def open_binary(self, path: Path, shown: str | None = None) -> BinaryIO:
        """Open ``path`` for reading once it is known to be inside (checked now, at open)."""
        return self.check(path, shown or str(path)).open("rb")

    def read_text(self, path: Path, shown: str | None = None) -> str:
        with self.open_binary(path, shown) as stream:
            return stream.read().decode("utf-8")

    def outside_entries(self, folder: Path) -> Iterator[tuple[Path, Path]]:
        """(entry, where it leads) for every file or folder under ``folder`` that leads
        outside; links to folders are reported, not followed."""
        if not folder.is_dir():
            return
        if not self.is_inside(folder):
            yield folder, _resolve(folder)
            return
        for current, folders, files in os.walk(folder):
            base = Path(current)
            for name in sorted([*folders, *files]):
                entry = base / name
                if entry.is_symlink() and not self.is_inside(entry):
                    yield entry, _resolve(entry)
