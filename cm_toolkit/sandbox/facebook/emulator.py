"""The Graph API emulator (host graph.facebook.com, any ``/v{N}.0`` prefix or none).

Routes are Graph's generic ones: ``GET|DELETE /{id}``, ``GET|POST /{id}/{edge}``; the object an
id names (Page, post, photo, comment, ``me``) decides what happens (``reads.py``,
``writes.py``); Facebook Login lives in ``oauth.py``. The token is read from ``access_token``
(query or form) or an ``Authorization: Bearer|OAuth`` header.

Every answer carries ``content-type`` (facebook-sdk needs it), ``facebook-api-version``,
``x-fb-trace-id`` and ``X-App-Usage``; calls with a Page token also carry
``X-Business-Use-Case-Usage``. Throttling: app (code 4), user (17), Page (32, with
``estimated_time_to_regain_access`` minutes), Page publishing burst (613); see ``base.py``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any

from cm_toolkit.sandbox.core import (
    ApiError,
    ErrorKind,
    SandboxRequest,
    SandboxResponse,
    Token,
    route,
)
from cm_toolkit.sandbox.facebook.base import (
    APP_ID,
    APP_SECRET,
    LONG_LIVED,
    PAGE_ID,
    PAGE_NAME,
    PAGE_TOKEN,
    USER_ID,
    USER_TOKEN,
)
from cm_toolkit.sandbox.facebook.errors import (
    THROTTLE_MESSAGES,
    GraphCode,
    expired_token,
    graph_error,
    render_graph_error,
    trace_id,
    unknown_path,
)
from cm_toolkit.sandbox.facebook.oauth import VERSION, GraphOAuth
from cm_toolkit.sandbox.facebook.reads import GraphReads
from cm_toolkit.sandbox.facebook.state import (
    GraphPage,
    TokenKind,
    Window,
    usage_header,
)
from cm_toolkit.sandbox.facebook.versions import served_as, version_error
from cm_toolkit.sandbox.facebook.writes import GraphWrites

NODE = r"/(?P<node>(?!(?:oauth|dialog|v\d+\.\d+)(?:/|$))[^/]+)"
EDGE = r"/(?P<edge>[^/]+)"
_VERSION_IN_PATH = re.compile(r"^/(v\d+\.\d+)/")


class FacebookEmulator(GraphOAuth, GraphWrites, GraphReads):
    """Facebook Pages through the Graph API; see docs/sandbox/facebook.md."""

    # -- accounts ---------------------------------------------------------------------------

    def seed_accounts(self) -> None:
        self.pages[PAGE_ID] = GraphPage(PAGE_ID, PAGE_NAME, "managerleader20", "Education")
        self.user_pages[USER_ID] = [PAGE_ID]
        self.apps[APP_ID] = APP_SECRET
        self.add_token(Token(PAGE_TOKEN, self.network, PAGE_ID, None), TokenKind.PAGE)
        self.add_token(
            Token(USER_TOKEN, self.network, USER_ID, self.now() + LONG_LIVED), TokenKind.USER
        )

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        """A Page the sandbox's user manages, with its own Page token."""
        page_id = str(account.get("page_id") or "")
        if not page_id:
            return {}
        token = f"facebook-sandbox-page-token-{page_id}"
        if page_id not in self.pages:
            self.pages[page_id] = GraphPage(page_id, f"Page {page_id}", f"page{page_id}",
                                            "Community")
            self.user_pages[USER_ID].append(page_id)
            self.add_token(Token(token, self.network, page_id, None), TokenKind.PAGE)
        return {"page_token": token, "user_token": USER_TOKEN,
                "app_id": APP_ID, "app_secret": APP_SECRET}

    def environment(self) -> dict[str, str]:
        """What channels/facebook-page.yaml needs, plus what ``cm auth`` uses to mint tokens."""
        return {
            "CM_FACEBOOK_PAGE_TOKEN": PAGE_TOKEN,
            "CM_FACEBOOK_USER_TOKEN": USER_TOKEN,
            "CM_FACEBOOK_APP_ID": APP_ID,
            "CM_FACEBOOK_APP_SECRET": APP_SECRET,
        }

    def state(self) -> dict[str, Any]:
        now = self.now()
        return {
            "pages": {pid: page.as_dict() for pid, page in self.pages.items()},
            "usage": {
                "app": usage_header(self.app_window, now),
                "pages": {pid: usage_header(w, now) for pid, w in self.page_windows.items()},
            },
        }

    # -- routes -----------------------------------------------------------------------------

    @route("GET", VERSION + NODE)
    def get_node(self, request: SandboxRequest, token: Token, node: str) -> SandboxResponse:
        return SandboxResponse.json(200, self.read_node(request, token, node))

    @route("GET", VERSION + NODE + EDGE)
    def get_edge(
        self, request: SandboxRequest, token: Token, node: str, edge: str
    ) -> SandboxResponse:
        return SandboxResponse.json(200, self.read_edge(request, token, node, edge))

    @route("POST", VERSION + NODE + EDGE, creates=True)
    def post_edge(
        self, request: SandboxRequest, token: Token, node: str, edge: str
    ) -> SandboxResponse:
        return SandboxResponse.json(200, self.write_edge(request, token, node, edge))

    @route("DELETE", VERSION + NODE)
    def delete(self, request: SandboxRequest, token: Token, node: str) -> SandboxResponse:
        return SandboxResponse.json(200, self.delete_node(request, token, node))

    def dispatch(
        self, request: SandboxRequest, found: tuple[Any, re.Match[str]] | None
    ) -> SandboxResponse:
        self.publish_due()
        error = version_error(request.path)
        if error is not None:  # Graph answers before looking at the token or the route
            response = self.render_error(error, request)
            response.headers = {**self.response_headers(request, None), **response.headers}
            return response
        return super().dispatch(request, found)

    # -- tokens and usage -------------------------------------------------------------------

    def request_token_value(self, request: SandboxRequest) -> str | None:
        value = request.arg("access_token")
        if value:
            return value
        auth = request.header("authorization") or ""
        scheme, _, rest = auth.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and rest.strip():
            return rest.strip()
        return None

    def authenticate(self, request: SandboxRequest) -> Token:
        value = self.request_token_value(request)
        if not value:
            raise self.standard_error(ErrorKind.TOKEN_MISSING, request)
        token = self.ctx.tokens.lookup(value)
        if token is None and value.count("|") == 1:
            app_id, _, secret = value.partition("|")
            if self.apps.get(app_id) == secret:
                token = Token(value, self.network, app_id, None)
                self.token_kinds[value] = TokenKind.APP
        if token is None or token.network != self.network:
            raise graph_error(
                GraphCode.INVALID_TOKEN, "Invalid OAuth access token - Cannot parse access token"
            )
        now = self.now()
        if not self.ctx.tokens.is_valid(token, now) and self.token_kind(token) is not TokenKind.APP:
            raise expired_token(token.expires_at or now, now)
        self.meter(token)
        return token

    def meter(self, token: Token) -> None:
        """Count the call against the app, the user and the Page; refuse it over a limit."""
        now = self.now()
        self.app_window.limit = self.app_calls_per_hour
        windows: list[tuple[Window, GraphCode]] = [(self.app_window, GraphCode.APP_LIMIT)]
        kind = self.token_kind(token)
        if kind is TokenKind.USER:
            user = self.user_windows.setdefault(
                token.account_id, Window(self.user_calls_per_hour, timedelta(hours=1))
            )
            user.limit = self.user_calls_per_hour
            windows.append((user, GraphCode.USER_LIMIT))
        if kind is TokenKind.PAGE:
            windows.append((self.page_window(token.account_id), GraphCode.PAGE_LIMIT))
        for window, code in windows:
            if window.full(now):
                headers = {}
                if code is GraphCode.PAGE_LIMIT:
                    headers = self.buc_header(token.account_id, window.minutes_to_regain(now))
                raise graph_error(code, THROTTLE_MESSAGES[code], headers=headers)
        for window, _ in windows:
            window.record(now)

    def page_window(self, page_id: str) -> Window:
        window = self.page_windows.setdefault(
            page_id, Window(self.page_calls_per_day, timedelta(days=1))
        )
        window.limit = self.page_calls_per_day
        return window

    def buc_header(self, page_id: str, minutes: int) -> dict[str, str]:
        usage = usage_header(self.page_window(page_id), self.now())
        if minutes:
            usage = {
                "call_count": 100,
                "total_cputime": usage["total_cputime"],
                "total_time": usage["total_time"],
            }
        entry = {"type": "pages", **usage, "estimated_time_to_regain_access": minutes}
        return {"x-business-use-case-usage": json.dumps({page_id: [entry]})}

    # -- errors and headers -----------------------------------------------------------------

    def current_trace(self, request: SandboxRequest) -> str:
        # One trace id per request, shared by the body's fbtrace_id and x-fb-trace-id.
        last = getattr(self, "_trace_of", None)
        if last is not None and last[0] is request:
            return str(last[1])
        trace = trace_id(self.ctx.seed, self.next_trace())
        self._trace_of = (request, trace)
        return trace

    def render_error(self, error: ApiError, request: SandboxRequest) -> SandboxResponse:
        if not isinstance(error.code, int):  # a core error (e.g. a body that is not JSON)
            error = graph_error(GraphCode.INVALID_PARAMETER, f"(#100) {error.message}")
        return render_graph_error(error, self.current_trace(request))

    def standard_error(self, kind: ErrorKind, request: SandboxRequest, **info: Any) -> ApiError:
        now = self.now()
        if kind is ErrorKind.RATE_LIMITED:
            reset_at = info.get("reset_at") or now + timedelta(minutes=1)
            minutes = max(1, math.ceil((reset_at - now).total_seconds() / 60))
            page_id = self.page_id_of(request)
            return graph_error(
                GraphCode.PAGE_LIMIT,
                THROTTLE_MESSAGES[GraphCode.PAGE_LIMIT],
                headers=self.buc_header(page_id, minutes),
            )
        if kind is ErrorKind.SERVER_ERROR:
            return graph_error(
                GraphCode.SERVICE,
                "An unexpected error has occurred. Please retry your request later.",
                status=500,
                is_transient=True,
            )
        if kind is ErrorKind.TOKEN_EXPIRED:
            token = self.ctx.tokens.lookup(self.request_token_value(request))
            expired_at = token.expires_at if token and token.expires_at else now
            return expired_token(min(expired_at, now), now)
        if kind is ErrorKind.TOKEN_MISSING:
            return graph_error(
                GraphCode.TOKEN_REQUIRED, "An access token is required to request this resource."
            )
        return unknown_path(request.path)

    def page_id_of(self, request: SandboxRequest) -> str:
        token = self.ctx.tokens.lookup(self.request_token_value(request))
        if token is not None and self.token_kind(token) is TokenKind.PAGE:
            return token.account_id
        parts = [p for p in request.path.split("/") if p and not _VERSION_IN_PATH.match(f"/{p}/")]
        head = parts[0].split("_", 1)[0] if parts else PAGE_ID
        return head if head in self.pages else PAGE_ID

    def response_headers(self, request: SandboxRequest, route_: Any) -> dict[str, str]:
        now = self.now()
        headers = {
            "facebook-api-version": served_as(request.path),
            "x-fb-trace-id": self.current_trace(request),
            "x-fb-rev": "1029384756",
            "x-app-usage": json.dumps(usage_header(self.app_window, now)),
            "access-control-allow-origin": "*",
            "cache-control": "private, no-cache, no-store, must-revalidate",
            "pragma": "no-cache",
        }
        token = self.ctx.tokens.lookup(self.request_token_value(request))
        if token is not None and self.token_kind(token) is TokenKind.PAGE:
            headers.update(self.buc_header(token.account_id, 0))
        return headers
