"""The X channel adapter (API v2, tweepy). ``XChannel`` is in ``channel.py``; ``wire.py`` holds
the session with a timeout and the mapping of X's answers to cm-toolkit's errors."""

from __future__ import annotations

from cm_toolkit.channels.x.channel import XChannel, XSettings

__all__ = ["XChannel", "XSettings"]
