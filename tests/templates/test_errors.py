"""Template mistakes become TemplateError(Problem(file, line, message, fix)), never tracebacks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cm_toolkit.errors import TemplateError
from cm_toolkit.templates import TemplateRenderer

from .conftest import make_context

Build = Callable[..., TemplateRenderer]


def fail(renderer: TemplateRenderer, template: str = "t", **context: object) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", template, make_context(**context))  # type: ignore[arg-type]
    return caught.value


def test_undefined_variable_names_file_line_and_suggests(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "Bonjour\n\n{{ cours }} !"}))
    assert error.problem.file == "templates/t.j2"
    assert error.problem.line == 3
    assert error.problem.message == "undefined variable 'cours'"
    assert error.problem.fix == "did you mean 'course'?"
    assert str(error).startswith("templates/t.j2:3: undefined variable 'cours'")


def test_unknown_field_suggests_among_the_object_fields(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "{{ session.titel }}"}))
    assert error.problem.message == "unknown field 'titel'"
    assert error.problem.fix == "did you mean 'title'?"


def test_a_field_of_a_missing_session_explains_none(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "{{ session.title }}"}), with_session=False)
    assert "None" in error.problem.message
    assert "{% if" in error.problem.fix


def test_undefined_inside_a_macro_points_at_the_macro_file(workspace_with: Build) -> None:
    renderer = workspace_with({
        "_macros.j2": "{% macro sig() %}\n— {{ signatur }}\n{% endmacro %}",
        "t.j2": "{% import '_macros.j2' as m %}\n{{ m.sig() }}",
    })
    error = fail(renderer)
    assert (error.problem.file, error.problem.line) == ("templates/_macros.j2", 2)


def test_nothing_undefined_is_silently_blank(workspace_with: Build) -> None:
    for body in ("{% if absent %}x{% endif %}", "{% for x in absent %}{% endfor %}",
                 "{{ absent ~ 'x' }}", "{{ post.absent }}"):
        assert isinstance(fail(workspace_with({"t.j2": body})), TemplateError)


def test_default_filter_is_the_way_to_allow_a_missing_value(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "{{ absent | default('ok') }}"})
    assert renderer.render_for("x", "t", make_context()).text == "ok"


def test_syntax_error_names_the_line(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "ligne 1\n{% if x %}\nsans fin"}))
    assert error.problem.file == "templates/t.j2"
    assert error.problem.line is not None and error.problem.line >= 2


def test_unknown_filter_suggests_a_close_one(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "\n{{ session.start | date_lng }}"}))
    assert error.problem.line == 2
    assert error.problem.message == "unknown filter 'date_lng'"
    assert error.problem.fix == "did you mean 'date_long'?"


def test_a_missing_include_is_named(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "{% include '_absent.j2' %}"}))
    assert "_absent.j2" in error.problem.message


def test_runtime_failures_are_template_problems(workspace_with: Build) -> None:
    error = fail(workspace_with({"t.j2": "a\n{{ 1 / 0 }}"}))
    assert error.problem.line == 2
    assert "ZeroDivisionError" in error.problem.message
