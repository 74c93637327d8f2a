"""The package graph the docs describe: no cycles between packages, the engine never imports
the sandbox. Read from the sources' import statements (at any depth: a function-level import is
an edge too), so a shortcut taken anywhere shows up here."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cm_toolkit"

# A cycle left on purpose, with the reason; the list only shrinks.
KNOWN_CYCLES: set[frozenset[str]] = set()
ENGINE = ("scheduler", "ledger", "planning", "templates", "workspace", "channels", "inbox",
          "growth", "sending")


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        source = parts[0] if len(parts) > 1 else path.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.startswith("cm_toolkit."):
                    target = name.split(".")[1]
                    if target != source:
                        edges[source].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Every pair of packages that reach each other (a cycle of any length shows as pairs)."""
    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    reachable = {name: reach(name) for name in list(edges)}
    return {frozenset({a, b}) for a in reachable for b in reachable[a]
            if a != b and a in reachable.get(b, set())}


def test_the_package_graph_has_no_cycle_but_the_known_ones() -> None:
    cycles = _cycles(_graph())
    assert cycles <= KNOWN_CYCLES, sorted(map(sorted, cycles - KNOWN_CYCLES))


def test_the_engine_never_imports_the_sandbox() -> None:
    edges = _graph()
    assert not [package for package in ENGINE if "sandbox" in edges[package]]


def test_what_senders_share_depends_on_nothing_of_ours() -> None:
    """``sending/`` is shared by the scheduler and the inbox: an import from either (or anything
    else of ours) would bring their cycle back."""
    assert _graph()["sending"] == set()


def test_the_scheduler_never_imports_the_inbox() -> None:
    """The inbox's job runs beside the publishing, single process or cluster, but is given by
    the composition root (``cli/scheduler.py``, ``demo.py``: ``side_job=``): an import from
    ``scheduler/`` would tie the publishing to the inbox."""
    assert "inbox" not in _graph()["scheduler"]
