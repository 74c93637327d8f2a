"""The Bluesky channel adapter (AT Protocol, the ``atproto`` SDK). ``BlueskyChannel`` is in
``channel.py``; ``text.py`` counts graphemes and finds facets; ``wire.py`` holds the SDK client
on our transport and the mapping of XRPC errors to cm-toolkit's errors."""

from __future__ import annotations

from cm_toolkit.channels.bluesky.channel import BlueskyChannel, BlueskySettings

__all__ = ["BlueskyChannel", "BlueskySettings"]
