"""The X (API v2) emulator of the sandbox. See docs/sandbox/x.md for what it serves.

``XEmulator`` gathers the routes of ``tweets.py`` (posts, users, mentions), ``search.py``
(recent search), ``audience.py`` (learners' posts, the reply rule, billing), ``media.py``
(uploads) and ``oauth.py`` (authorization and token endpoints) over ``base.XEmulatorBase``
(accounts, authentication, X's error bodies and ``x-rate-limit-*`` headers, state).
"""

from __future__ import annotations

from cm_toolkit.sandbox.x.media import MediaRoutes
from cm_toolkit.sandbox.x.oauth import OAuthRoutes
from cm_toolkit.sandbox.x.search import SearchRoutes


class XEmulator(SearchRoutes, MediaRoutes, OAuthRoutes):
    """api.x.com / api.twitter.com / upload.twitter.com, and x.com for the authorization page."""


__all__ = ["XEmulator"]
