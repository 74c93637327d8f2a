"""What a template file is checked for when it is compiled, before it can run (layers 1 and 4 of
``templates/environment.py``): names of Python internals refuse the whole template
(``UnsafeTemplate``), a file too long to compile is refused before Jinja compiles it
(``TemplateTooLarge``), and the parsed tree is rewritten so that loops, lists and ``~`` report
to the render's budget (``Instrument``)."""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import Environment, TemplateSyntaxError, nodes
from jinja2.lexer import Token, TokenStream
from jinja2.visitor import NodeTransformer

# A template file: the longest post is 100,000 characters, and an ordinary template has a few
# hundred parts (texts, tags, names, values, operators); a file of 20,000 parts compiles in
# about 2 s and 200 MB (measured with Jinja 3.1 on the 2-core machine).
MAX_TEMPLATE_CHARACTERS = 1_000_000
MAX_TEMPLATE_TOKENS = 20_000


class UnsafeTemplate(TemplateSyntaxError):
    """A template reaches for Python internals; refused when compiled, never executed."""


class TemplateTooLarge(TemplateSyntaxError):
    """A template file too long to compile (``MAX_TEMPLATE_CHARACTERS``,
    ``MAX_TEMPLATE_TOKENS``); refused before Jinja compiles it."""


def counted_tokens(stream: TokenStream, name: str | None, filename: str | None) -> Iterator[Token]:
    """The tokens of ``stream``, refused past ``MAX_TEMPLATE_TOKENS`` as the parser reads them
    (before any is compiled)."""
    for count, token in enumerate(stream, 1):
        if count > MAX_TEMPLATE_TOKENS:
            raise TemplateTooLarge(
                f"this template has more than {MAX_TEMPLATE_TOKENS:,} parts (texts, tags, names, "
                "values): too long to compile", token.lineno, name, filename)
        yield token


def unsafe_nodes(tree: nodes.Template) -> Iterator[tuple[str, int]]:
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


class Instrument(NodeTransformer):
    """Rewrites a parsed template so that its loops and ``~`` report to the render's budget:
    ``{% for x in items %}`` iterates ``environment.cm_loop(items)`` (a tick per item) and
    ``a ~ b`` is ``environment.cm_join([a, b])`` (sized before it is joined). The names are
    environment attributes: a template cannot name them itself."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def _call(self, hook: str, argument: nodes.Node, lineno: int) -> nodes.Call:
        call = nodes.Call(nodes.EnvironmentAttribute(hook), [argument], [], None, None)
        call.set_lineno(lineno)
        call.set_environment(self.environment)
        return call

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = self._call("cm_loop", node.iter, node.lineno)
        return node

    def _built(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if getattr(node, "ctx", "load") != "load":  # {% for a, b in ... %}: a target
            return node
        return self._call("cm_built", node, node.lineno)

    visit_List = visit_Tuple = visit_Dict = _built  # NodeTransformer dispatches on these names

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(list(node.nodes))
        return self._call("cm_join", items, node.lineno)
