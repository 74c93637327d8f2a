"""The Jinja2 environment templates run in: sandboxed, strict, workspace first.

Naming convention (other modules rely on it): template ``teaser`` is the file
``templates/teaser.j2`` (its default body) with optional per-network variants
``templates/teaser.<network>.j2`` (network: facebook, x, linkedin, youtube, meet, manual). Files
whose name starts with ``_`` (``_macros.j2``) are shared partials and macros, never templates.

Safety, in three layers, because templates are written by people who are not developers and may
be pasted from anywhere:

1. at compile time, any attribute or item whose name starts with ``_`` (``''.__class__``,
   ``self._TemplateReference__context``, ``x|attr('__globals__')``) refuses the whole template
   (``UnsafeTemplate``): it is never executed;
2. at run time, Jinja's ``ImmutableSandboxedEnvironment`` (a ``SandboxedEnvironment``) refuses
   what the compile-time check cannot see (names built by string concatenation, ``str.format``
   tricks, mutation of lists and dicts);
3. ``*`` and ``**`` are bounded, so ``'x' * 10**9`` cannot eat the memory.

``StrictUndefined`` turns every missing variable into an error (no silent blanks in a post).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from cm_toolkit.templates.front_matter import blank_front_matter
from cm_toolkit.workspace.models import Network

TEMPLATE_SUFFIX = ".j2"
BUILTIN_TEMPLATES = Path(__file__).parent / "builtin"
NETWORK_NAMES = tuple(n.value for n in Network)

# Results of * and ** bigger than this are refused (a post is a few thousand characters).
MAX_SEQUENCE_RESULT = 100_000
MAX_POWER_EXPONENT = 100


class UnsafeTemplate(TemplateSyntaxError):
    """A template reaches for Python internals; refused when compiled, never executed."""


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


def _unsafe_nodes(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    """(name, line) of every private/dunder attribute a template asks for by a literal name."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            yield node.attr, node.lineno
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
            and node.arg.value.startswith("_")
        ):
            yield node.arg.value, node.lineno
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
            first = node.args[0]
            if isinstance(first, nodes.Const) and str(first.value).startswith("_"):
                yield str(first.value), node.lineno


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox every template (and every front-matter value) is compiled in."""

    intercepted_binops = frozenset({"*", "**"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Jinja's one parsing hook: checking the tree here covers get_template, imports,
        # includes and from_string alike.
        tree = super()._parse(source, name, filename)
        found = sorted(set(_unsafe_nodes(tree)), key=lambda f: (f[1], source.find(f[0])))
        if found:
            listed = ", ".join(dict.fromkeys(repr(attribute) for attribute, _ in found))
            raise UnsafeTemplate(
                f"refused: the template reaches for Python internals ({listed})",
                found[0][1],
                name,
                filename,
            )
        return tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_POWER_EXPONENT:
                raise SecurityError(f"refused: exponent {right} is too large")
            return left**right
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (
                    isinstance(sequence, (str, list, tuple))
                    and isinstance(times, int)
                    and len(sequence) * times > MAX_SEQUENCE_RESULT
                ):
                    raise SecurityError("refused: the repeated text would be too long")
            return left * right
        return super().call_binop(context, operator, left, right)


class FrontMatterLoader(FileSystemLoader):
    """A ``FileSystemLoader`` that hands Jinja the body only: the front matter lines are blanked
    (kept as empty lines so that error line numbers stay those of the file)."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        return blank_front_matter(source), filename, uptodate


def build_environment(workspace_templates: Path | None) -> TemplateSandbox:
    """A sandbox whose loader looks in the workspace's ``templates/`` first, then the built-ins."""
    loaders = []
    if workspace_templates is not None:
        loaders.append(FrontMatterLoader(str(workspace_templates)))
    loaders.append(FrontMatterLoader(str(BUILTIN_TEMPLATES)))
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
    return f"{template}.{network.value}{TEMPLATE_SUFFIX}"


def split_template_file(file_name: str) -> tuple[str, Network | None] | None:
    """``teaser.x.j2`` -> (``teaser``, X); ``teaser.j2`` -> (``teaser``, None); a partial
    (``_macros.j2``) or a file that is not ``.j2`` -> None."""
    if not file_name.endswith(TEMPLATE_SUFFIX) or file_name.startswith("_"):
        return None
    stem = file_name[: -len(TEMPLATE_SUFFIX)]
    base, dot, last = stem.rpartition(".")
    if dot and last in NETWORK_NAMES and base:
        return base, Network(last)
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
