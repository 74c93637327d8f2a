"""The LinkedIn emulator: the versioned REST API (``api.linkedin.com/rest``) and OAuth.

See docs/sandbox/linkedin.md for what is emulated. Modules: ``base`` (gateway checks, tokens,
quotas, error bodies), ``content`` (posts, images, uploads), ``stats`` (followers, share
statistics), ``comments`` (reading and writing comments), ``oauth`` (authorization and token endpoints), ``validation`` (the Posts
API's Rest.li validation and the "little" text format), ``restli`` (query syntax).
"""

from __future__ import annotations

from cm_toolkit.sandbox.linkedin.comments import CommentRoutes
from cm_toolkit.sandbox.linkedin.content import ContentRoutes
from cm_toolkit.sandbox.linkedin.oauth import OAuthRoutes
from cm_toolkit.sandbox.linkedin.stats import StatsRoutes


class LinkedInEmulator(ContentRoutes, StatsRoutes, CommentRoutes, OAuthRoutes):
    """api.linkedin.com and www.linkedin.com (OAuth, dms-uploads) in the sandbox."""


__all__ = ["LinkedInEmulator"]
