"""The LinkedIn channel: organization pages through LinkedIn's official client.

``channel`` holds the adapter and its settings; ``http`` the timed session and the mapping of
LinkedIn's answers to cm-toolkit errors. See docs/channels/linkedin.md.
"""

from __future__ import annotations

from cm_toolkit.channels.linkedin.channel import LinkedInChannel, LinkedInSettings

__all__ = ["LinkedInChannel", "LinkedInSettings"]
