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
