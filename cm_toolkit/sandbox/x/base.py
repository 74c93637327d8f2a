"""The X emulator's shared part: accounts, authentication, errors, rate-limit headers, state.

Routes live in ``tweets.py``, ``media.py`` and ``oauth.py`` (mixins over ``XEmulatorBase``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import deque
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote

from oauthlib.oauth1.rfc5849 import signature as oauth1_signature
from oauthlib.oauth1.rfc5849.utils import escape, parse_authorization_header

from cm_toolkit.sandbox.audience import GrowthProfile
from cm_toolkit.sandbox.core import (
    ApiError,
    Emulator,
    ErrorKind,
    RateLimit,
    Route,
    SandboxContext,
    SandboxRequest,
    SandboxResponse,
    Token,
    epoch_seconds,
)
from cm_toolkit.sandbox.x import problems
from cm_toolkit.sandbox.x.model import (
    ACCESS_TOKEN_LIFETIME,
    AuthCode,
    Grant,
    OAuth1Keys,
    OAuthClient,
    XAccount,
    XMedia,
    XTweet,
)
from cm_toolkit.sandbox.x.schema import RequestSchema

WINDOW = timedelta(minutes=15)
ALL_SCOPES = ["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"]

# The sample workspace's account (channels/x-mooc.yaml) and its secrets in the sandbox.
MOOC_USER_ID = "1460000000000000001"
MOOC_USERNAME = "ManagerLeader20"
PUBLIC_CLIENT = OAuthClient("x-sandbox-client-id", None, "cm-toolkit (sandbox, public client)")
CONFIDENTIAL_CLIENT = OAuthClient(
    "x-sandbox-confidential-client-id", "x-sandbox-client-secret", "cm-toolkit (confidential)"
)
OAUTH1_CONSUMER = ("x-sandbox-consumer-key", "x-sandbox-consumer-secret")


def per_15_min(limit: int) -> RateLimit:
    return RateLimit(limit, WINDOW)


class XEmulatorBase(Emulator):
    network: ClassVar[str] = "x"
    # api.x.com is today's host; tweepy still calls api.twitter.com; the authorization page is
    # on x.com (twitter.com for tweepy's OAuth2UserHandler).
    hosts: ClassVar[tuple[str, ...]] = (
        "api.x.com",
        "api.twitter.com",
        "upload.twitter.com",
        "upload.x.com",
        "x.com",
        "twitter.com",
    )
    auth_paths: ClassVar[str] = r"/2/oauth2/token"
    # tuned with the other profiles so the sample season ends near X x2.5 (docs/sandbox.md)
    growth: ClassVar[GrowthProfile] = GrowthProfile(
        3100, 0.0078, {"article": 70, "post": 30, "live": 35})

    def __init__(self, ctx: SandboxContext) -> None:
        self.accounts: dict[str, XAccount] = {}  # id -> account
        self.tweets: dict[str, XTweet] = {}
        self.media: dict[str, XMedia] = {}
        self.grants: dict[str, Grant] = {}  # access token -> grant
        self.refresh_tokens: dict[str, Grant] = {}  # live refresh token -> grant
        self.used_refresh_tokens: set[str] = set()
        self.codes: dict[str, AuthCode] = {}
        # POST /2/tweets of the last 24 hours (app limit), oldest first: a deque, so that
        # forgetting expired ones costs nothing per post even with 10,000 in the window
        self.app_posts: deque[datetime] = deque()
        # (author id, text) -> ids of the posts made through the API: the duplicate check looks
        # there instead of scanning every post (mentions are authored by learners, who cannot
        # post, so they never take part in it)
        self.posted_texts: dict[tuple[str, str], list[str]] = {}
        self.clients = {c.client_id: c for c in (PUBLIC_CLIENT, CONFIDENTIAL_CLIENT)}
        self.oauth1: dict[str, OAuth1Keys] = {}  # access token -> keys
        self.seed_refresh_tokens: set[str] = set()
        self._schemas: dict[str, RequestSchema] = {}
        super().__init__(ctx)

    # -- accounts and tokens ------------------------------------------------------------------

    def seed_accounts(self) -> None:
        now = self.ctx.now()
        account = XAccount(
            MOOC_USER_ID,
            MOOC_USERNAME,
            "Du Manager au Leader 2.0",
            created_at=now - timedelta(days=400),
            description="MOOC « Du Manager au Leader 2.0 » : feedback, critique, articles.",
            following=210,
            listed=37,
        )
        self._open(account)
        self.ctx.signed_in["x"] = account.id

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        username = str(account.get("username") or "").lstrip("@")
        if not username:
            return {}
        found = next((a for a in self.accounts.values() if a.slug == username.lower()), None)
        if found is None:
            number = self.ctx.next_id("x.provisioned")
            found = XAccount(str(int(MOOC_USER_ID) + 1000 + number), username, username,
                             created_at=self.ctx.now() - timedelta(days=30))
            self._open(found)
        self.ctx.signed_in["x"] = found.id
        return {"access_token": f"x-sandbox-access-{found.slug}",
                "refresh_token": f"x-sandbox-refresh-{found.slug}",
                "client_id": PUBLIC_CLIENT.client_id}

    def _open(self, account: XAccount) -> None:
        """An account with its seeded tokens (OAuth 2.0, and OAuth 1.0a for media)."""
        self.accounts[account.id] = account
        access = f"x-sandbox-access-{account.slug}"
        refresh = f"x-sandbox-refresh-{account.slug}"
        self._mint(account, PUBLIC_CLIENT.client_id, ALL_SCOPES, access=access, refresh=refresh)
        # The seeded refresh token survives use (see docs/sandbox/x.md): the environment of
        # the sample workspace keeps working however many times it is refreshed.
        self.seed_refresh_tokens.add(refresh)
        self.oauth1[f"{account.id}-x-sandbox-oauth1-{account.slug}"] = OAuth1Keys(
            *OAUTH1_CONSUMER,
            access_token=f"{account.id}-x-sandbox-oauth1-{account.slug}",
            access_token_secret=f"x-sandbox-oauth1-secret-{account.slug}",
            account_id=account.id,
        )

    def environment(self) -> dict[str, str]:
        """The variables channels/x-mooc.yaml names, set to this sandbox's secrets."""
        slug = MOOC_USERNAME.lower()
        return {
            "CM_X_ACCESS_TOKEN": f"x-sandbox-access-{slug}",
            "CM_X_REFRESH_TOKEN": f"x-sandbox-refresh-{slug}",
            "CM_X_CLIENT_ID": PUBLIC_CLIENT.client_id,
        }

    def _mint(
        self,
        account: XAccount,
        client_id: str,
        scope: list[str],
        *,
        access: str | None = None,
        refresh: str | None = None,
    ) -> tuple[Token, Grant]:
        """A new access token (and refresh token with ``offline.access``) for ``account``."""
        number = self.ctx.next_id("x.token")
        access = access or f"x-sandbox-access-{account.slug}-{number}"
        if refresh is None and "offline.access" in scope:
            refresh = f"x-sandbox-refresh-{account.slug}-{number}"
        token = self.ctx.tokens.add(
            Token(access, "x", account.id, self.ctx.now() + ACCESS_TOKEN_LIFETIME, refresh)
        )
        grant = Grant(account.id, client_id, list(scope), refresh)
        self.grants[access] = grant
        if refresh:
            self.refresh_tokens[refresh] = grant
        return token, grant

    def authenticate(self, request: SandboxRequest) -> Token:
        header = request.header("authorization") or ""
        if header.lower().startswith("oauth "):
            return self._oauth1(request, header)
        token = super().authenticate(request)
        if token.account_id not in self.accounts:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        return token

    def _oauth1(self, request: SandboxRequest, header: str) -> Token:
        """OAuth 1.0a user context: known keys and a valid HMAC-SHA1 signature."""
        try:
            params = {k: unquote(v) for k, v in parse_authorization_header(header)}
        except ValueError:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request) from None
        keys = self.oauth1.get(params.get("oauth_token", ""))
        if keys is None or params.get("oauth_consumer_key") != keys.consumer_key:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        signed = [(k, v) for k, v in params.items() if k not in ("oauth_signature", "realm")]
        signed += [(k, v) for k, vs in request.query.items() for v in vs]
        if (request.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
            signed += parse_qsl(request.body.decode(), keep_blank_values=True)
        base = oauth1_signature.signature_base_string(
            request.method,
            oauth1_signature.base_string_uri(f"https://{request.host.split(':')[0]}{request.path}"),
            oauth1_signature.normalize_parameters(signed),
        )
        key = f"{escape(keys.consumer_secret)}&{escape(keys.access_token_secret)}"
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        if params.get("oauth_signature") != expected:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        return Token(keys.access_token, "x", keys.account_id, None)

    def require_scopes(self, token: Token, *scopes: str) -> None:
        """OAuth 2.0 tokens must carry the operation's scopes (OAuth 1.0a keys carry all)."""
        grant = self.grants.get(token.value)
        if grant is not None and not set(scopes) <= set(grant.scope):
            raise problems.http_problem(403, "Forbidden")

    def account(self, token: Token) -> XAccount:
        return self.accounts[token.account_id]

    # -- validation -----------------------------------------------------------------------------

    def schema(self, operation: str) -> RequestSchema:
        if operation not in self._schemas:
            self._schemas[operation] = RequestSchema(operation)
        return self._schemas[operation]

    def check_query(self, request: SandboxRequest, operation: str) -> None:
        violations = self.schema(operation).query(request.query)
        if violations:
            raise problems.invalid_request(violations)

    def check_body(
        self, value: Any, operation: str, content_type: str = "application/json"
    ) -> None:
        violations = self.schema(operation).body(value, content_type)
        if violations:
            raise problems.invalid_request(violations)

    def fields(self, request: SandboxRequest, name: str) -> set[str]:
        values = request.query.get(name)
        return set(values[-1].split(",")) if values else set()

    # -- errors and headers ---------------------------------------------------------------------

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse.json(error.status, problems.body_of(error), error.headers)

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        if kind is ErrorKind.RATE_LIMITED:
            found = self.find_route(request)
            limit = found[0].rate_limit.limit if found and found[0].rate_limit else 0
            reset_at = info.get("reset_at") or self.ctx.now() + WINDOW
            return problems.rate_limited(limit, epoch_seconds(reset_at))
        if kind in (ErrorKind.TOKEN_EXPIRED, ErrorKind.TOKEN_MISSING):
            return problems.http_problem(401)
        if kind is ErrorKind.NOT_FOUND:
            return problems.unknown_path()
        return problems.http_problem(500)

    def rate_status(self, route_: Route, request: SandboxRequest) -> tuple[int, int, Any]:
        """Like the base, but the caller may also be an OAuth 1.0a user."""
        assert route_.rate_limit is not None
        now = self.ctx.now()
        key = (route_.name, self._caller(request))
        calls = [t for t in self._calls.get(key, []) if t > now - route_.rate_limit.window]
        reset = (calls[0] if calls else now) + route_.rate_limit.window
        return route_.rate_limit.limit, max(0, route_.rate_limit.limit - len(calls)), reset

    def _caller(self, request: SandboxRequest) -> str:
        header = request.header("authorization") or ""
        if header.lower().startswith("oauth "):
            try:
                token = dict(parse_authorization_header(header)).get("oauth_token", "")
            except ValueError:
                return "-"
            keys = self.oauth1.get(token)
            return keys.account_id if keys else "-"
        found = self.ctx.tokens.lookup(request.bearer_token())
        return found.account_id if found else "-"

    def response_headers(self, request: SandboxRequest, route: Route | None) -> dict[str, str]:
        """``x-rate-limit-*`` on every answer, 429s and faults included (tweepy needs reset)."""
        if route is None:
            found = self.find_route(request)
            route = found[0] if found else None
        if route is not None and route.rate_limit is not None:
            limit, remaining, reset = self.rate_status(route, request)
        else:
            limit, remaining, reset = 0, 0, self.ctx.now() + WINDOW
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(epoch_seconds(reset)),
        }

    # -- state ----------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        now = self.ctx.now()
        accounts: dict[str, Any] = {}
        for account in self.accounts.values():
            accounts[account.username] = {
                "id": account.id,
                "followers": self.ctx.audience.followers("x", account.id, now),
                "tweets": [t.summary() for t in self.tweets.values() if t.author_id == account.id],
                "media": [
                    {
                        "id": m.id,
                        "media_key": m.key,
                        "type": m.media_type,
                        "size": m.size,
                        "state": m.state.value,
                    }
                    for m in self.media.values()
                    if m.owner_id == account.id
                ],
            }
        return {"accounts": accounts}
