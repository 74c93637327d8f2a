"""Facebook Pages through the Graph API (facebook-sdk); see docs/channels/facebook.md.

``channel.py``: ``FacebookChannel`` and ``FacebookSettings``; ``wire.py``: the SDK import
(without its compile-time warning) and the mapping of Graph's answers to our errors.
"""

from __future__ import annotations

from cm_toolkit.channels.facebook.channel import FacebookChannel, FacebookSettings

__all__ = ["FacebookChannel", "FacebookSettings"]
