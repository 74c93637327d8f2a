"""The Jinja2 environment templates run in: sandboxed, strict, workspace first.

Naming convention (other modules rely on it): template ``teaser`` is the file
``templates/teaser.j2`` (its default body) with optional per-network variants
``templates/teaser.<network>.j2`` (network: any the channel registry knows, a plugin's too). Files
whose name starts with ``_`` (``_macros.j2``) are shared partials and macros, never templates.

Safety, in three layers, because templates are written by people who are not developers and may
be pasted from anywhere:

1. at compile time, any attribute or item whose name starts with ``_`` (``''.__class__``,
   ``self._TemplateReference__context``, ``x|attr('__globals__')``) refuses the whole template
   (``UnsafeTemplate``): it is never executed;
2. at run time, Jinja's ``ImmutableSandboxedEnvironment`` (a ``SandboxedEnvironment``) refuses
   what the compile-time check cannot see (names built by string concatenation, ``str.format``
   tricks, mutation of lists and dicts);
3. time and size are bounded (``templates/limits.py``, ``templates/guards.py``): loops tick a
   deadline, every value built is measured (before it is built where an argument sets its
   size), the output is counted as it streams. ``TemplateSandbox`` holds the hooks;
4. compiling is bounded too: a template file of more than ``MAX_TEMPLATE_CHARACTERS`` characters
   or ``MAX_TEMPLATE_TOKENS`` parts is refused before it is compiled (``TemplateTooLarge``): Jinja
   spends about 0.1 ms and 10 KB per part, so an 8 MB file of ``{{ name }}`` lines took minutes
   and 7 GB in ``cm check``.

Layers 1 and 4 live in ``templates/compile_checks.py``.

``StrictUndefined`` turns every missing variable into an error (no silent blanks in a post).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Generator, Mapping
from pathlib import Path
from types import CodeType
from typing import Any, cast

from jinja2 import (
    ChoiceLoader,
    StrictUndefined,
    Template,
    nodes,
)
from jinja2.environment import TemplateModule
from jinja2.exceptions import UndefinedError
from jinja2.lexer import TokenStream
from jinja2.runtime import Context, new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from markupsafe import Markup

from cm_toolkit.templates import guards, module_pool
from cm_toolkit.templates.compile_checks import (
    MAX_TEMPLATE_CHARACTERS,
    Instrument,
    TemplateTooLarge,
    UnsafeTemplate,
    counted_tokens,
    unsafe_nodes,
)
from cm_toolkit.templates.limits import (
    RenderLimitExceeded,
    RenderLimits,
    current_budget,
    render_budget,
    text_size,
)
from cm_toolkit.templates.loader import FrontMatterLoader
from cm_toolkit.workspace.models import Network
from cm_toolkit.workspace.networks import known_networks
from cm_toolkit.workspace.paths import WorkspacePaths
from cm_toolkit.workspace.template_names import BUILTIN_TEMPLATES

TEMPLATE_SUFFIX = ".j2"

# Results of * bigger than this are refused (a post is a few thousand characters).
MAX_SEQUENCE_RESULT = 100_000
MAX_POWER_EXPONENT = 100
MAX_INT_BITS = 100_000  # ~30,000 digits: far beyond any count or date, far below a slow multiply


class UndefinedVariable(UndefinedError):
    """``StrictUndefined`` failure that remembers what was looked up, for "did you mean"."""

    def __init__(self, message: str | None = None, *, name: Any = None, obj: Any = missing):
        super().__init__(message)
        self.name = name
        self.obj = obj


class StrictUndefinedVariable(StrictUndefined):
    """``StrictUndefined`` whose error carries the missing name and the object searched."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: Any = None,
    ) -> None:
        # The sandbox passes exc=SecurityError for unsafe attributes: keep that one. Otherwise a
        # per-instance exception factory (Jinja raises ``exc(message)``) remembers name and obj.
        if exc is None or exc is UndefinedError:
            exc = functools.partial(UndefinedVariable, name=name, obj=obj)
        super().__init__(hint, obj, name, exc=exc)


_NUMBERS = frozenset({int, float})


class BoundedTemplate(Template):
    """``render()`` runs under the environment's limits (``templates/limits.py``): this is the
    one render entry point of user templates (check, preview, run, demo, replies)."""

    environment: TemplateSandbox
    lent_modules: list[module_pool.Lent] | None = None  # a pure macro file's (module_pool)

    @classmethod
    def from_code(cls, environment: Any, code: CodeType, globals: Any, uptodate: Any = None
                  ) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        if environment.cm_pure_codes.pop(code, False):
            template.lent_modules = []  # type: ignore[attr-defined]
        return template

    def make_module(self, vars: dict[str, Any] | None = None, shared: bool = False,
                    locals: Mapping[str, Any] | None = None) -> TemplateModule:
        if shared and self.lent_modules is not None:  # ``import ... with context``
            def make(parent: dict[str, Any]) -> module_pool.Lent:
                context = self.new_context(parent, True)
                return TemplateModule(self, context), context

            module = module_pool.lend_module(self.lent_modules, make, vars, locals)
            if module is not None:
                return module
        return super().make_module(vars, shared, locals)

    def new_context(
        self, vars: dict[str, Any] | None = None, shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> Context:
        # Jinja's own passes ``self.globals``, a ChainMap (the template's over the
        # environment's), which every context copies and lists key by key in Python: twice per
        # render and per ``{% import ... with context %}``. The same names as a dict, merged in C.
        flat: dict[str, Any] = {}
        for layer in reversed(self.globals.maps):  # type: ignore[attr-defined]
            flat.update(layer)
        return new_context(self.environment, self.name, self.blocks, vars, shared, flat, locals)

    def render(self, *args: Any, **kwargs: Any) -> str:
        env = self.environment
        with render_budget(env.limits, env.clock) as budget:
            stream = cast(Generator[str, None, None], self.generate(*args, **kwargs))
            pieces: list[str] = []
            keep = pieces.append
            total = 0
            limit = budget.limits.characters
            for piece in stream:
                total += len(piece)
                if total > limit:
                    # thrown into the template, so that the error names the line that wrote it
                    stream.throw(budget.too_big())
                keep(piece)
            budget.charge(total)
            return "".join(pieces)


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox every template (and every front-matter value) is compiled in."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    template_class = BoundedTemplate
    limits = RenderLimits()
    clock = staticmethod(time.monotonic)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, finalize=self._finalize, **kwargs)
        self.filters = guards.GuardedFilters(self.filters)
        self.globals["lipsum"] = guards.bounded_lipsum
        self.cm_pure_codes: dict[CodeType, bool] = {}  # compiled -> BoundedTemplate.from_code

    # Jinja's ``compile`` calls these two in a row: the tree, then the code made of it.
    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        module_pool.generating(source)
        return super()._generate(source, name, filename, defer_init)

    def _compile(self, source: str, filename: str) -> CodeType:
        code = super()._compile(source, filename)
        module_pool.compiled(self.cm_pure_codes, code)
        return code

    def _tokenize(
        self, source: str, name: str | None, filename: str | None = None,
        state: str | None = None,
    ) -> TokenStream:
        if len(source) > MAX_TEMPLATE_CHARACTERS:
            raise TemplateTooLarge(
                f"this template is {len(source):,} characters long, more than the "
                f"{MAX_TEMPLATE_CHARACTERS:,} a template may have", 1, name, filename)
        stream = super()._tokenize(source, name, filename, state)
        return TokenStream(counted_tokens(stream, name, filename), name, filename)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Jinja's one parsing hook: checking the tree here covers get_template, imports,
        # includes and from_string alike.
        tree = super()._parse(source, name, filename)
        found = sorted(set(unsafe_nodes(tree)), key=lambda f: (f[1], source.find(f[0])))
        if found:
            listed = ", ".join(dict.fromkeys(repr(attribute) for attribute, _ in found))
            raise UnsafeTemplate(
                f"refused: the template reaches for Python internals ({listed})",
                found[0][1],
                name,
                filename,
            )
        instrumented = Instrument(self).visit(tree)
        assert isinstance(instrumented, nodes.Template)
        return instrumented

    # -- hooks the compiled templates call ---------------------------------------------------

    def cm_loop(self, iterable: Any) -> Any:
        return current_budget().guard(iterable)

    def cm_built(self, value: Any) -> Any:
        """A list, tuple or dict the template writes: measured as text, so that nesting one
        list in another many times cannot make a value whose printing, comparison or hash
        never ends."""
        guards.check_container(value)
        return value

    def cm_join(self, items: list[Any]) -> str:
        budget = current_budget()
        texts = []
        total = 0
        for item in items:
            if not isinstance(item, str):
                budget.allow(text_size(item, budget.limits.characters))
                item = str(item)
            total += len(item)
            budget.allow(total)
            texts.append(item)
        budget.charge(total)
        return "".join(texts)

    def concat(self, parts: Any) -> str:
        # Jinja joins every buffer with this: macro bodies, {% set %} and {% filter %} blocks.
        budget = current_budget()
        texts = []
        total = 0
        for text in parts:
            total += len(text)
            budget.allow(total)
            texts.append(text)
        budget.charge(total)
        return "".join(texts)

    def _finalize(self, value: Any) -> Any:
        """Every ``{{ value }}`` before it becomes text: a list is measured, not printed."""
        if type(value) is str:
            return value
        if isinstance(value, guards.CONTAINERS):
            budget = current_budget()
            budget.allow(text_size(value, budget.limits.characters))
        elif isinstance(value, TemplateModule):
            current_budget().allow(sum(len(part) for part in value._body_stream))
        return value

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        args = guards.check_method(obj, args, kwargs)
        result = super().call(context, obj, *args, **kwargs)
        size = guards.sized(result)
        if size is not None:
            budget.charge(size)
            guards.check_container(result)
        return result

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner = value.__self__
        formatter = guards.FORMATTERS[isinstance(owner, Markup)](self)  # type: ignore[call-arg]
        if isinstance(owner, Markup):
            formatter.escape = owner.escape  # type: ignore[attr-defined]
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(bounded, value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "+" and type(left) in _NUMBERS and type(right) in _NUMBERS:
            return left + right  # the common case: counting, nothing to measure
        budget = current_budget()
        # Too big a result is a limit met (RenderLimitExceeded: the fix says so), not an
        # attempt on Python's internals.
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_POWER_EXPONENT:
                raise RenderLimitExceeded(f"refused: exponent {right} is too large")
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() * abs(right) > MAX_INT_BITS:
                raise RenderLimitExceeded("refused: the number would be too large")
            return left**right
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                # bytes too ('a'.encode() * 10**9): refused before the gigabyte is taken
                if (
                    isinstance(sequence, (str, bytes, bytearray, list, tuple))
                    and isinstance(times, int)
                    and len(sequence) * times > MAX_SEQUENCE_RESULT
                ):
                    raise RenderLimitExceeded("refused: the repeated text would be too long")
                if isinstance(sequence, (list, tuple)) and isinstance(times, int):
                    budget.allow(text_size(sequence, budget.limits.characters) * times)
            if isinstance(left, int) and isinstance(right, int) and \
                    left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise RenderLimitExceeded("refused: the number would be too large")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                budget.allow(len(left) + len(right))
            elif isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
                cap = budget.limits.characters
                budget.allow(text_size(left, cap) + text_size(right, cap))
        elif operator == "%" and isinstance(left, str):
            guards.percent_size(budget, left, right)
        result = super().call_binop(context, operator, left, right)
        size = guards.sized(result)
        if size is not None:
            budget.charge(size)
        return result


def build_environment(
    workspace_templates: Path | None, paths: WorkspacePaths | None = None
) -> TemplateSandbox:
    """A sandbox whose loader looks in the workspace's ``templates/`` first, then the built-ins.
    ``paths``: where the workspace's files may lead (default: the folder above templates/)."""
    loaders = []
    if workspace_templates is not None:
        paths = paths or WorkspacePaths.of(workspace_templates.parent)
        loaders.append(FrontMatterLoader(workspace_templates, paths, "templates"))
    loaders.append(FrontMatterLoader(BUILTIN_TEMPLATES, WorkspacePaths.of(BUILTIN_TEMPLATES),
                                     "<built-in>"))
    return TemplateSandbox(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefinedVariable,
        autoescape=False,  # posts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


# ---------------------------------------------------------------------------------------------
# Names


def template_file_name(template: str, network: Network | None = None) -> str:
    """``teaser`` -> ``teaser.j2``; with a network, ``teaser.x.j2``."""
    if network is None:
        return f"{template}{TEMPLATE_SUFFIX}"
    return f"{template}.{network}{TEMPLATE_SUFFIX}"


def split_template_file(file_name: str) -> tuple[str, Network | None] | None:
    """``teaser.x.j2`` -> (``teaser``, X); ``teaser.j2`` -> (``teaser``, None); a partial
    (``_macros.j2``) or a file that is not ``.j2`` -> None."""
    if not file_name.endswith(TEMPLATE_SUFFIX) or file_name.startswith("_"):
        return None
    stem = file_name[: -len(TEMPLATE_SUFFIX)]
    base, dot, last = stem.rpartition(".")
    if dot and last in known_networks() and base:
        return base, last
    return stem, None


def list_templates(folder: Path) -> dict[str, set[Network | None]]:
    """Template names found in ``folder`` -> the variants present (``None`` = default body)."""
    found: dict[str, set[Network | None]] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob(f"*{TEMPLATE_SUFFIX}")):
        relative = path.relative_to(folder).as_posix()
        parsed = split_template_file(relative)
        if parsed is not None and not any(p.startswith("_") for p in relative.split("/")):
            found.setdefault(parsed[0], set()).add(parsed[1])
    return found
