"""The Mastodon emulator's shared part: instances, accounts, tokens, errors, rate limits, state.

Every instance is a host: the sample's (``social.univ-campus.fr``) and whatever instance a
workspace's channel file names (``provision``), served from then on (``serves``). An access
token belongs to one account on one instance; another instance answers it 401, as Mastodon does.

Every request is checked against the Mastodon API description (``spec.py``) before its handler
runs: a request that departs from it is answered 422 with the differences, and the journal
entry says which documented operation it called (``spec_operation``) and what was wrong
(``spec_violations``): the wire checks read them.

Rate limits are Mastodon's defaults: 300 requests per 5 minutes per account (every
authenticated call), 30 media uploads per 30 minutes; each answer carries ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset`` (ISO 8601), a 429 too.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    Route,
    SandboxContext,
    SandboxRequest,
    SandboxResponse,
    Token,
)
from cm_toolkit.sandbox.mastodon import spec
from cm_toolkit.sandbox.mastodon.model import Account, Instance, Media, Status, stamp

SAMPLE_INSTANCE = "social.univ-campus.fr"
SAMPLE_USERNAME = "ManagerLeader20"
WINDOW = timedelta(minutes=5)
REQUESTS_PER_WINDOW = 300
IDEMPOTENCY_KEPT = timedelta(hours=1)
_HOST = re.compile(r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$")
MESSAGES = {
    ErrorKind.RATE_LIMITED: (429, "Too many requests"),
    ErrorKind.SERVER_ERROR: (500, "We're sorry, but something went wrong on our end."),
    ErrorKind.TOKEN_EXPIRED: (401, "The access token was revoked"),
    ErrorKind.TOKEN_MISSING: (401, "The access token is invalid"),
    ErrorKind.NOT_FOUND: (404, "Record not found"),
}


def token_for(acct: str) -> str:
    return "mastodon-sandbox-token-" + re.sub(r"[^a-z0-9]+", "-", acct.lower())


class MastodonEmulatorBase(Emulator):
    network: ClassVar[str] = "mastodon"
    hosts: ClassVar[tuple[str, ...]] = (SAMPLE_INSTANCE,)
    auth_paths: ClassVar[str] = r"^/oauth/token$"
    growth: ClassVar[GrowthProfile] = GrowthProfile(
        1400, 0.011, {"post": 25, "article": 40, "live": 30})

    def __init__(self, ctx: SandboxContext) -> None:
        self.instances: dict[str, Instance] = {}
        self.accounts: dict[str, Account] = {}  # acct -> account
        self.statuses: dict[str, Status] = {}
        self.media: dict[str, Media] = {}
        # (acct, Idempotency-Key) -> (status id, when): a retry within the hour gets it again
        self.idempotency: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.spent: dict[str, list[datetime]] = {}  # acct -> its requests in the window
        super().__init__(ctx)

    # -- instances, accounts, tokens ----------------------------------------------------------

    def seed_accounts(self) -> None:
        self._instance(SAMPLE_INSTANCE, "Campus numérique")
        self._open(SAMPLE_USERNAME, SAMPLE_INSTANCE, "Du Manager au Leader 2.0")
        self.ctx.signed_in[self.network] = f"{SAMPLE_USERNAME}@{SAMPLE_INSTANCE}"

    def serves(self, host: str) -> bool:
        return host in self.instances

    def _instance(self, host: str, title: str | None = None) -> Instance:
        if host not in self.instances:
            self.instances[host] = Instance(host, title or host)
        return self.instances[host]

    def _open(self, username: str, host: str, name: str | None = None) -> Account:
        acct = f"{username}@{host}"
        if acct not in self.accounts:
            number = self.ctx.next_id("mastodon.account", 109000000000000001)
            self.accounts[acct] = Account(
                str(number), username, host, name or username,
                created_at=self.ctx.now() - timedelta(days=200),
                note="MOOC « Du Manager au Leader 2.0 » : cours, lives et retours d'expérience.")
            self.ctx.tokens.add(Token(token_for(acct), self.network, acct, expires_at=None))
        return self.accounts[acct]

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        host = str(account.get("instance") or "").lower()
        username = str(account.get("username") or "").lstrip("@")
        if not username or not _HOST.match(host):
            return {}
        self._instance(host)
        found = self._open(username, host)
        self.ctx.signed_in[self.network] = found.acct
        return {"access_token": token_for(found.acct)}

    def environment(self) -> dict[str, str]:
        """The variable channels/mastodon-mooc.yaml names, set to this sandbox's token."""
        return {"CM_MASTODON_ACCESS_TOKEN": token_for(f"{SAMPLE_USERNAME}@{SAMPLE_INSTANCE}")}

    def authenticate(self, request: SandboxRequest) -> Token:
        token = super().authenticate(request)
        account = self.accounts.get(token.account_id)
        if account is None or account.instance != _host(request):  # another instance's token
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        self._spend(token.account_id, request)
        return token

    def _spend(self, acct: str, request: SandboxRequest) -> None:
        now = self.ctx.now()
        calls = [t for t in self.spent.get(acct, []) if t > now - WINDOW]
        if len(calls) >= REQUESTS_PER_WINDOW:
            raise self.standard_error(ErrorKind.RATE_LIMITED, request, reset_at=calls[0] + WINDOW)
        calls.append(now)
        self.spent[acct] = calls

    def account_of(self, token: Token) -> Account:
        return self.accounts[token.account_id]

    def instance_of(self, request: SandboxRequest) -> Instance:
        return self.instances[_host(request)]

    # -- errors, headers, the description check ------------------------------------------------

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(error.status, {"error": error.message}, error.headers)

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        status, message = MESSAGES[kind]
        headers: dict[str, str] = {}
        reset = info.get("reset_at")
        if isinstance(reset, datetime):
            headers = {"X-RateLimit-Limit": str(REQUESTS_PER_WINDOW),
                       "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": stamp(reset)}
        return ApiError(status, message, headers=headers)

    def response_headers(self, request: SandboxRequest, route: Route | None) -> dict[str, str]:
        token = self.ctx.tokens.lookup(request.bearer_token())
        if token is None or token.account_id not in self.accounts:
            return {}
        now = self.ctx.now()
        calls = [t for t in self.spent.get(token.account_id, []) if t > now - WINDOW]
        reset = (calls[0] if calls else now) + WINDOW
        return {"X-RateLimit-Limit": str(REQUESTS_PER_WINDOW),
                "X-RateLimit-Remaining": str(max(0, REQUESTS_PER_WINDOW - len(calls))),
                "X-RateLimit-Reset": stamp(reset)}

    def find_route(self, request: SandboxRequest) -> tuple[Route, re.Match[str]] | None:
        if request.path != "/" and request.path.endswith("/"):  # Rails ignores one trailing /
            request.path = request.path.rstrip("/")
        return super().find_route(request)

    def dispatch(self, request: SandboxRequest,
                 found: tuple[Route, re.Match[str]] | None) -> SandboxResponse:
        operation = spec.operation_for(request.method, request.path)
        problems = spec.violations(request) if operation else []
        if found is not None and problems:
            # authenticated (and counted) first, as Mastodon does, then refused
            def refuse(request: SandboxRequest, **_: Any) -> SandboxResponse:
                raise ApiError(422, "Validation failed: " + "; ".join(problems))

            found = (replace(found[0], handler=refuse), found[1])
        response = super().dispatch(request, found)
        response.journal.update({"spec_operation": operation, "spec_violations": problems})
        return response

    def state(self) -> dict[str, Any]:
        return {
            "instances": {host: {"max_characters": i.max_characters}
                          for host, i in self.instances.items()},
            "accounts": sorted(self.accounts),
            "statuses": [{"id": s.id, "account": s.account, "text": s.text,
                          "in_reply_to_id": s.in_reply_to_id, "media_ids": s.media_ids,
                          "idempotency_key": s.idempotency_key}
                         for s in self.statuses.values()],
            "media": [{"id": m.id, "description": m.description, "status_id": m.status_id}
                      for m in self.media.values()],
        }


def _host(request: SandboxRequest) -> str:
    return request.host.split(":")[0].lower()
