"""Known template-injection payloads are refused with a clear message and never executed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cm_toolkit.errors import TemplateError
from cm_toolkit.templates import TemplateRenderer
from cm_toolkit.templates.environment import TemplateSandbox, UnsafeTemplate

from .conftest import make_context

Build = Callable[..., TemplateRenderer]

MARKER = "cm-sandbox-marker"

# Server-side template injection payloads for Jinja2 (PayloadsAllTheThings, HackTricks and
# Jinja's own security advisories). Each one must fail; none may run.
PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__()[40]('/etc/passwd').read() }}",
    "{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}",
    "{{ joiner.__init__.__globals__.os.popen('touch {marker}').read() }}",
    "{{ namespace.__init__.__globals__.os.popen('touch {marker}').read() }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch {marker}') }}",
    "{{ self.__init__.__globals__.__builtins__ }}",
    "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}",
    "{{ lipsum.__globals__.os.popen('touch {marker}').read() }}",
    "{{ config.__class__.__init__.__globals__['os'].popen('ls').read() }}",
    "{{ config.__class__ }}",
    "{{ url_for.__globals__['current_app'].config }}",
    "{{ get_flashed_messages.__globals__.__builtins__.open('/etc/passwd').read() }}",
    "{{ post.__class__ }}",
    "{{ post['__class__'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "{{ ()|attr('__class__')|attr('__base__')|attr('__subclasses__')() }}",
    "{{ ''|attr('_' ~ '_class_' ~ '_') }}",
    "{{ post[('_' ~ '_class_' ~ '_')] }}",
    "{% set x = '_' ~ '_globals_' ~ '_' %}{{ lipsum|attr(x) }}",
    "{{ '{0.__class__.__mro__}'.format(post) }}",
    "{{ '%s'.format.__self__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ at.__class__.__init__.__globals__ }}",
    "{{ session.start.tzinfo.__class__ }}",
    "{{ post.media.append('x') }}",
    "{{ variables.update({'a': 1}) }}",
    "{{ 'x' * 1000000000 }}",
    "{{ [1] * 1000000000 }}",
    "{{ 9 ** 999999999 }}",
    "{{ range(100000000) | list | length }}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payload_is_refused(workspace_with: Build, tmp_path: Path,
                                      payload: str) -> None:
    marker = tmp_path / MARKER
    renderer = workspace_with({"t.j2": payload.replace("{marker}", str(marker))})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context())
    problem = caught.value.problem
    assert problem.file == "templates/t.j2"
    assert problem.line == 1
    assert problem.message.startswith("refused:")
    assert not marker.exists()


STATIC = [p for p in PAYLOADS if (".__" in p or "['__" in p or "._" in p) and "'{0." not in p]


@pytest.mark.parametrize("payload", STATIC)
def test_a_literal_internal_attribute_is_refused_before_running(payload: str) -> None:
    # Compiling alone refuses it: the template is never executed.
    with pytest.raises(UnsafeTemplate):
        TemplateRenderer(None).env.from_string(payload)


def test_refusal_message_is_clear(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "ok\n{{ ''.__class__.__mro__ }}"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context())
    assert caught.value.problem.line == 2
    assert caught.value.problem.message.startswith("refused:")
    assert "__class__" in caught.value.problem.message
    assert "Python internals" in caught.value.problem.fix


def test_runtime_refusal_is_clear(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": "{{ ''|attr('_' ~ '_class_' ~ '_') }}"})
    with pytest.raises(TemplateError) as caught:
        renderer.render_for("x", "t", make_context())
    assert caught.value.problem.message.startswith("refused:")


def test_the_environment_is_a_jinja_sandbox() -> None:
    from jinja2.sandbox import SandboxedEnvironment

    assert isinstance(TemplateRenderer(None).env, SandboxedEnvironment)
    assert isinstance(TemplateRenderer(None).env, TemplateSandbox)


def test_ordinary_templates_still_work(workspace_with: Build) -> None:
    renderer = workspace_with({"t.j2": (
        "{{ 'ab' * 3 }} {{ 2 ** 10 }} {{ post.media | length }} {{ course | upper }} "
        "{{ '{} {}'.format('a', 'b') }} {% for i in range(3) %}{{ i }}{% endfor %}")})
    assert renderer.render_for("x", "t", make_context()).text == (
        "ababab 1024 0 DU MANAGER AU LEADER 2.0 a b 012"
    )
