"""Turn whatever went wrong inside Jinja into one ``TemplateError(Problem(file, line, ...))``.

The author of a template never sees a Python traceback: an undefined name says which file, which
line and "did you mean"; a syntax error says where; an attempt to reach Python internals says it
was refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import TemplateNotFound, TemplateSyntaxError
from jinja2.exceptions import SecurityError, TemplateAssertionError
from jinja2.utils import missing

from cm_toolkit.errors import Problem, TemplateError
from cm_toolkit.templates.context import HostLinks
from cm_toolkit.templates.environment import (
    TEMPLATE_SUFFIX,
    TemplateTooLarge,
    UndefinedVariable,
    UnsafeTemplate,
)
from cm_toolkit.templates.filters import FilterError
from cm_toolkit.templates.limits import LIMITS_FIX, RenderLimitExceeded
from cm_toolkit.workspace.paths import OutsideWorkspace

SECURITY_FIX = (
    "templates may only use the documented names and filters; remove the access to Python "
    "internals (see docs/templates.md, 'Safety')"
)


TOO_LARGE_FIX = (
    "a post template has a few hundred parts: look for text pasted many times over, or move "
    "what is shared into partials (limits: docs/templates.md, 'Limits')"
)
RECURSION_FIX = (
    "a macro that calls itself, or a file that includes, imports or extends itself, must stop: "
    "call it again only under an {% if %} that becomes false"
)
NESTING_FIX = "split the expression or the blocks into smaller ones ({% set %} a part first)"


class RenderLimitError(TemplateError):
    """A render ran out of time or size (``limits.RenderLimitExceeded``), as the user sees it."""

    timed_out = False


def display_path(filename: str | None, workspace_root: Path | None) -> str:
    """``/ws/templates/teaser.j2`` -> ``templates/teaser.j2``; built-ins -> ``<built-in>/...``."""
    if not filename:
        return "<template>"
    path = Path(filename)
    if workspace_root is not None:
        try:
            return path.resolve().relative_to(workspace_root.resolve()).as_posix()
        except ValueError:
            pass
    if "builtin" in path.parts:
        return f"<built-in>/{path.name}"
    return filename


def template_location(tb: TracebackType | None) -> tuple[str | None, int | None]:
    """(file, line) of the innermost template frame of a traceback Jinja rewrote.

    Jinja rewrites tracebacks so that frames of compiled templates carry the template's file
    name and line; the innermost one is where the failure is (a macro in ``_macros.j2`` ...).
    """
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(TEMPLATE_SUFFIX) or filename == "<template>":
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    names = sorted({c for c in candidates if not c.startswith("_")})
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    starting = [c for c in names if name and c.startswith(name)]
    if 0 < len(starting) <= 3:
        return "did you mean " + " or ".join(f"'{c}'" for c in starting) + "?"
    if names:
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"available here: {shown}"
    return ""


def _missing_host_link(links: HostLinks, name: str, file: str, line: int | None) -> Problem:
    """``session.links.NAME`` that the session does not have: not a host, or not created yet."""
    session_id, hosts = links._session_id, links._hosts
    if name in hosts:
        return Problem(file, line, None,
                       f"live session '{session_id}' has no {name} link yet: its {name} host "
                       "was not created (or its creation failed)",
                       "see cm sessions and cm review; or announce the link it has: "
                       "{{ session.link }}")
    shown = ", ".join(f"session.links.{host}" for host in hosts) or "none"
    return Problem(file, line, None,
                   f"live session '{session_id}' is not hosted on {name}: it has no "
                   f"session.links.{name}",
                   f"its links: {shown}; or add a {name} channel to its hosted_on in "
                   "schedules.yaml")


def _undefined_problem(
    error: UndefinedVariable, file: str, line: int | None, names: Mapping[str, Any]
) -> Problem:
    name = error.name
    obj = error.obj
    if obj is missing:
        return Problem(
            file, line, None, f"undefined variable '{name}'", did_you_mean(str(name), names)
        )
    if obj is None:
        return Problem(
            file,
            line,
            None,
            f"cannot read '{name}' of an empty value (None)",
            "this value is None here (e.g. 'session' for a post tied to no live session: "
            "only a session's announcements have one): guard it with {% if ... %}",
        )
    if isinstance(obj, HostLinks):
        return _missing_host_link(obj, str(name), file, line)
    if isinstance(obj, Mapping):
        return Problem(
            file, line, None, f"unknown field '{name}'", did_you_mean(str(name), obj.keys())
        )
    return Problem(
        file,
        line,
        None,
        f"'{type(obj).__name__}' value has no field '{name}'",
        did_you_mean(str(name), [a for a in dir(obj) if not a.startswith("_")]),
    )


def to_template_error(
    exc: BaseException,
    *,
    workspace_root: Path | None,
    names: Mapping[str, Any],
    filters: Iterable[str],
    default_file: str,
) -> TemplateError:
    """The ``TemplateError`` a user sees for ``exc`` raised while loading/rendering a template.

    ``default_file`` is used when the failure cannot be placed in a template file.
    """
    if isinstance(exc, TemplateError):
        return exc
    if isinstance(exc, UnsafeTemplate):
        return TemplateError(
            Problem(display_path(exc.filename, workspace_root), exc.lineno, None, exc.message or
                    "refused: the template reaches for Python internals", SECURITY_FIX)
        )
    if isinstance(exc, TemplateTooLarge):
        return RenderLimitError(Problem(display_path(exc.filename, workspace_root) if
                                        exc.filename else default_file, exc.lineno, None,
                                        exc.message or "too long", TOO_LARGE_FIX))
    if isinstance(exc, TemplateSyntaxError):
        file = display_path(exc.filename, workspace_root)
        message = exc.message or "syntax error"
        fix = "check the {{ }}, {% %} and {# #} pairs on this line"
        if isinstance(exc, TemplateAssertionError) and "No filter named" in message:
            unknown = message.split("'")[1] if "'" in message else ""
            fix = did_you_mean(unknown, filters)
            message = f"unknown filter '{unknown}'"
        return TemplateError(Problem(file, exc.lineno, None, message, fix))
    file_name, line = template_location(exc.__traceback__)
    file = display_path(file_name, workspace_root) if file_name else default_file
    if isinstance(exc, UndefinedVariable):
        return TemplateError(_undefined_problem(exc, file, line, names))
    if isinstance(exc, OutsideWorkspace):
        # in an include/import/extends: at that line; the template itself: the file
        problem = exc.problem
        if file_name is None:
            return TemplateError(problem)
        return TemplateError(Problem(file, line, None, problem.message, problem.fix))
    if isinstance(exc, RenderLimitExceeded):
        error = RenderLimitError(Problem(file, line, None, str(exc), LIMITS_FIX))
        error.timed_out = exc.timed_out
        return error
    if isinstance(exc, OverflowError) and "range" in str(exc).lower():
        # Jinja's sandbox refusing range(N) over MAX_RANGE: a limit met, not an attack
        return RenderLimitError(Problem(file, line, None,
                                        "refused: a range() of more than 100,000 numbers",
                                        LIMITS_FIX))
    if isinstance(exc, RecursionError):
        if file_name is None:  # while reading the file: brackets or blocks nested too deeply
            return TemplateError(Problem(file, None, None,
                                         "the template nests brackets or blocks too deeply to "
                                         "be read", NESTING_FIX))
        return RenderLimitError(Problem(file, line, None,
                                        "a macro or a template calls itself without end",
                                        RECURSION_FIX))
    if isinstance(exc, SecurityError):
        return TemplateError(
            Problem(file, line, None, f"refused: {exc}".replace("refused: refused: ", "refused: "),
                    SECURITY_FIX)
        )
    if isinstance(exc, TemplateNotFound):
        wanted = exc.name if isinstance(exc.name, str) else str(exc.name)
        return TemplateError(
            Problem(file, line, None, f"'{wanted}' not found",
                    f"create templates/{wanted} or fix the name")
        )
    if isinstance(exc, FilterError):
        return TemplateError(Problem(file, line, None, str(exc), "see docs/templates.md, filters"))
    # Anything else raised while rendering (a filter given the wrong type, a division by zero)
    # is still the template's problem, not a crash.
    return TemplateError(
        Problem(file, line, None, f"the template failed: {type(exc).__name__}: {exc}",
                "check the values and filters used on this line")
    )
