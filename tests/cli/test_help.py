"""Every command is documented (README) and mapped to its module (fast start-up)."""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.cli import COMMAND_AREAS, _register_commands, app, main

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands() -> set[str]:
    _register_commands(everything=True)
    names = {info.name or (info.callback.__name__ if info.callback else "") for info in
             app.registered_commands}
    names |= {group.name or "" for group in app.registered_groups}
    return names - {""}


def test_every_command_is_mapped_to_its_module() -> None:
    assert _commands() == set(COMMAND_AREAS)


def test_every_command_is_in_the_readme() -> None:
    readme = README.read_text()
    missing = sorted(c for c in _commands() - {"version"} if f"`cm {c}" not in readme)
    assert not missing, f"commands not in README.md: {missing}"


def test_help_lists_every_command(capsys: object) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    for command in COMMAND_AREAS:
        assert command in out


def test_an_unknown_command_is_a_usage_error() -> None:
    assert main(["chek"]) == 2


def _command_paths() -> list[list[str]]:
    """Every command of the app, with its group (``["growth", "import"]``)."""
    import typer

    _register_commands(everything=True)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            paths.append(path)
            return
        for name, child in children.items():
            walk(child, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_flags_show_no_type_in_help(capsys: object, monkeypatch: object) -> None:
    """``--yes``, ``--json``, ``--help``: a flag takes no value, so no ``<bool>`` after it."""
    monkeypatch.setenv("COLUMNS", "200")  # type: ignore[attr-defined]
    paths = _command_paths()
    assert ["cancel"] in paths and ["growth", "import"] in paths
    for path in paths:
        assert main([*path, "--help"]) == 0, path
        out = capsys.readouterr().out  # type: ignore[attr-defined]
        assert "--help" in out, path
        assert "<bool>" not in out, (path, out)
    assert main(["cancel", "--help"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "--yes" in out and "<path>" in out  # options with a value keep their type
