"""Imported macro modules made once and lent to each render: ``lend_module``.

Jinja makes a new module for every ``{% import "_macros.j2" as m with context %}``: a context
over the importing template's names, the file run from its top (a ``Macro`` object and a
closure per macro), its names copied; the context and its macros point at each other, so each
render also leaves cyclic garbage for the collector. In a plan of 100,000 posts on the sample's
templates that was about a fifth of the rendering time.

A file whose top level only defines macros (and writes constant text) makes the same module
whatever the context, but for the names its macros look up when they run, and they look them up
through the module's context (``resolve``, and the context handed to filters such as ``utm``),
which reads its ``parent`` dict at each lookup. Such a module, once made, can serve another
render with ``parent`` set to that render's names: what a new module would see. A module is lent
to one import of one render (two imports in one render get two modules) and given back when the
render ends without an error (a failed render's modules are dropped, whatever it left in them:
``limits.render_budget``).

Anything else at the top level (``{% set %}``, an import or include, a value written out,
``self`` anywhere) makes a new module per import, as Jinja does; so does an import outside a
render (no budget open).
"""

from __future__ import annotations

import threading
from types import CodeType
from typing import Any

from jinja2 import nodes
from jinja2.environment import TemplateModule
from jinja2.runtime import Context
from jinja2.utils import missing

from cm_toolkit.templates.limits import running_budget

Lent = tuple[TemplateModule, Context]

# Jinja's ``Environment.compile`` turns the tree into Python source (``_generate``), then that
# source into code (``_compile``), one right after the other in one thread: the first says
# whether the tree is pure, the second which code that was (``BoundedTemplate.from_code`` asks).
_generated = threading.local()


def generating(tree: nodes.Template) -> None:
    """``tree`` is being turned into Python source in this thread."""
    _generated.pure = _is_pure(tree)


def compiled(pure_codes: dict[CodeType, bool], code: CodeType) -> None:
    """``code`` was compiled from the source of the tree ``generating`` saw last."""
    pure_codes[code] = bool(getattr(_generated, "pure", False))
    _generated.pure = False


def _is_pure(tree: nodes.Template) -> bool:
    for node in tree.body:
        if isinstance(node, nodes.Macro):
            continue  # its body and default values run when it is called, not when imported
        if isinstance(node, nodes.Output) and all(
            isinstance(child, nodes.TemplateData) for child in node.nodes
        ):
            continue
        return False
    # ``self`` is bound when the module is made; kept out of caution.
    return not any(name.name == "self" for name in tree.find_all(nodes.Name))


def lend_module(
    free: list[Lent], make: Any, vars: dict[str, Any] | None, locals: Any
) -> TemplateModule | None:
    """A module of a pure template for this render (from ``free``, else ``make(context)``
    with a new context), or None outside a render. ``vars`` and ``locals`` as Jinja passes them
    to ``make_module`` (``shared``)."""
    budget = running_budget()
    if budget is None:
        return None
    # the parent Jinja's ``new_context`` gives a shared context
    parent = vars if vars is not None else {}
    if locals:
        parent = dict(parent)
        for key, value in locals.items():
            if value is not missing:
                parent[key] = value
    try:
        module, context = free.pop()
    except IndexError:
        module, context = make(parent)
    else:
        context.parent = parent
    budget.lend(free, (module, context))
    return module
