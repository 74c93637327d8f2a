"""Secrets from a file, not the command line (``ps`` shows every user a command's arguments):
``cm dashboard --token-file``, ``cm auth --client-secret-file``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.cli.secret_files import secret_option
from cm_toolkit.errors import UsageError
from tests.ledger.test_cli import sample  # noqa: F401 (fixture)

TOKEN = "a-random-token-of-32-characters"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, " ".join(capsys.readouterr().err.split())


def test_the_secret_is_the_file_alone(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text(f"{TOKEN}\n")
    assert secret_option(None, file, "--token") == TOKEN
    assert secret_option(TOKEN, None, "--token") == TOKEN  # the option or its variable
    assert secret_option(None, None, "--token") is None


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "does not hold one secret on one line"),
    (b"one\ntwo\n", "does not hold one secret on one line"),
    (b"x" * 5000, "does not hold one secret on one line"),
    (b"\xff\xfe", "does not hold one secret on one line"),
])
def test_a_file_that_is_not_one_secret_is_refused(tmp_path: Path, content: bytes,
                                                  fragment: str) -> None:
    file = tmp_path / "token"
    file.write_bytes(content)
    with pytest.raises(UsageError, match=fragment):
        secret_option(None, file, "--token")


def test_dashboard_reads_its_token_from_the_file(tmp_path: Path, sample: Path,  # noqa: F811
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "token"
    file.write_text("short\n")
    code, err = _run(capsys, "dashboard", "--host", "0.0.0.0", "--token-file", str(file),
                     "-w", str(tmp_path))
    assert code == 2 and "token is too short" in err  # the file's token was the one checked
    file.write_text(f"{TOKEN}\n")
    code, err = _run(capsys, "dashboard", "--host", "0.0.0.0", "--token-file", str(file),
                     "-w", str(sample), "--database-url", f"sqlite:///{tmp_path / 'no.db'}")
    assert code == 1 and "there is no ledger" in err  # the token passed; no server started
    assert TOKEN not in err


def test_dashboard_token_file_mistakes_are_usage_errors(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    code, err = _run(capsys, "dashboard", "--token-file", str(missing), "-w", str(tmp_path))
    assert code == 2 and f"cannot read --token-file {missing}" in err and "Traceback" not in err
    (tmp_path / "token").write_text(TOKEN)
    code, err = _run(capsys, "dashboard", "--token", TOKEN, "--token-file",
                     str(tmp_path / "token"), "-w", str(tmp_path))
    assert code == 2 and "both give the secret" in err and TOKEN not in err


def test_auth_takes_its_client_secret_from_a_file(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(capsys, "auth", "x-mooc", "--client-secret-file", str(tmp_path / "none"),
                     "-w", str(tmp_path))
    assert code == 2 and "cannot read --client-secret-file" in err


def test_help_says_the_command_line_is_visible(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--token-file" in out and "ps" in out
