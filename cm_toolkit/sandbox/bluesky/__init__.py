"""The Bluesky (AT Protocol) emulator of the sandbox. See docs/sandbox/bluesky.md.

``BlueskyEmulator`` serves the XRPC methods of ``routes.py`` over ``base.BlueskyEmulatorBase``
(accounts, session JWTs, XRPC errors, ``ratelimit-*`` limits); ``lexicon.py`` checks every
request, record and answer against the lexicons in ``sandbox/specs/bluesky-lexicons``.
"""

from __future__ import annotations

from cm_toolkit.sandbox.bluesky.routes import BlueskyRoutes


class BlueskyEmulator(BlueskyRoutes):
    """bsky.social (sign-in), the account's PDS host, and the public AppView hosts."""


__all__ = ["BlueskyEmulator"]
