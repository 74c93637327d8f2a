"""Templates are bounded in time and memory (templates/limits.py, templates/guards.py).

Each way to build a huge text from a small template is refused at its file:line, before the
memory is taken (peak measured with tracemalloc); a loop that never ends stops at the time limit
(a stepped clock: no wall-clock slack); a render is stopped at once by its cancel event.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable

import pytest

from cm_toolkit.errors import TemplateError
from cm_toolkit.templates import TemplateRenderer
from cm_toolkit.templates.limits import RenderCancelled, RenderLimits

from .conftest import SteppedClock, make_context

Build = Callable[..., TemplateRenderer]
MB = 2**20

NESTED_LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"

BLOW_UPS = [
    "{{ 'a'.zfill(1000000000) }}",
    "{{ 'a'.ljust(800000000) }}",
    "{{ 'a'.rjust(800000000) }}",
    "{{ 'a'.center(800000000) }}",
    "{{ 'a' | center(900000000) }}",
    "{{ '%900000000s' % 'a' }}",
    "{{ '%.900000000f' % 1.5 }}",
    "{{ '%*s' % (900000000, 'a') }}",
    "{{ '{:>900000000}'.format('a') }}",
    "{{ '{:>{w}}'.format('a', w=900000000) }}",
    "{{ '%s %s' | format('a', 'b') | center(900000000) }}",
    "{{ '%900000000s' | format('a') }}",
    "{{ 'a' | indent(900000000) }}",
    "{{ ('a\\n' * 50000) | indent(50000) }}",
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}{{ ns.s }}"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
     "{% endfor %}{{ ns.s }}"),
    "{{ ('a' * 100000) | replace('a', 'bbbbbbbbbb') }}",
    "{{ ('a' * 100000).replace('', 'b' * 100000) }}",
    "{{ range(100000) | join('x' * 100000) }}",
    "{{ ('x' * 1000).join(range(100000) | map('string')) }}",
    "{{ ('x' * 50000) | wordwrap(1, wrapstring='y' * 50000) }}",
    "{{ 'a\tb'.expandtabs(900000000) }}",
    "{{ 'ab'.translate({97: 'c' * 100000}) }}",
    "{{ [1] | batch(900000000, 'x') | list }}",
    "{{ [1] | slice(100000000) | list }}",
    "{{ {'a': [1, 2]} | tojson(indent=900000000) }}",
    "{{ lipsum(100000000) }}",
    "{{ (1).to_bytes(900000000, 'big') }}",
    ("{% set s = 'a' * 100000 %}{% set big %}{% for i in range(100000) %}{{ s }}{% endfor %}"
     "{% endset %}x"),
    "{% set s = 'a' * 100000 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
    ("{% set a = ['a' * 100000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
     "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{% set d = [c, c, c, c, c, c, c, c, c, c] %}"
     "{{ d }}"),
    "{% set t = ('a' * 100000,) %}{{ (t * 100000) | map('upper') | list | length }}",
    # nesting one list in another: small in memory, endless to print, compare or hash
    ("{% set ns = namespace(l=[1], m=[1]) %}{% for i in range(40) %}"
     "{% set ns.l = [ns.l, ns.l] %}{% set ns.m = [ns.m, ns.m] %}{% endfor %}{{ ns.l == ns.m }}"),
    ("{% set ns = namespace(t=(1,)) %}{% for i in range(40) %}{% set ns.t = (ns.t, ns.t) %}"
     "{% endfor %}{{ {ns.t: 1} | length }}"),
    ("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
     "{% endfor %}{{ ns.l | length }}"),
    "{% set big = [1] | batch(100000, ['x' * 100]) | list %}{{ big == big[:] }}",
    "{{ {}.fromkeys(range(100000), 'x' * 100000) | length }}",
    ("{% macro big() %}{{ 'a' * 100000 }}{% endmacro %}{% set ns = namespace(s='') %}"
     "{% for i in range(100) %}{% set ns.s = ns.s ~ big() %}{% endfor %}"),
]


def render(renderer: TemplateRenderer, template: str = "t") -> str:
    return renderer.render_for("x", template, make_context()).text


def refused(renderer: TemplateRenderer) -> tuple[TemplateError, int]:
    """The error of rendering ``t``, and the peak memory it took."""
    tracemalloc.start()
    try:
        with pytest.raises(TemplateError) as caught:
            render(renderer)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return caught.value, peak


@pytest.mark.parametrize("expression", BLOW_UPS)
def test_each_memory_blow_up_is_refused_at_its_line_before_the_memory_is_taken(
    workspace_with: Build, expression: str
) -> None:
    renderer = workspace_with({"t.j2": "Bonjour\n" + expression})
    renderer.env.clock = lambda: 0.0  # the size limit is tested: time stands still
    error, peak = refused(renderer)
    assert peak < 64 * MB, f"{peak / MB:.0f} MB for {expression}"
    assert error.problem.file == "templates/t.j2"
    assert error.problem.line == 2, str(error)
    assert "produced more than" in error.problem.message, str(error)
    assert "docs/templates.md, 'Limits'" in error.problem.fix


def test_the_nested_loop_stops_at_the_time_limit_at_its_line(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "Bonjour\n\n" + NESTED_LOOP})
    renderer.env.clock = SteppedClock(0.01)  # 2 s after 200 steps
    error, _peak = refused(renderer)
    assert str(error) == (
        "templates/t.j2:3: this template ran longer than 2 s — a post is a few thousand "
        "characters: look for a loop, a repeated or padded text that never ends, or a width "
        "far too large (limits: docs/templates.md, 'Limits')"
    )


def test_deep_recursion_without_a_loop_stops_too(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}"
                                       "{% endif %}{% endmacro %}\n{{ f(40) }}"})
    renderer.env.clock = SteppedClock(0.01)
    error, _peak = refused(renderer)
    assert "ran longer than 2 s" in error.problem.message


def test_a_loop_inside_an_included_file_is_placed_in_that_file(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "a\n{% include '_loop.j2' %}", "_loop.j2": "\n" + NESTED_LOOP})
    renderer.env.clock = SteppedClock(0.01)
    error, _peak = refused(renderer)
    assert (error.problem.file, error.problem.line) == ("templates/_loop.j2", 2)


def test_the_limits_are_the_workspace_s(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "{{ 'x' * 5000 }}"})
    assert len(render(renderer)) == 5000
    renderer.env.limits = RenderLimits(seconds=2, characters=1000)
    error, _peak = refused(renderer)
    assert error.problem.message == "this template produced more than 1,000 characters"


def test_options_and_body_share_one_time_budget(workspace_with: Build) -> None:
    loop = "{% for i in range(150) %}{% endfor %}"
    renderer = workspace_with({"t.j2": f'---\ntitle: "{loop}T"\n---\n{loop}body'})
    renderer.env.clock = SteppedClock(0.01)  # each part alone: 1.5 s; together: over 2 s
    error, _peak = refused(renderer)
    assert "ran longer than 2 s" in error.problem.message


def test_ordinary_templates_are_untouched(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": (
        "{% for tag in tags %}#{{ tag | upper }}{{ ' ' if not loop.last }}{% endfor %}\n"
        "{{ '%s, %d' | format('a', 3) }} {{ '{:>5}'.format('b') }} {{ tags | join(', ') }}\n"
        "{{ ('x' ~ 'y') | center(6) }}|{{ 'abc'.replace('b', 'BB') }}|{{ [1, 2] | sum }}"
    )})
    assert render(renderer) == (
        "#LEADERSHIP #MOOCa, 3     b leadership, MOOC\n  xy  |aBBc|3"
    )


def test_a_cancelled_render_stops_at_once_and_is_not_a_template_problem(
    workspace_with: Build,
) -> None:
    renderer = workspace_with({"t.j2": NESTED_LOOP})
    renderer.env.limits = RenderLimits(seconds=30)
    renderer.cancel = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            render(renderer)
        except BaseException as error:  # noqa: BLE001 - kept for the assertion
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    renderer.cancel.set()
    worker.join(timeout=20)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], RenderCancelled)


# Found by the recheck of issue 15: each took gigabytes or minutes, or gave the wrong fix.
LIMITS_MET = [
    "{{ ('a'.encode('ascii') * 1000000000) | length }}",  # bytes: 1 GB before the refusal
    "{{ 'a'.encode() * 900000000 }}",
    "{{ 9 ** 999999 }}",
    "{% for i in range(0, 10 ** 18) %}{% endfor %}",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",  # a macro that calls itself forever
    "{% include 't.j2' %}",  # a file that includes itself
]


@pytest.mark.parametrize("expression", LIMITS_MET)
def test_a_limit_met_is_refused_at_its_line_with_the_limits_fix(
    workspace_with: Build, expression: str
) -> None:
    renderer = workspace_with({"t.j2": "Bonjour\n" + expression})
    error, peak = refused(renderer)
    assert peak < 64 * MB, f"{peak / MB:.0f} MB for {expression}"
    assert (error.problem.file, error.problem.line) == ("templates/t.j2", 2), str(error)
    assert "Python internals" not in error.problem.fix, str(error)
    assert "itself" in error.problem.fix or "'Limits'" in error.problem.fix, str(error)


@pytest.mark.parametrize("source", [
    "{{ course }} {{ course }}\n" * 50_000,  # 1.25 MB: minutes and gigabytes to compile
    "{{a}}" * 150_000,  # under 1 MB, but 450,000 parts
])
def test_a_template_too_long_to_compile_is_refused_before_it_is_compiled(
    workspace_with: Build, source: str
) -> None:
    renderer = workspace_with({"t.j2": source})
    error, peak = refused(renderer)
    assert peak < 64 * MB, f"{peak / MB:.0f} MB"
    assert error.problem.file == "templates/t.j2"
    assert "this template" in error.problem.message and (
        "characters long" in error.problem.message or "parts" in error.problem.message)
    assert "partials" in error.problem.fix


def test_brackets_nested_too_deeply_are_one_problem_with_a_fix(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "{{ " + "(" * 50_000 + "1" + ")" * 50_000 + " }}"})
    error, _peak = refused(renderer)
    assert error.problem.file == "templates/t.j2"
    assert "too deeply" in error.problem.message and "RecursionError" not in str(error)


def test_the_time_limit_counts_the_renders_cpu_not_a_slow_machine() -> None:
    """A render descheduled (a busy machine) or waiting is not a loop: past its limit on the
    wall but not in CPU, it goes on; a render that computes is stopped."""
    import time

    from cm_toolkit.templates.limits import RenderBudget, RenderTimeout

    budget = RenderBudget(RenderLimits(seconds=0.2))
    time.sleep(0.3)  # the wall passes the limit; this thread used no CPU meanwhile
    budget.tick()  # not refused
    with pytest.raises(RenderTimeout, match="ran longer than 0.2 s"):
        while True:  # computing: stopped once 0.2 s of CPU are used (or 2 s of wall)
            budget.tick()
