"""Who may read the dashboard.

Without a token the dashboard only listens on a loopback address and only answers requests
whose ``Host`` is a loopback name (a web page elsewhere cannot reach it through DNS rebinding).
With a token every request must carry it: ``Authorization: Bearer T``, the ``cm_dashboard``
cookie, or once ``?token=T`` in the URL (answered by a redirect that sets the cookie and drops
the token from the address bar and from the history). Comparisons are constant-time.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import re
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from cm_toolkit.errors import UsageError

COOKIE = "cm_dashboard"
TOKEN_ENV = "CM_DASHBOARD_TOKEN"
TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9._~+/=-]+")  # safe in a cookie and a header
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class Verdict(enum.Enum):
    ALLOW = "allow"
    SET_COOKIE = "set_cookie"  # the token came in the query: store it, redirect without it
    DENY = "deny"
    WRONG_HOST = "wrong_host"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    location: str = ""  # for SET_COOKIE: the same URL without the token


def is_loopback(host: str) -> bool:
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def require_token_for(host: str, token: str | None) -> None:
    """Refuse to listen beyond loopback without a token (``UsageError`` with the fix)."""
    if token is not None and len(token) < 16:
        raise UsageError(
            "the dashboard token is too short (it needs at least 16 characters)",
            fix="use a random one: python -c 'import secrets; print(secrets.token_urlsafe(24))'",
        )
    if token is not None and not TOKEN_CHARACTERS.fullmatch(token):
        raise UsageError(
            "the dashboard token may only hold letters, digits and - _ . ~ + / =",
            fix="use a random one: python -c 'import secrets; print(secrets.token_urlsafe(24))'",
        )
    if token is None and not is_loopback(host):
        raise UsageError(
            f"listening on {host} would open the dashboard to other machines without an "
            "access token",
            fix=f"pass --token-file (or set {TOKEN_ENV}) with a random secret, e.g. from "
            "python -c 'import secrets; print(secrets.token_urlsafe(24))', "
            "or keep the default --host 127.0.0.1",
        )


def local_path(path: str) -> str:
    """``path`` as a redirect target that stays on this server.

    The path comes decoded from the request (``/%2F%2Fevil.example/`` is ``///evil.example/``):
    two leading slashes or a backslash would send the browser to another host. One leading
    slash, and everything else percent-encoded but the path's own characters."""
    return "/" + quote(path.lstrip("/\\"), safe="/-._~!$&'()*+,;=:@")


def _host_name(header: str) -> str:
    """The host of a Host header, without its port (``[::1]:8050`` -> ``[::1]``)."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


def cookie_value(environ: dict[str, Any], name: str) -> str | None:
    """One cookie of the request (``None`` when absent or when the header is malformed)."""
    raw = environ.get("HTTP_COOKIE")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(str(raw))
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


class AccessPolicy:
    def __init__(self, token: str | None) -> None:
        self.token = token

    def check(self, environ: dict[str, Any]) -> Decision:
        if self.token is None:
            host = _host_name(str(environ.get("HTTP_HOST", "")))
            return Decision(Verdict.ALLOW if host in LOOPBACK_NAMES or is_loopback(host)
                            else Verdict.WRONG_HOST)
        token = self.token
        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        if header[:7].lower() == "bearer " and _same(header[7:].strip(), token):
            return Decision(Verdict.ALLOW)
        cookie = self._cookie(environ)
        if cookie is not None and _same(cookie, token):
            return Decision(Verdict.ALLOW)
        query = parse_qsl(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        given = [value for key, value in query if key == "token"]
        if given and _same(given[-1], token):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", "/"))
            return Decision(Verdict.SET_COOKIE, local_path(path) + (f"?{rest}" if rest else ""))
        return Decision(Verdict.DENY)

    @staticmethod
    def _cookie(environ: dict[str, Any]) -> str | None:
        return cookie_value(environ, COOKIE)

    def cookie_header(self) -> tuple[str, str]:
        assert self.token is not None
        return ("Set-Cookie", f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict")
