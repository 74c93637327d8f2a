"""The one error tree of cm-toolkit.

Every error a user can meet is a ``CmError``. The CLI turns any ``CmError`` into one clear message
and an exit code in one place (``cm_toolkit.cli``); nothing below it prints or exits.

    CmError
    ├── UsageError                  bad command-line usage (exit 2)
    ├── WorkspaceError              problems in the user's files (exit 1)
    │     carries a list of ``Problem`` (file:line:column, what, how to fix)
    ├── TemplateError               a template could not be rendered (file:line, what, fix)
    ├── LedgerError                 the database could not be opened / migrated, or failed
    │   ├── NoLedger                there is no ledger at the URL (only apply and run create one)
    │   └── AlreadyRunning          another ``cm run`` holds this ledger's run lock
    ├── ChannelError                a network refused or failed a call
    │   ├── RateLimited             retryable, with ``reset_at`` (UTC)
    │   ├── TransientError          retryable: 5xx, connection refused before sending
    │   ├── AuthExpired             not retryable until re-authorised: says which ``cm auth`` to run
    │   ├── Rejected                permanent: duplicate, too long, invalid media (network's words)
    │   └── OutcomeUnknown          the request may have been received, no answer came back;
    │       │                       never retried automatically (a duplicate is worse than late)
    │       └── PartiallyPublished  a multi-part post (an X thread) stopped midway: carries the
    │                               ids already published, so they are never sent again
    ├── UnknownChannel              no adapter for a network name ("did you mean ...")
    ├── InboxError                  an inbox action is refused (a second reply, an unknown
    │                               message id, a purged message...): one line with the fix
    └── SandboxError                the sandbox emulator could not start / was misused

``ChannelError.retryable`` is what the publisher reads; it never inspects the subclass otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem found in a user's file, in the form ``file:line:column: what — fix``."""

    file: str
    line: int | None
    column: int | None
    message: str
    fix: str = ""
    severity: Severity = Severity.ERROR

    @property
    def location(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {'warning: ' if self.severity is Severity.WARNING else ''}"
        text += self.message
        if self.fix:
            text += f" — {self.fix}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "message": self.message,
            "fix": self.fix,
        }


class CmError(Exception):
    """Base of every error cm-toolkit raises on purpose. ``exit_code`` is what the CLI returns."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message


class UsageError(CmError):
    exit_code = 2


class WorkspaceError(CmError):
    """One or more problems in the workspace files. ``problems`` lists them all, in file order.

    ``where`` names what holds them when it is not the workspace (a CSV being imported), and
    ``outcome`` says what became of the command ("nothing was imported")."""

    def __init__(
        self, problems: list[Problem], *, where: str = "the workspace", outcome: str = ""
    ) -> None:
        self.problems = problems
        errors = sum(1 for p in problems if p.severity is Severity.ERROR)
        summary = f"{errors} problem{'s' if errors != 1 else ''} in {where}"
        super().__init__(f"{summary}: {outcome}" if outcome else summary)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class TemplateError(CmError):
    """A template failed to load or render. ``problem`` says where (template file:line);
    ``problems`` holds it and any others found at once (every wrong front-matter option)."""

    def __init__(self, problem: Problem, *more: Problem) -> None:
        self.problem = problem
        self.problems = (problem, *more)
        super().__init__(problem.message, fix=problem.fix)

    def __str__(self) -> str:
        return str(self.problem)


class LedgerError(CmError):
    pass


class NoLedger(LedgerError):
    """No ledger at the URL: commands other than ``cm apply`` / ``cm run`` never create one."""


class AlreadyRunning(LedgerError):
    """Another ``cm run`` publishes from this ledger (one alarm clock per ledger)."""


class SandboxError(CmError):
    pass


class UnknownChannel(CmError):
    """No adapter is registered for a network name; ``fix`` says "did you mean ..."."""


class InboxError(CmError):
    """An inbox action cannot be done (unknown message, second reply, purged message...)."""


@dataclass
class ChannelErrorInfo:
    """What is known of a failed network call: kept with the delivery for review."""

    network: str
    status: int | None = None
    code: str | None = None
    network_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class ChannelError(CmError):
    """A network call failed. ``retryable`` tells the publisher whether to try again later."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        network: str,
        status: int | None = None,
        code: str | None = None,
        network_message: str | None = None,
        fix: str = "",
    ) -> None:
        super().__init__(message, fix=fix)
        self.info = ChannelErrorInfo(
            network=network, status=status, code=code, network_message=network_message
        )

    @property
    def network(self) -> str:
        return self.info.network


class RateLimited(ChannelError):
    retryable = True

    def __init__(self, message: str, *, reset_at: datetime | None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reset_at = reset_at


class TransientError(ChannelError):
    retryable = True


class AuthExpired(ChannelError):
    """Token expired or revoked. ``fix`` names the ``cm auth CHANNEL`` command to run."""


class Rejected(ChannelError):
    """The network refused the content for good (duplicate, too long, invalid media...)."""

    @classmethod
    def raise_for(cls, problems: list[Problem], *, network: str, prefix: str = "") -> None:
        """Refuse what an adapter's own ``validate`` found, before anything is sent: every
        problem in the message, the first one's fix. Nothing when ``problems`` is empty."""
        if problems:
            raise cls(prefix + "; ".join(p.message for p in problems), network=network,
                      fix=problems[0].fix)


class OutcomeUnknown(ChannelError):
    """A create call was sent and no answer came back: it may or may not have been published."""


class PartiallyPublished(OutcomeUnknown):
    """Part of a multi-part post went out, then a later part failed (an X thread cut midway).

    Never retried automatically (re-sending would repeat the published parts): the delivery is
    left for review with ``remote_id`` / ``url`` (the first part) and ``published_ids`` (every
    part that is online, in order). ``cause`` is the error of the part that failed.
    """

    def __init__(
        self,
        message: str,
        *,
        remote_id: str,
        url: str | None,
        published_ids: list[str],
        cause: ChannelError | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.remote_id = remote_id
        self.url = url
        self.published_ids = list(published_ids)
        self.cause = cause
        self.info.details["published_ids"] = list(published_ids)
