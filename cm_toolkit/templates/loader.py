"""The loader of the sandbox: template names -> files, inside the workspace only.

Used by ``environment.build_environment``; the rule itself (what "inside" means, links followed)
is ``workspace/paths.py``'s.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, TemplateNotFound
from jinja2.loaders import split_template_path

from cm_toolkit.errors import Problem
from cm_toolkit.templates.front_matter import blank_front_matter
from cm_toolkit.workspace.paths import OutsideWorkspace, WorkspacePaths


class FrontMatterLoader(FileSystemLoader):
    """Finds ``name`` under one folder, refusing what leads outside the workspace
    (``WorkspacePaths``: an absolute name, ``..``, a link out), before the file is opened, each
    time it is loaded (a link changed after ``cm check`` is refused at send time too). Hands
    Jinja the body only: the front matter lines are blanked (kept as empty lines so that error
    line numbers stay those of the file)."""

    def __init__(self, folder: Path, paths: WorkspacePaths, shown: str) -> None:
        super().__init__(str(folder))
        self.folder = folder
        self.paths = paths
        self.shown = shown  # how the folder is named in messages: templates, <built-in>

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        if template.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", template) or ".." in \
                re.split(r"[/\\]", template):
            raise OutsideWorkspace(Problem(
                f"{self.shown}/{template.lstrip('/')}", None, None,
                f"'{template}' is not a name in templates/: a template includes, imports and "
                "extends only files of the workspace's templates/ folder",
                "copy the text into a file of templates/ (e.g. templates/_part.j2) and write "
                "{% include '_part.j2' %}"))
        path = self.folder.joinpath(*split_template_path(template))
        real = self.paths.check(path, f"{self.shown}/{template}")
        if not real.is_file():
            raise TemplateNotFound(template)
        source = self.paths.read_text(path, f"{self.shown}/{template}")
        mtime = os.path.getmtime(real)

        def uptodate() -> bool:
            # a link changed since: load again (and check again)
            try:
                return path.resolve() == real and os.path.getmtime(real) == mtime
            except OSError:
                return False

        return blank_front_matter(source), os.path.normpath(path), uptodate
