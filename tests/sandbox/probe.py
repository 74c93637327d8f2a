"""A tiny emulator for testing the sandbox framework itself (faults, journal, tokens, HTTP).

It is a real ``Emulator`` served by the real ``Sandbox`` over HTTP; only its API is made up, so
these tests do not depend on any one network's emulator.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    RateLimit,
    SandboxRequest,
    SandboxResponse,
    Token,
    epoch_seconds,
    route,
)
from cm_toolkit.sandbox.server import Sandbox

HOST = "api.probe.test"
ACCESS = "probe-sandbox-access-acct1"
REFRESH = "probe-sandbox-refresh-acct1"
LIFETIME = timedelta(hours=1)


class ProbeEmulator(Emulator):
    network = "probe"
    hosts = (HOST,)
    auth_paths = r"^/token$"  # spared by fault rules unless a rule names it

    def seed_accounts(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.ctx.tokens.add(
            Token(ACCESS, "probe", "acct1", self.ctx.now() + LIFETIME, refresh_token=REFRESH)
        )

    def environment(self) -> dict[str, str]:
        return {"CM_PROBE_TOKEN": ACCESS, "CM_PROBE_REFRESH_TOKEN": REFRESH}

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        error = super().standard_error(kind, request, **info)
        if kind is ErrorKind.RATE_LIMITED:
            error.headers["x-rate-limit-reset"] = str(epoch_seconds(info["reset_at"]))
        return error

    @route("POST", r"/posts", creates=True)
    def create(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        body = request.json()
        post = {"id": str(self.ctx.next_id("post", 100)), "text": body["text"]}
        self.posts.append(post)
        return SandboxResponse.json(201, post)

    @route("GET", r"/me", rate_limit=RateLimit(2, timedelta(minutes=15)))
    def me(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        return SandboxResponse.json(200, {"account": token.account_id})

    @route("POST", r"/token", auth=False)
    def token(self, request: SandboxRequest) -> SandboxResponse:
        new = self.ctx.tokens.refresh(request.arg("refresh_token") or "", self.ctx.now(), LIFETIME)
        if new is None:
            raise ApiError(400, "invalid_grant")
        return SandboxResponse.json(
            200, {"access_token": new.value, "refresh_token": new.refresh_token, "expires_in": 3600}
        )

    def state(self) -> dict[str, Any]:
        return {"posts": list(self.posts)}


START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


@dataclass
class Probe:
    sandbox: Sandbox
    clock: ManualClock
    http: requests.Session  # calls to https://api.probe.test reach the sandbox, with the token


@contextmanager
def running_probe() -> Iterator[Probe]:
    """A sandbox serving only the probe emulator, on a ManualClock at ``START``."""
    clock = ManualClock(START)
    sandbox = Sandbox(seed=7, clock=clock, emulators=[ProbeEmulator])
    with sandbox.running(), requests.Session() as http:
        transport = sandbox.transport(timeout=5)
        http.mount("https://", transport.requests_adapter)
        http.mount("http://", transport.requests_adapter)
        http.headers["authorization"] = f"Bearer {ACCESS}"
        yield Probe(sandbox, clock, http)
