"""Macro files imported ``with context`` are made once and lent to each render
(``templates/module_pool.py``): every render must still see its own names."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cm_toolkit.errors import TemplateError
from cm_toolkit.templates import TemplateRenderer
from cm_toolkit.templates.limits import RenderLimits

from .conftest import make_context

Build = Callable[..., TemplateRenderer]

MACROS = (
    "{#- shared macros -#}\n"
    "{% macro signature() -%}{% if network == 'x' %}X {{ course }}"
    "{% else %}{{ course }} · {{ channel.id }}{% endif %}{%- endmacro %}\n"
    "{% macro tagged(url) -%}{{ url | utm }}{%- endmacro %}\n"
    "{% macro hashtag_set(extra=[]) -%}{{ (tags + extra) | hashtags }}{%- endmacro %}\n"
)


def _roomy(renderer: TemplateRenderer) -> TemplateRenderer:
    # What is under test is the text, not the limits: a first render also pays for imports,
    # which on a busy machine can take the 2 s of the default limit.
    renderer.env.limits = RenderLimits(seconds=120)
    return renderer


@pytest.fixture
def renderer(workspace_with: Build) -> TemplateRenderer:
    return _roomy(workspace_with({
        "_macros.j2": MACROS,
        "post.j2": ("{% import '_macros.j2' as m with context %}"
                    "{{ m.signature() }} | {{ m.tagged('https://ex.org/a') }} | {{ m.hashtag_set() }}"),
        "twice.j2": ("{% import '_macros.j2' as m with context %}"
                     "{% macro as_x(network) %}{% import '_macros.j2' as n with context %}"
                     "{{ n.signature() }}{% endmacro %}"
                     "{{ m.signature() }} / {{ as_x('x') }} / {{ m.signature() }}"),
        "broken.j2": "{% import '_macros.j2' as m with context %}{{ m.signature() }}{{ nope }}",
    }))


def _text(renderer: TemplateRenderer, network: str, template: str = "post",
          course: str = "C") -> str:
    context = make_context(network, variables={"course": course})  # type: ignore[arg-type]
    return renderer.render_for(network, template, context).text  # type: ignore[arg-type]


def test_each_render_sees_its_own_names_in_an_imported_macro_file(
        renderer: TemplateRenderer) -> None:
    seen = [_text(renderer, network, course=course)
            for course in ("Cours A", "Cours B") for network in ("x", "facebook", "linkedin")]
    def expected(course: str, network: str) -> str:
        who = f"X {course}" if network == "x" else f"{course} · {network}-channel"
        return (f"{who} | https://ex.org/a?utm_source={network}&utm_medium=social"
                "&utm_campaign=lancement&utm_content=teaser | #leadership #MOOC")

    assert seen == [expected(course, network)
                    for course in ("Cours A", "Cours B") for network in ("x", "facebook", "linkedin")]


def test_two_imports_in_one_render_each_see_their_own_context(
        renderer: TemplateRenderer) -> None:
    for _ in range(3):  # the modules of the first render are lent again to the next ones
        assert _text(renderer, "facebook", "twice") == (
            "C · facebook-channel / X C / C · facebook-channel")


def test_a_failed_render_leaves_the_next_ones_right(renderer: TemplateRenderer) -> None:
    assert _text(renderer, "x").startswith("X C |")
    with pytest.raises(TemplateError, match="nope"):
        _text(renderer, "facebook", "broken")
    assert _text(renderer, "facebook", course="D").startswith("D · facebook-channel |")


def test_a_pure_macro_file_is_made_once_for_many_renders(renderer: TemplateRenderer) -> None:
    for number in range(20):
        assert _text(renderer, "x", course=str(number)).startswith(f"X {number} |")
    macros = renderer.env.get_template("_macros.j2")
    assert macros.lent_modules is not None and len(macros.lent_modules) == 1  # type: ignore[attr-defined]


def test_a_macro_file_that_reads_names_at_its_top_is_made_per_import(
        workspace_with: Build) -> None:
    renderer = _roomy(workspace_with({
        "_macros.j2": ("{% set who = course ~ '!' %}"
                       "{% macro signature() %}{{ who }} {{ network }}{% endmacro %}"),
        "post.j2": "{% import '_macros.j2' as m with context %}{{ m.signature() }}",
    }))
    assert [_text(renderer, network, course=course) for course, network in
            (("A", "x"), ("B", "facebook"), ("C", "x"))] == ["A! x", "B! facebook", "C! x"]
    assert renderer.env.get_template("_macros.j2").lent_modules is None  # type: ignore[attr-defined]
