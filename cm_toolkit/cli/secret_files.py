"""Secrets given to a command without putting them on its command line.

A value on the command line (``--token T``) is visible to every user of the machine in ``ps``
and stays in the shell's history; a file (``--token-file PATH``, owner-only) or an environment
variable is not. The file holds the secret alone; surrounding blank space and the final newline
are dropped.
"""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.errors import UsageError

SECRET_FILE_LIMIT = 4096
"""No token or client secret is longer; a bigger file is not the secret."""


def secret_option(value: str | None, file: Path | None, option: str) -> str | None:
    """The secret from ``--OPTION`` (or its environment variable) or ``--OPTION-file``.

    Both given: a ``UsageError`` (which one was meant?)."""
    if file is None:
        return value
    if value is not None:
        raise UsageError(f"{option} and {option}-file both give the secret",
                         fix=f"keep only {option}-file (a command line is visible in ps)")
    try:
        with file.open("rb") as opened:
            raw = opened.read(SECRET_FILE_LIMIT + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {option}-file {file}: {exc.strerror or exc}",
                         fix="give a file that holds the secret alone (chmod 600)") from None
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        text = ""
    if len(raw) > SECRET_FILE_LIMIT or not text or any(c in text for c in "\r\n"):
        raise UsageError(f"{option}-file {file} does not hold one secret on one line",
                         fix="write the secret alone in the file, e.g. "
                         f"`umask 077; printf %s \"$SECRET\" > {file}`")
    return text
