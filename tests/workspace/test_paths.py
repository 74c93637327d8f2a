"""A workspace cannot reach outside itself (workspace/paths.py): every file it names resolves,
links followed, inside the workspace or a folder of ``allowed_paths``. ``cm check`` refuses the
others at their line and never opens them; rendering and adapters refuse them again at send time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cm_toolkit.channels.base import Media
from cm_toolkit.cli import main
from cm_toolkit.errors import TemplateError
from cm_toolkit.planning import plan_workspace
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.templates.plan_check import check_plan
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.paths import OutsideWorkspace, WorkspacePaths
from tests.workspace.conftest import errors, the_problem

SECRET = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A private file outside the workspace, which must never be read."""
    path = tmp_path / "home" / ".aws" / "credentials"
    path.parent.mkdir(parents=True)
    _WATCHING[0] = False  # writing it is the test's own doing
    path.write_text(SECRET, encoding="utf-8")
    _WATCHING[0] = True
    return path


def set_media(workspace: Path, media: str) -> None:
    schedules = workspace / "schedules.yaml"
    text = schedules.read_text(encoding="utf-8")
    schedules.write_text(text.replace("media: [media/visual.png]", f"media: [{media}]"),
                         encoding="utf-8")


OPENED: list[str] = []
_WATCHING: list[bool] = [False]


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _WATCHING[0] and event == "open" and args and isinstance(args[0], (str, os.PathLike)):
        OPENED.append(os.fspath(args[0]))


sys.addaudithook(_audit)  # cannot be removed: it records only while a test watches


@pytest.fixture(autouse=True)
def never_opened(tmp_path: Path) -> Iterator[None]:
    """Every test here: no file under tmp_path/home (the private files) is ever opened."""
    OPENED.clear()
    _WATCHING[0] = True
    try:
        yield
    finally:
        _WATCHING[0] = False
    private = str(tmp_path / "home")
    assert [p for p in OPENED if p.startswith(private)] == []


def refuse_to_read(path: Path) -> None:
    """Also unreadable by permissions (root reads anyway: the audit hook still watches)."""
    path.chmod(0)


def test_a_template_linked_outside_is_refused_by_cm_check_and_never_read(
    workspace: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace / "templates" / "teaser.j2").unlink()
    (workspace / "templates" / "teaser.j2").symlink_to(secret)
    refuse_to_read(secret)
    code = main(["check", "--workspace", str(workspace)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"templates/teaser.j2: this is a link to {secret}, outside the workspace" in out
    assert "allowed_paths" in out
    assert "wJalrXUtnFEMI" not in out


def test_a_media_file_linked_outside_is_refused_at_its_line(
    workspace: Path, secret: Path
) -> None:
    (workspace / "media" / "visual.png").unlink()
    (workspace / "media" / "visual.png").symlink_to(secret)
    problem = the_problem(errors(workspace), "outside the workspace")
    assert (problem.file, problem.line) == ("schedules.yaml", 24)
    assert problem.message == (
        f'post "teaser": media file `media/visual.png` is a link to {secret}, outside the '
        "workspace"
    )
    assert problem.fix.startswith("copy the file into the workspace")


@pytest.mark.parametrize("written", ["/etc/passwd", "../home/.aws/credentials",
                                     "media/../../home/.aws/credentials"])
def test_absolute_and_dot_dot_media_are_refused(
    workspace: Path, secret: Path, written: str
) -> None:
    set_media(workspace, written)
    problem = the_problem(errors(workspace), "outside the workspace")
    assert problem.line == 24
    assert f"media file `{written}` is outside the workspace" in problem.message


def test_a_folder_listed_in_allowed_paths_may_be_used(workspace: Path, tmp_path: Path) -> None:
    kit = tmp_path / "brand-kit"
    kit.mkdir()
    (kit / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    set_media(workspace, "../brand-kit/logo.png")
    assert errors(workspace)  # not allowed yet
    schedules = workspace / "schedules.yaml"
    schedules.write_text("allowed_paths: [../brand-kit]\n" + schedules.read_text("utf-8"),
                         encoding="utf-8")
    assert errors(workspace) == []


def test_an_allowed_path_that_is_not_a_folder_is_an_error(workspace: Path) -> None:
    schedules = workspace / "schedules.yaml"
    schedules.write_text("allowed_paths: [../nowhere]\n" + schedules.read_text("utf-8"),
                         encoding="utf-8")
    problem = the_problem(errors(workspace), "allowed path")
    assert (problem.line, problem.message) == (1, "allowed path `../nowhere` is not a folder")


def test_a_link_inside_the_workspace_is_fine(workspace: Path) -> None:
    (workspace / "media" / "alias.png").symlink_to(workspace / "media" / "visual.png")
    set_media(workspace, "media/alias.png")
    assert errors(workspace) == []


@pytest.mark.parametrize("include", ["/etc/passwd", "../../home/.aws/credentials"])
def test_an_include_of_an_outside_name_is_refused_at_its_line(
    workspace: Path, secret: Path, include: str
) -> None:
    (workspace / "templates" / "teaser.j2").write_text(
        f"{{{{ course }}}}\n{{% include '{include}' %}}\n", encoding="utf-8")
    loaded, _ = load_workspace(workspace, settings_lookup=None)
    found = check_plan(loaded, plan_workspace(loaded).deliveries).problems
    problem = next(p for p in found if p.file == "templates/teaser.j2")
    assert problem.line == 2
    assert f"'{include}' is not a name in templates/" in problem.message
    assert "templates//" not in problem.fix and "create templates/" not in problem.fix
    assert "wJalrXUtnFEMI" not in str(found)


def test_an_included_partial_linked_outside_is_refused(workspace: Path, secret: Path) -> None:
    (workspace / "templates" / "teaser.j2").write_text(
        "{{ course }}\n{% include '_part.j2' %}\n", encoding="utf-8")
    (workspace / "templates" / "_part.j2").write_text("ok", encoding="utf-8")
    loaded, _ = load_workspace(workspace, settings_lookup=None)
    (workspace / "templates" / "_part.j2").unlink()
    (workspace / "templates" / "_part.j2").symlink_to(secret)
    # cm check: the link itself, as a file problem
    problem = the_problem(errors(workspace), "outside the workspace")
    assert problem.file == "templates/_part.j2" and problem.line is None
    # rendering (a link made after the check): the include, at its line
    found = check_plan(loaded, plan_workspace(loaded).deliveries).problems
    problem = next(p for p in found if p.file == "templates/teaser.j2")
    assert problem.line == 2
    assert f"`templates/_part.j2` is a link to {secret}, outside the workspace" in problem.message
    assert "wJalrXUtnFEMI" not in str(found)


def test_a_link_changed_after_the_check_is_refused_when_the_post_is_rendered(
    workspace: Path, secret: Path
) -> None:
    loaded, _ = load_workspace(workspace, settings_lookup=None)
    view = WorkspaceView.of(loaded)
    teaser = next(d for d in view.plan.deliveries if d.post_key == "teaser")
    assert view.render(teaser, 1, {}, at=teaser.due_at).media  # fine as checked
    (workspace / "media" / "visual.png").unlink()
    (workspace / "media" / "visual.png").symlink_to(secret)
    with pytest.raises(OutsideWorkspace) as refused:
        view.render(teaser, 1, {}, at=teaser.due_at)
    assert "media/visual.png` is a link to" in str(refused.value)
    (workspace / "media" / "visual.png").unlink()
    (workspace / "templates" / "teaser.j2").unlink()
    (workspace / "templates" / "teaser.j2").symlink_to(secret)
    refuse_to_read(secret)
    with pytest.raises(TemplateError) as template_refused:
        view.render(teaser, 1, {}, at=teaser.due_at)
    assert "outside the workspace" in str(template_refused.value)


def test_media_checks_again_when_the_adapter_opens_it(workspace: Path, secret: Path) -> None:
    paths = WorkspacePaths.of(workspace)
    media = Media(workspace / "media" / "visual.png", "image/png", confined_to=paths.folders)
    assert media.read_bytes().startswith(b"\x89PNG")
    (workspace / "media" / "visual.png").unlink()
    (workspace / "media" / "visual.png").symlink_to(secret)
    refuse_to_read(secret)
    with pytest.raises(OutsideWorkspace):
        media.read_bytes()


def test_a_template_s_media_option_outside_is_refused_at_its_line(
    workspace: Path, secret: Path
) -> None:
    (workspace / "templates" / "teaser.j2").write_text(
        f"---\ntitle: T\nmedia: [{secret}]\n---\n{{{{ course }}}}\n", encoding="utf-8")
    loaded, _ = load_workspace(workspace, settings_lookup=None)
    found = check_plan(loaded, plan_workspace(loaded).deliveries).problems
    problem = next(p for p in found if "outside the workspace" in p.message)
    assert (problem.file, problem.line) == ("templates/teaser.j2", 3)
    assert f"media file `{secret}` is outside the workspace" in problem.message
