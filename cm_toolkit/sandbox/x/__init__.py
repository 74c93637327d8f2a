"""The X (API v2) emulator of the sandbox. See docs/sandbox/x.md for what it serves.

``XEmulator`` gathers the routes of ``tweets.py`` (posts, users, mentions), ``media.py``
(uploads) and ``oauth.py`` (authorization and token endpoints) over ``base.XEmulatorBase``
(accounts, authentication, X's error bodies and ``x-rate-limit-*`` headers, state).
"""

from __future__ import annotations

from cm_toolkit.sandbox.x.media import MediaRoutes
from cm_toolkit.sandbox.x.oauth import OAuthRoutes
from cm_toolkit.sandbox.x.tweets import TweetRoutes


class XEmulator(TweetRoutes, MediaRoutes, OAuthRoutes):
    """api.x.com / api.twitter.com / upload.twitter.com, and x.com for the authorization page."""


__all__ = ["XEmulator"]
