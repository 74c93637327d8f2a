"""One door to the ledger (issue 13): SQL on the ledger's tables is written in ``cm_toolkit/ledger/``
only; every other package calls its named queries. Read from the sources (any depth: a
function-level import counts), so a statement written anywhere else shows up here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cm_toolkit"

# Statement builders: importing one outside ledger/ means SQL is being written there.
BUILDERS = {"select", "insert", "update", "delete", "text"}

# Packages whose SQL is still being moved into ledger/, with the reason; the list only shrinks
# (empty since the cluster's statements moved: ledger/cluster_jobs.py, ledger/pacing_slots.py).
ALLOWED_PACKAGES: set[str] = set()

# ``.execute(`` calls that are not SQL, by module, with what they execute.
NOT_SQL = {
    "channels/youtube.py": "googleapiclient HttpRequest.execute(): a YouTube Data API call",
    "channels/meet.py": "googleapiclient HttpRequest.execute(): a Google Calendar API call",
}


def _outside_the_ledger() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in {"ledger", *ALLOWED_PACKAGES}:
            continue
        found.append((relative.as_posix(), ast.parse(path.read_text(encoding="utf-8"))))
    return found


def _sql_written(module: str, tree: ast.Module) -> list[str]:
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            problems += [f"{module}:{node.lineno}: from {node.module} import {alias.name}"
                         for alias in node.names if alias.name in BUILDERS | {"*"}]
        elif isinstance(node, ast.Import):
            # ``import sqlalchemy`` (or ``sqlalchemy as sa``) reaches every builder as an attribute
            problems += [f"{module}:{node.lineno}: import {alias.name}" for alias in node.names
                         if alias.name.split(".")[0] == "sqlalchemy"]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in {"execute", "executemany", "exec_driver_sql"}
              and module not in NOT_SQL):
            problems.append(f"{module}:{node.lineno}: .{node.func.attr}(")
    return problems


def test_only_the_ledger_writes_sql() -> None:
    modules = _outside_the_ledger()
    assert len(modules) > 100  # the walk found the package (it has ~200 modules outside ledger/)
    problems = [p for module, tree in modules for p in _sql_written(module, tree)]
    assert problems == [], "\n".join(
        ["SQL outside cm_toolkit/ledger/: move it into a named query there", *problems])


def test_the_exceptions_are_still_needed() -> None:
    """An allowance nobody uses any more is removed, so the lists only shrink (an empty
    ``ALLOWED_PACKAGES`` is the goal: nothing to check then)."""
    for name in ALLOWED_PACKAGES:
        assert (PACKAGE / name).is_dir(), name
    for module, why in NOT_SQL.items():
        assert ".execute(" in (PACKAGE / module).read_text(encoding="utf-8"), (module, why)


def test_the_check_catches_sql() -> None:
    """The walk itself: each kind of SQL it looks for, written in a module, is reported."""
    source = (
        "from sqlalchemy import func, select\n"
        "import sqlalchemy as sa\n"
        "def f(session):\n"
        "    return session.execute(select(func.count()))\n"
    )
    found = _sql_written("growth/example.py", ast.parse(source))
    assert found == ["growth/example.py:1: from sqlalchemy import select",
                     "growth/example.py:2: import sqlalchemy",
                     "growth/example.py:4: .execute("]
    assert _sql_written("channels/youtube.py", ast.parse("request.execute()\n")) == []
    assert _sql_written("growth/ok.py", ast.parse("from sqlalchemy.exc import DBAPIError\n")) \
        == []
