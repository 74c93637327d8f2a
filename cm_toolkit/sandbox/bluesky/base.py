"""The Bluesky emulator's shared part: accounts, sessions (JWTs), XRPC errors, rate limits.

Accounts sign in with an app password (``createSession``) and get an access JWT (2 hours) and a
refresh JWT (90 days), HS256-signed like the reference PDS's session tokens; expiry follows the
sandbox clock. Errors are XRPC bodies ``{"error": Name, "message": ...}``:

- no ``Authorization`` -> 401 ``AuthenticationRequired``; an unknown token -> 400 ``InvalidToken``;
  an expired or revoked one (the ``expire`` fault) -> 400 ``ExpiredToken``;
- a request or record that breaks its lexicon -> 400 ``InvalidRequest`` naming each violation;
- over a limit -> 429 ``RateLimitExceeded`` with ``ratelimit-limit``, ``-remaining``, ``-reset``
  (epoch seconds) and ``-policy`` (``5000;w=3600``), as Bluesky sends them.

Limits kept per account: record-creation points (5,000 an hour and 35,000 a day; a create costs
3, a delete 1) and ``createSession`` (30 per 5 minutes, 300 a day).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.bluesky import lexicon
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    Route,
    SandboxContext,
    SandboxRequest,
    SandboxResponse,
    Token,
    epoch_seconds,
)

NETWORK = "bluesky"
PDS_HOST = "shiitake.us-east.host.bsky.network"  # where bsky.social accounts live
ACCESS_LIFETIME = timedelta(hours=2)
REFRESH_LIFETIME = timedelta(days=90)
JWT_SECRET = b"cm-toolkit bluesky sandbox"
# The sample workspace's account (channels/bluesky-mooc.yaml) and its app password here.
MOOC_HANDLE = "mooc-leader20.bsky.social"
PROFILE = GrowthProfile(900, 0.011, {"article": 45, "visual": 35, "post": 20})


@dataclass(frozen=True)
class Limit:
    """``limit`` per ``window``; ``policy`` as Bluesky's ``ratelimit-policy`` header says it."""

    name: str
    limit: int
    window: timedelta

    @property
    def policy(self) -> str:
        return f"{self.limit};w={int(self.window.total_seconds())}"


POINTS_HOUR = Limit("points-hour", 5000, timedelta(hours=1))
POINTS_DAY = Limit("points-day", 35000, timedelta(days=1))
SESSIONS_5MIN = Limit("create-session-5m", 30, timedelta(minutes=5))
SESSIONS_DAY = Limit("create-session-day", 300, timedelta(days=1))
CREATE_POINTS, DELETE_POINTS = 3, 1


@dataclass
class Account:
    did: str
    handle: str
    display_name: str
    app_passwords: set[str]
    created_at: datetime
    follows: int = 120
    spent: dict[str, deque[tuple[datetime, int]]] = field(default_factory=dict)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def xrpc_error(status: int, name: str, message: str, headers: dict[str, str] | None = None,
               ) -> ApiError:
    return ApiError(status, message, code=name, headers=headers)


def invalid(violations: list[str]) -> ApiError:
    return xrpc_error(400, "InvalidRequest", "; ".join(violations))


class BlueskyEmulatorBase(Emulator):
    network: ClassVar[str] = NETWORK
    hosts: ClassVar[tuple[str, ...]] = ("bsky.social", PDS_HOST, "public.api.bsky.app",
                                        "api.bsky.app")
    auth_paths: ClassVar[str] = r"/xrpc/com\.atproto\.server\.(createSession|refreshSession)$"
    growth: ClassVar[GrowthProfile] = PROFILE

    def __init__(self, ctx: SandboxContext) -> None:
        self.accounts: dict[str, Account] = {}  # did -> account
        self.refresh_tokens: dict[str, tuple[str, datetime]] = {}  # jwt -> (did, expires)
        self.limit_state: dict[tuple[str, str], deque[tuple[datetime, int]]] = {}
        super().__init__(ctx)

    # -- accounts ---------------------------------------------------------------------------

    def seed_accounts(self) -> None:
        account = self._open(MOOC_HANDLE, "Du Manager au Leader 2.0")
        self.ctx.signed_in[NETWORK] = account.did

    def _open(self, handle: str, display_name: str) -> Account:
        slug = handle.split(".")[0]
        digest = hashlib.sha256(f"{self.ctx.seed}:{handle}".encode()).digest()
        did = "did:plc:" + base64.b32encode(digest).decode().lower()[:24]
        account = Account(did, handle, display_name, {f"sbx1-{slug}-apppass"},
                          self.ctx.now() - timedelta(days=200))
        self.accounts[did] = account
        return account

    def by_handle(self, handle: str) -> Account | None:
        handle = handle.lower().lstrip("@")
        return next((a for a in self.accounts.values() if a.handle == handle), None)

    def by_actor(self, actor: str) -> Account | None:
        return self.accounts.get(actor) or self.by_handle(actor)

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        """The account a channel file names (``account.handle``): its app password."""
        handle = str(account.get("handle") or "").lower().lstrip("@")
        if not handle:
            return {}
        found = self.by_handle(handle) or self._open(handle, handle)
        self.ctx.signed_in[NETWORK] = found.did
        return {"app_password": min(found.app_passwords)}

    def environment(self) -> dict[str, str]:
        """The variable channels/bluesky-mooc.yaml names, set to this sandbox's app password."""
        found = self.by_handle(MOOC_HANDLE)
        assert found is not None
        return {"CM_BLUESKY_APP_PASSWORD": min(found.app_passwords)}

    # -- sessions ---------------------------------------------------------------------------

    def mint_session(self, account: Account) -> dict[str, str]:
        now = self.ctx.now()
        number = self.ctx.next_id("bluesky.session")
        aud = f"did:web:{PDS_HOST}"
        access = self._jwt({"scope": "com.atproto.appPass", "sub": account.did, "aud": aud,
                            "iat": epoch_seconds(now),
                            "exp": epoch_seconds(now + ACCESS_LIFETIME)})
        refresh = self._jwt({"scope": "com.atproto.refresh", "sub": account.did, "aud": aud,
                             "jti": f"sandbox-{number}", "iat": epoch_seconds(now),
                             "exp": epoch_seconds(now + REFRESH_LIFETIME)})
        self.ctx.tokens.add(Token(access, NETWORK, account.did, now + ACCESS_LIFETIME))
        self.refresh_tokens[refresh] = (account.did, now + REFRESH_LIFETIME)
        return {"accessJwt": access, "refreshJwt": refresh}

    def _jwt(self, payload: dict[str, Any]) -> str:
        head = b64url(json.dumps({"typ": "at+jwt", "alg": "HS256"}).encode())
        body = b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(JWT_SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64url(signature)}"

    def did_doc(self, account: Account) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": account.did,
            "alsoKnownAs": [f"at://{account.handle}"],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                         "serviceEndpoint": f"https://{PDS_HOST}"}],
        }

    def authenticate(self, request: SandboxRequest) -> Token:
        if not request.header("authorization"):
            raise xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        token = self.ctx.tokens.lookup(request.bearer_token())
        if token is None or token.network != NETWORK or token.account_id not in self.accounts:
            raise xrpc_error(400, "InvalidToken", "Token could not be verified")
        if not self.ctx.tokens.is_valid(token, self.ctx.now()):
            raise xrpc_error(400, "ExpiredToken", "Token has expired")
        return token

    # -- limits -----------------------------------------------------------------------------

    def spend(self, key: str, limits: tuple[Limit, ...], cost: int) -> dict[str, str]:
        """Count ``cost`` against every limit of ``key``; 429 (nothing counted) when one is
        full. Returns the ``ratelimit-*`` headers of the tightest limit."""
        now = self.ctx.now()
        tightest: tuple[int, Limit, datetime] | None = None
        for limit in limits:
            spent = self.limit_state.setdefault((key, limit.name), deque())
            while spent and spent[0][0] <= now - limit.window:
                spent.popleft()
            used = sum(points for _, points in spent)
            reset = (spent[0][0] if spent else now) + limit.window
            remaining = limit.limit - used
            if remaining < cost:
                raise self.rate_limited(limit, 0, reset)
            if tightest is None or remaining - cost < tightest[0]:
                tightest = (remaining - cost, limit, reset)
        for limit in limits:
            self.limit_state[(key, limit.name)].append((now, cost))
        assert tightest is not None
        return self.limit_headers(tightest[1], tightest[0], tightest[2])

    def limit_headers(self, limit: Limit, remaining: int, reset: datetime) -> dict[str, str]:
        return {"ratelimit-limit": str(limit.limit), "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(epoch_seconds(reset)), "ratelimit-policy": limit.policy}

    def rate_limited(self, limit: Limit, remaining: int, reset: datetime) -> ApiError:
        return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded",
                          self.limit_headers(limit, remaining, reset))

    # -- errors and validation --------------------------------------------------------------

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        name = error.code or {401: "AuthenticationRequired", 404: "XRPCNotSupported",
                              429: "RateLimitExceeded"}.get(error.status, "InternalServerError")
        return SandboxResponse.json(error.status, {"error": name, "message": error.message},
                                    error.headers)

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        if kind is ErrorKind.RATE_LIMITED:
            reset = info.get("reset_at") or self.ctx.now() + POINTS_HOUR.window
            return self.rate_limited(POINTS_HOUR, 0, reset)
        if kind is ErrorKind.TOKEN_EXPIRED:
            return xrpc_error(400, "ExpiredToken", "Token has expired")
        if kind is ErrorKind.TOKEN_MISSING:
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if kind is ErrorKind.NOT_FOUND:
            return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")
        return xrpc_error(500, "InternalServerError", "Internal Server Error")

    def response_headers(self, request: SandboxRequest, route: Route | None) -> dict[str, str]:
        return {}

    def check_request(self, request: SandboxRequest, nsid: str) -> Any:
        """The request's parameters, and its JSON input for a procedure, against the lexicon;
        returns the body (``None`` for a query)."""
        violations = lexicon.check_params(nsid, request.query)
        body = None
        if document_input(nsid) == "application/json":
            if not (request.header("content-type") or "").startswith("application/json"):
                violations.append("input: the body must be application/json")
            else:
                body = request.json()
                violations += lexicon.check_body(nsid, body)
        if violations:
            raise invalid(violations)
        return body

    def answer(self, nsid: str, payload: dict[str, Any],
               headers: dict[str, str] | None = None) -> SandboxResponse:
        """A 200 with ``payload``, which must itself match the lexicon's output (the sandbox
        never answers with a shape Bluesky would not)."""
        violations = lexicon.check_body(nsid, payload, "output")
        if violations:
            raise AssertionError(f"the emulator's answer to {nsid} breaks its lexicon: "
                                 f"{violations}")
        return SandboxResponse.json(200, payload, headers)

    def state(self) -> dict[str, Any]:
        now = self.ctx.now()
        return {"accounts": {
            account.handle: {
                "did": account.did,
                "followers": self.ctx.audience.followers(NETWORK, account.did, now),
                "posts": self.posts_of(account.did),
            }
            for account in self.accounts.values()
        }}

    def posts_of(self, did: str) -> list[dict[str, Any]]:
        return []


def document_input(nsid: str) -> str | None:
    main = lexicon.document(nsid)["defs"]["main"]
    encoding = main.get("input", {}).get("encoding")
    return str(encoding) if encoding else None


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
