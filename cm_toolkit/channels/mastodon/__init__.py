"""The Mastodon channel (Mastodon.py). ``channel`` holds the adapter and its settings,
``text`` how Mastodon counts a status, ``wire`` the mapping of its answers to our errors.
See docs/channels/mastodon.md."""

from __future__ import annotations

from cm_toolkit.channels.mastodon.channel import MastodonChannel, MastodonSettings

__all__ = ["MastodonChannel", "MastodonSettings"]
