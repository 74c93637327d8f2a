"""The Mastodon emulator of the sandbox: every instance a workspace names, one host each.
See docs/sandbox/mastodon.md for what it serves.

``MastodonEmulator`` gathers the routes of ``routes.py`` (instance, account, media, statuses),
``audience.py`` (learners' statuses and the account's ``mention`` notifications) and
``oauth.py`` (apps, authorization, token) over ``base.MastodonEmulatorBase`` (instances,
accounts, tokens, Mastodon's error bodies and ``X-RateLimit-*`` headers, the check of every
request against the API description in ``spec.py``, state).
"""

from __future__ import annotations

from cm_toolkit.sandbox.mastodon.audience import AudienceStatuses
from cm_toolkit.sandbox.mastodon.oauth import OAuthRoutes


class MastodonEmulator(AudienceStatuses, OAuthRoutes):
    """Every Mastodon instance the sandbox serves (``social.univ-campus.fr`` and provisioned)."""


__all__ = ["MastodonEmulator"]
