"""Central code names no built-in network: every fact about a network lives on its adapter
(``channels/<network>``) or, sandbox-only, on its emulator (``sandbox/<network>``), and central
code reads it from the registry, so a plugin network is treated like a built-in one and adding a
network changes no central file (issue 13).

Read from the sources: a string constant equal to a built-in network's name, anywhere but in a
docstring, the adapter and emulator modules, and ``channels/registry.py``'s built-in list.
"""

from __future__ import annotations

import ast
from pathlib import Path

from cm_toolkit.channels.registry import BUILTIN_CHANNELS
from cm_toolkit.sandbox.server import emulator_targets

PACKAGE = Path(__file__).resolve().parents[1] / "cm_toolkit"
NETWORKS = frozenset(BUILTIN_CHANNELS)
BUILTIN_LIST = "BUILTIN_CHANNELS"

# The same letters meaning something else, with the reason (file, literal).
NOT_A_NETWORK = frozenset({
    ("growth/charts.py", "x"),  # Plotly's horizontal axis key
    ("growth/wording.py", "x"),  # the "x2.5" of a growth multiple
    ("inbox/faq_text.py", "x"),  # an English plural ending ("boxes")
    ("channels/base.py", "manual"),  # Capability.MANUAL
    ("channels/conversations.py", "manual"),  # MessageKind.MANUAL
})


def _module_area(target: str) -> Path:
    """The file or package folder of a ``"module:Class"`` target directly under its layer
    (``cm_toolkit.sandbox.google.youtube`` -> ``sandbox/google``)."""
    parts = target.partition(":")[0].split(".")[1:3]  # e.g. ["channels", "x"]
    folder = PACKAGE.joinpath(*parts)
    return folder if folder.is_dir() else folder.with_suffix(".py")


def _network_modules() -> list[Path]:
    """Adapter modules (the registry's built-ins) and emulator modules (their ``emulators``)."""
    return [_module_area(t) for t in [*BUILTIN_CHANNELS.values(), *emulator_targets()]]


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _builtin_list(tree: ast.AST) -> set[int]:
    """The constants inside ``BUILTIN_CHANNELS = {...}`` (the registry's one built-in list)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == BUILTIN_LIST for t in targets):
            found |= {id(n) for n in ast.walk(value)}
    return found


def _fstring_text(tree: ast.AST) -> set[int]:
    """The text between an f-string's fields (``f"{n}x"``): words, not values."""
    return {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
            for part in node.values}


def network_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree) | _builtin_list(tree) | _fstring_text(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and node.value in NETWORKS and id(node) not in skip
    ]


def central_files() -> list[Path]:
    exempt = _network_modules()
    return sorted(
        path for path in PACKAGE.rglob("*.py")
        if not any(path == area or area in path.parents for area in exempt)
    )


def test_central_code_holds_no_builtin_network_name() -> None:
    found = []
    for path in central_files():
        name = path.relative_to(PACKAGE).as_posix()
        found += [f"cm_toolkit/{name}:{line}: {value!r}" for line, value in network_literals(path)
                  if (name, value) not in NOT_A_NETWORK]
    assert found == [], "network facts belong on the adapter or emulator class:\n" + "\n".join(
        found)


def test_the_guard_sees_a_literal_and_spares_docstrings(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""Posts to "x"."""\nLIMITS = {"x": 280}\nNAME = "mastodon-ish"\n'
                      'TEXT = f"{3}x"\nif network == "bluesky":\n    pass\n', encoding="utf-8")
    assert network_literals(sample) == [(2, "x"), (5, "bluesky")]


def test_the_exemptions_still_apply() -> None:
    """The exempted files exist, and a NOT_A_NETWORK pair no longer seen is a stale exemption
    (take it out so the guard covers that file again)."""
    central = {path.relative_to(PACKAGE).as_posix(): path for path in central_files()}
    seen = {(name, value) for name, path in central.items() for _, value in
            network_literals(path)}
    assert {pair for pair in NOT_A_NETWORK if pair not in seen} == set()
    assert central and not any("channels/x/" in name or "sandbox/x/" in name for name in central)
