"""The Bluesky (AT Protocol) emulator of the sandbox. See docs/sandbox/bluesky.md.

``BlueskyEmulator`` serves the XRPC methods of ``routes.py`` and ``audience.py`` (learners'
posts and the account's notifications) over ``base.BlueskyEmulatorBase``
(accounts, session JWTs, XRPC errors, ``ratelimit-*`` limits); ``lexicon.py`` checks every
request, record and answer against the lexicons in ``sandbox/specs/bluesky-lexicons``.
"""

from __future__ import annotations

from cm_toolkit.sandbox.bluesky.audience import AudiencePosts


class BlueskyEmulator(AudiencePosts):
    """bsky.social (sign-in), the account's PDS host, and the public AppView hosts."""


__all__ = ["BlueskyEmulator"]
