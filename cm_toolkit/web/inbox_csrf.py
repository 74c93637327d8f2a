"""Cross-site request forgery protection for the Inbox page's forms (``--allow-replies``).

A browser session gets a random id in the ``cm_inbox_session`` cookie (``HttpOnly``,
``SameSite=Strict``); its forms carry ``csrf`` = HMAC-SHA256(access token, session id). A POST is
accepted only when the field matches the cookie's session under the dashboard's token (a
constant-time comparison), and, when the browser says where the request comes from
(``Origin``, ``Sec-Fetch-Site``), only from the dashboard itself. Changing the token
invalidates every form; another site can neither read the field nor send the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cm_toolkit.web.auth import cookie_value

SESSION_COOKIE = "cm_inbox_session"
FIELD = "csrf"


@dataclass(frozen=True)
class FormSession:
    session_id: str
    new: bool  # the cookie must be set on this answer

    def cookie_header(self) -> tuple[str, str]:
        return ("Set-Cookie",
                f"{SESSION_COOKIE}={self.session_id}; Path=/; HttpOnly; SameSite=Strict")


def _cookie(environ: dict[str, Any]) -> str | None:
    return cookie_value(environ, SESSION_COOKIE) or None


class CsrfGuard:
    """Issues and checks form tokens bound to the dashboard's access token."""

    def __init__(self, access_token: str) -> None:
        self._key = access_token.encode("utf-8")

    def session(self, environ: dict[str, Any]) -> FormSession:
        existing = _cookie(environ)
        if existing is not None:
            return FormSession(existing, new=False)
        return FormSession(secrets.token_urlsafe(24), new=True)

    def token_for(self, session_id: str) -> str:
        digest = hmac.new(self._key, b"cm-inbox-form:" + session_id.encode("utf-8"),
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def refusal(self, environ: dict[str, Any], submitted: str | None) -> str | None:
        """Why this POST is refused (``None``: accepted)."""
        site = str(environ.get("HTTP_SEC_FETCH_SITE", ""))
        if site and site not in ("same-origin", "none"):
            return f"the form was sent from another site (Sec-Fetch-Site: {site})"
        origin = str(environ.get("HTTP_ORIGIN", ""))
        # "null" is what Chromium sends for our own forms under Referrer-Policy: no-referrer;
        # the token and the SameSite cookie are the protection, these headers only a second one
        if origin and origin != "null" and urlsplit(origin).netloc != environ.get("HTTP_HOST"):
            return "the form was sent from another origin"
        session_id = _cookie(environ)
        if session_id is None:
            return "the form's session cookie is missing: reload the page and send it again"
        if not submitted:
            return "the form's CSRF token is missing: reload the page and send it again"
        if not hmac.compare_digest(submitted.encode("utf-8"),
                                   self.token_for(session_id).encode("utf-8")):
            return "the form's CSRF token is wrong or outdated: reload the page"
        return None
