"""``Dashboard``: the WSGI application — routes, access control, read-only methods, headers.

Only GET and HEAD exist (anything else: 405 with ``Allow``), except the Inbox page's actions
(``POST /inbox/message/ID/ACTION``) on a dashboard started with ``--allow-replies`` (which needs
a token; the forms carry a CSRF token, ``web/inbox_csrf.py``). Every answer carries a strict
Content-Security-Policy (scripts only from the dashboard itself: Plotly is served at
``/static/plotly.min.js``, no CDN), ``nosniff``, no framing and no referrer (a token in a URL
must not leak to a linked site).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from cm_toolkit.clock import Clock
from cm_toolkit.errors import UsageError
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.wording import Wording
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.web.auth import AccessPolicy, Verdict
from cm_toolkit.web.downloads import DOWNLOAD_ROUTE, ReportDownloads
from cm_toolkit.web.inbox_actions import InboxActions
from cm_toolkit.web.inbox_page import ACTIONS, InboxPages
from cm_toolkit.web.views import DashboardViews, NotFound, Response

log = logging.getLogger("cm.web")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Handler = Callable[..., Response]

REASONS = {200: "OK", 204: "No Content", 303: "See Other", 400: "Bad Request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 500: "Internal Server Error"}
SECURITY_HEADERS = [
    ("Content-Security-Policy",
     ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
      "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
      "form-action 'self'; frame-ancestors 'none'")),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
]
CHANNEL = r"(?P<channel_id>[^/]+)"
MESSAGE = r"/inbox/message/(?P<message_id>[0-9]{1,12})"
INBOX_ACTION = re.compile(MESSAGE + rf"/(?P<action>{'|'.join(ACTIONS)})\Z")


def _text(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, message.encode("utf-8"), "text/plain; charset=utf-8",
                    list(headers or []))


class Dashboard:
    """The WSGI app. ``ledger`` is read, never written — except through ``actions`` (the Inbox
    page's replies, assignments and state changes: ``--allow-replies``, only with a token);
    ``clock`` says what 'upcoming' means; ``language``: the pages' words, numbers and dates
    (default: the context's, i.e. the workspace's ``defaults.language``; English otherwise)."""

    def __init__(self, ledger: Ledger, context: GrowthContext, clock: Clock,
                 token: str | None = None, *, language: str | None = None,
                 actions: InboxActions | None = None) -> None:
        if actions is not None and token is None:
            raise UsageError("answering from the dashboard (--allow-replies) needs an access "
                             "token, even on 127.0.0.1",
                             fix="pass --token (or set CM_DASHBOARD_TOKEN) with a random "
                             "secret, e.g. from python -c 'import secrets; "
                             "print(secrets.token_urlsafe(24))'")
        words = Wording(language or context.language)
        self.views = DashboardViews(ledger, context, clock, words)
        self.access = AccessPolicy(token)
        self.inbox = InboxPages(ledger, context, clock, self.views.templates, words=words,
                                actions=actions, token=token)
        self.inbox_routes: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(r"/inbox\Z"), self.inbox.listing),
            (re.compile(r"/inbox/metrics\Z"), self.inbox.metrics),
            (re.compile(MESSAGE + r"\Z"), self.inbox.message),
        ]
        v = self.views
        self.downloads = ReportDownloads(ledger, context, clock)
        self.routes: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(pattern + r"\Z"), handler) for pattern, handler in (
                (r"/", v.overview),
                (rf"/channel/{CHANNEL}", v.channel),
                (r"/calendar", v.calendar),
                (r"/posts", v.posts),
                (r"/review", v.review),
                (DOWNLOAD_ROUTE, self.downloads.download),
                (r"/api/overview/growth\.json", v.overview_growth),
                (rf"/api/channel/{CHANNEL}/growth\.json", v.channel_growth),
                (rf"/api/channel/{CHANNEL}/net-adds\.json", v.channel_net_adds),
                (r"/static/(?P<name>[A-Za-z0-9_.-]+)", v.static),
                (r"/favicon\.ico", lambda: Response(204, b"", "image/x-icon")),
            )
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        response = self._respond(method, environ)
        headers = [("Content-Type", response.content_type),
                   ("Content-Length", str(len(response.body))), *SECURITY_HEADERS,
                   *response.headers]
        start_response(f"{response.status} {REASONS.get(response.status, '')}", headers)
        return [b""] if method == "HEAD" else [response.body]

    def _respond(self, method: str, environ: dict[str, Any]) -> Response:
        path = unquote(str(environ.get("PATH_INFO", "/")) or "/")
        action = INBOX_ACTION.match(path) if self.inbox.accepts_posts else None
        if method not in ("GET", "HEAD") and not (method == "POST" and action):
            return _text(405, "The dashboard is read-only: only GET and HEAD are allowed"
                         + (" (and POST to the Inbox page's actions)" if action else "")
                         + ".\n", [("Allow", "GET, HEAD, POST" if action else "GET, HEAD")])
        decision = self.access.check(environ)
        if decision.verdict is Verdict.WRONG_HOST:
            return _text(403, "This dashboard only answers to 127.0.0.1 / localhost.\n")
        if decision.verdict is Verdict.DENY:
            return _text(401, "An access token is needed: open the dashboard once with "
                         "?token=YOUR_TOKEN, or send 'Authorization: Bearer YOUR_TOKEN'.\n",
                         [("WWW-Authenticate", 'Bearer realm="cm dashboard"')])
        if decision.verdict is Verdict.SET_COOKIE:
            return Response(303, b"", "text/plain; charset=utf-8",
                            [("Location", decision.location), self.access.cookie_header()])
        if method == "POST" and action is not None:
            return self._handle(path, self.inbox.act, environ, action.groupdict())
        for pattern, handler in self.inbox_routes:
            match = pattern.match(path)
            if match is not None:
                return self._handle(path, handler, environ, match.groupdict())
        for pattern, handler in self.routes:
            match = pattern.match(path)
            if match is None:
                continue
            return self._handle(path, handler, None, match.groupdict())
        return _text(404, f"Nothing here: {path}\n")

    def _handle(self, path: str, handler: Handler, environ: dict[str, Any] | None,
                values: dict[str, Any]) -> Response:
        """One view; ``environ`` for the views that read the query or a form."""
        try:
            return handler(environ, **values) if environ is not None else handler(**values)
        except NotFound:
            return _text(404, f"Nothing here: {path}\n")
        except Exception:  # one broken page must not stop the server; the log has it
            log.exception("dashboard page %s failed", path)
            return _text(500, "This page failed; the dashboard's log says why.\n")
