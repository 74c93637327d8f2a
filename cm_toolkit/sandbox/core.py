"""The emulator framework shared by every network module of the sandbox.

An ``Emulator`` serves one network: it names the host names it answers for, declares its routes
with ``@route`` and renders errors the way that network does. The ``SandboxServer`` (``server.py``)
routes each request by its ``Host`` header, applies fault rules (``faults.py``), keeps the
``Journal`` and calls ``Emulator.dispatch`` under the sandbox lock.

Handlers receive a ``SandboxRequest`` and the regex groups of their path, and return a
``SandboxResponse``. They raise ``ApiError`` for the network's own error answers; the emulator's
``render_error`` turns it into that network's body (X problem objects, Graph ``error`` objects,
LinkedIn ``serviceErrorCode`` bodies, Google ``error.errors[]``).
"""

from __future__ import annotations

import email.parser
import email.policy
import enum
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

from cm_toolkit.sandbox.audience import NEUTRAL_GROWTH, GrowthProfile

if TYPE_CHECKING:
    from cm_toolkit.sandbox.audience import Audience
    from cm_toolkit.sandbox.clock import Clock
    from cm_toolkit.sandbox.faults import FaultPlan
    from cm_toolkit.sandbox.journal import Journal


@dataclass
class SandboxRequest:
    method: str
    host: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    received_at: datetime
    _form: dict[str, list[str]] | None = field(default=None, repr=False)
    _files: dict[str, bytes] | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def arg(self, name: str) -> str | None:
        """A parameter from the query string or the form body (Graph accepts both)."""
        if name in self.query:
            return self.query[name][0]
        values = self.form().get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The JSON body; raises ``ApiError(400)`` when it is not JSON."""
        if not self.body:
            raise ApiError(400, "empty body where JSON was expected", code="invalid_request")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, f"body is not valid JSON: {exc}", code="invalid_request") from exc

    def form(self) -> dict[str, list[str]]:
        if self._form is None:
            self._parse_form()
        assert self._form is not None
        return self._form

    def files(self) -> dict[str, bytes]:
        if self._files is None:
            self._parse_form()
        assert self._files is not None
        return self._files

    def _parse_form(self) -> None:
        ctype = self.header("content-type") or ""
        self._form, self._files = {}, {}
        if ctype.startswith("application/x-www-form-urlencoded"):
            self._form = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        elif ctype.startswith("multipart/"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + self.body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if not isinstance(name, str):
                    continue
                raw = part.get_payload(decode=True)
                payload = raw if isinstance(raw, bytes) else b""
                if part.get_filename() is not None:
                    self._files[name] = payload
                else:
                    self._form.setdefault(name, []).append(payload.decode("utf-8", "replace"))

    def bearer_token(self) -> str | None:
        auth = self.header("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return None


@dataclass
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # what the journal entry says besides the request (e.g. what X bills for a read)
    journal: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> SandboxResponse:
        merged = {"content-type": "application/json; charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(payload).encode(), merged)

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> SandboxResponse:
        return cls(status, b"", {"content-type": "application/json", **(headers or {})})


class ApiError(Exception):
    """A network's own error answer; rendered by ``Emulator.render_error``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | int | None = None,
        subcode: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.subcode = subcode
        self.headers = headers or {}
        self.extra = extra or {}


class ErrorKind(enum.Enum):
    """Errors every network has; each emulator renders them in its own words."""

    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_MISSING = "token_missing"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class RateLimit:
    """``limit`` calls per ``window`` per token (X style). ``daily_units`` styles live per emulator."""

    limit: int
    window: timedelta


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., SandboxResponse]
    auth: bool
    creates: bool  # the call creates something: a dropped answer leaves the outcome unknown
    rate_limit: RateLimit | None
    name: str


def route(
    method: str,
    pattern: str,
    *,
    auth: bool = True,
    creates: bool = False,
    rate_limit: RateLimit | None = None,
) -> Callable[[Callable[..., SandboxResponse]], Callable[..., SandboxResponse]]:
    """Declare an emulator method as the handler of ``METHOD pattern`` (a full-match regex)."""

    def mark(func: Callable[..., SandboxResponse]) -> Callable[..., SandboxResponse]:
        routes = getattr(func, "_sandbox_routes", [])
        routes.append((method.upper(), pattern, auth, creates, rate_limit))
        func._sandbox_routes = routes  # type: ignore[attr-defined]
        return func

    return mark


@dataclass
class Token:
    value: str
    network: str
    account_id: str
    expires_at: datetime | None
    refresh_token: str | None = None
    revoked: bool = False


class TokenStore:
    """Access and refresh tokens of every sandbox account. Expiry follows the sandbox clock."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._refresh: dict[str, Token] = {}
        self._counter = 0

    def add(self, token: Token) -> Token:
        self._tokens[token.value] = token
        if token.refresh_token:
            self._refresh[token.refresh_token] = token
        return token

    def lookup(self, value: str | None) -> Token | None:
        return self._tokens.get(value) if value else None

    def is_valid(self, token: Token, now: datetime) -> bool:
        return not token.revoked and (token.expires_at is None or token.expires_at > now)

    def expire(self, network: str | None = None) -> int:
        """Expire every token (of one network): the on-demand 'expired token' fault."""
        count = 0
        for token in self._tokens.values():
            if network is None or token.network == network:
                token.revoked = True
                count += 1
        return count

    def refresh(self, refresh_token: str, now: datetime, lifetime: timedelta | None) -> Token | None:
        """Mint a new access token for a refresh token; the old access token stops working."""
        old = self._refresh.get(refresh_token)
        if old is None:
            return None
        old.revoked = True
        self._counter += 1
        new = Token(
            value=f"{old.network}-sandbox-access-{old.account_id}-r{self._counter}",
            network=old.network,
            account_id=old.account_id,
            expires_at=(now + lifetime) if lifetime else None,
            refresh_token=refresh_token,
        )
        self._tokens[new.value] = new
        self._refresh[refresh_token] = new
        return new

    def as_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "network": t.network,
                "account_id": t.account_id,
                "expires_at": t.expires_at.isoformat() if t.expires_at else None,
                "valid": not t.revoked,
            }
            for t in self._tokens.values()
        ]


class SandboxContext:
    """What every emulator shares: the clock, the seed, tokens, the journal, faults, audience."""

    def __init__(
        self,
        *,
        clock: Clock,
        seed: int,
        journal: Journal,
        faults: FaultPlan,
        audience: Audience,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.journal = journal
        self.faults = faults
        self.audience = audience
        self.tokens = TokenStore()
        self.lock = threading.RLock()
        self.base_url = ""  # set by the server once it listens, e.g. http://127.0.0.1:8900
        self._ids: dict[str, int] = {}
        # network -> the account the sandbox's "browser" is signed in to when an OAuth flow
        # asks: the sample's, or the one last provisioned for a workspace (Emulator.provision)
        self.signed_in: dict[str, str] = {}

    def now(self) -> datetime:
        return self.clock.now()

    def next_id(self, kind: str, start: int = 1) -> int:
        """Monotonic ids per kind, so a run with the same seed gives the same ids."""
        value = self._ids.get(kind, start - 1) + 1
        self._ids[kind] = value
        return value


class Emulator:
    """Base of one network's emulator. Subclasses set ``network``/``hosts`` and add routes.

    The sandbox-only facts about the network live here too: ``auth_paths`` (a regex of its
    token endpoints, which fault rules spare unless their path names them) and ``growth`` (how
    its simulated audience grows; a plugin's emulator may leave the neutral default).
    """

    network: ClassVar[str]
    hosts: ClassVar[tuple[str, ...]]
    auth_paths: ClassVar[str] = ""
    growth: ClassVar[GrowthProfile] = NEUTRAL_GROWTH

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.routes: list[Route] = []
        self._calls: dict[tuple[str, str], list[datetime]] = {}
        for name in dir(type(self)):
            func = getattr(type(self), name, None)
            for method, pattern, auth, creates, limit in getattr(func, "_sandbox_routes", []):
                self.routes.append(
                    Route(
                        method,
                        re.compile(pattern),
                        getattr(self, name),
                        auth,
                        creates,
                        limit,
                        name,
                    )
                )
        self.seed_accounts()
        # a profile given to the sandbox (tests) or set while seeding wins over the class's
        ctx.audience.profiles.setdefault(self.network, self.growth)

    # -- to override ----------------------------------------------------------------------

    def seed_accounts(self) -> None:
        """Create the documented accounts and their tokens (see docs/sandbox.md)."""

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        """Create the account a workspace's channel file names (its ``account:`` ids), if new,
        and return its secrets by the channel file's field names (``access_token``...).
        A network whose accounts are not provisioned returns ``{}``."""
        return {}

    def is_auth_path(self, path: str) -> bool:
        """Whether ``path`` is one of this network's token endpoints (``auth_paths``)."""
        return bool(self.auth_paths) and re.search(self.auth_paths, path) is not None

    def serves(self, host: str) -> bool:
        """Whether this emulator answers for ``host`` beyond its fixed ``hosts`` (a network
        whose every server is its own host, e.g. a Mastodon instance provisioned later)."""
        return False

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(error.status, {"error": error.message}, error.headers)

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        """The network's answer for a common error kind (used by auth checks and faults)."""
        status = {
            ErrorKind.RATE_LIMITED: 429,
            ErrorKind.SERVER_ERROR: 500,
            ErrorKind.TOKEN_EXPIRED: 401,
            ErrorKind.TOKEN_MISSING: 401,
            ErrorKind.NOT_FOUND: 404,
        }[kind]
        return ApiError(status, kind.value)

    def authenticate(self, request: SandboxRequest) -> Token:
        """The token of the request, or the network's 401 answer (as ``ApiError``)."""
        token = self.ctx.tokens.lookup(request.bearer_token())
        if token is None or token.network != self.network:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        if not self.ctx.tokens.is_valid(token, self.ctx.now()):
            raise self.standard_error(ErrorKind.TOKEN_EXPIRED, request)
        return token

    def response_headers(self, request: SandboxRequest, route: Route | None) -> dict[str, str]:
        """Headers added to every answer (e.g. X's ``x-rate-limit-*``)."""
        return {}

    def state(self) -> dict[str, Any]:
        """This network's state for ``GET /_sandbox/state``."""
        return {}

    # -- dispatch ---------------------------------------------------------------------------

    def find_route(self, request: SandboxRequest) -> tuple[Route, re.Match[str]] | None:
        for candidate in self.routes:
            if candidate.method != request.method:
                continue
            match = candidate.pattern.fullmatch(request.path)
            if match:
                return candidate, match
        return None

    def dispatch(self, request: SandboxRequest, found: tuple[Route, re.Match[str]] | None) -> SandboxResponse:
        route_ = found[0] if found else None
        try:
            if found is None:
                raise self.standard_error(ErrorKind.NOT_FOUND, request)
            matched_route, match = found
            token = self.authenticate(request) if matched_route.auth else None
            if matched_route.rate_limit is not None:
                self._check_rate(matched_route, token, request)
            kwargs = match.groupdict()
            if token is not None:
                kwargs["token"] = token
            response = matched_route.handler(request, **kwargs)
        except ApiError as error:
            journal = error.extra.pop("journal", {})  # for the journal entry, not the body
            response = self.render_error(error, request)
            response.journal.update(journal)
        response.headers = {**self.response_headers(request, route_), **response.headers}
        return response

    def _check_rate(self, route_: Route, token: Token | None, request: SandboxRequest) -> None:
        assert route_.rate_limit is not None
        now = self.ctx.now()
        key = (route_.name, token.account_id if token else "-")
        window_start = now - route_.rate_limit.window
        calls = [t for t in self._calls.get(key, []) if t > window_start]
        if len(calls) >= route_.rate_limit.limit:
            reset = calls[0] + route_.rate_limit.window
            raise self.standard_error(ErrorKind.RATE_LIMITED, request, reset_at=reset)
        calls.append(now)
        self._calls[key] = calls

    def rate_status(self, route_: Route, request: SandboxRequest) -> tuple[int, int, datetime]:
        """(limit, remaining, reset) of a route for the request's token, for rate headers."""
        assert route_.rate_limit is not None
        now = self.ctx.now()
        token = self.ctx.tokens.lookup(request.bearer_token())
        key = (route_.name, token.account_id if token else "-")
        window_start = now - route_.rate_limit.window
        calls = [t for t in self._calls.get(key, []) if t > window_start]
        reset = (calls[0] if calls else now) + route_.rate_limit.window
        return route_.rate_limit.limit, max(0, route_.rate_limit.limit - len(calls)), reset


def utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def epoch_seconds(dt: datetime) -> int:
    return int(utc(dt).timestamp())
