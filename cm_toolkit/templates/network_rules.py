"""Each network's rules as the plan check applies them: its adapter class's facts.

``rules_for(network)`` takes the adapter class from the channel registry
(``channel_class(network)``): its ``limits`` (text, title, media count, size and types), its
``link_handling``, its capabilities and its classmethods (``compose``, ``wire_text``,
``text_length``, ``split_thread``, ``plan_problems``...), so that the plan check measures a text
exactly as the adapter will before sending it, for a built-in network and a plugin's alike.

When the adapter cannot be imported (a plugin's package missing: the workspace check reports
it), nothing is known of the network, and its posts are checked only for what every network
shares (an empty text, missing media files).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cm_toolkit.channels.base import Capability, Channel, PostProblem, RenderedPost
from cm_toolkit.channels.facts import LinkHandling
from cm_toolkit.errors import CmError
from cm_toolkit.workspace.models import Network


@dataclass(frozen=True)
class NetworkRules:
    """What one network accepts, and how it measures and transforms a text."""

    network: Network
    channel: type[Channel] | None  # the adapter class; None: it cannot be imported

    @property
    def text_max(self) -> int | None:
        return self.channel.limits.text_max if self.channel else None

    @property
    def unit(self) -> str:  # of text_max: "weighted characters", "characters", "bytes"
        return self.channel.limits.text_unit if self.channel else "characters"

    @property
    def title_max(self) -> int | None:
        return self.channel.limits.title_max if self.channel else None

    @property
    def media_max(self) -> int | None:  # None: not checked
        return self.channel.limits.media_max if self.channel else None

    def media_bytes_max(self, mime_type: str | None) -> int | None:
        """The largest file of that type the network takes (X: a GIF 15 MB, an image 5 MB)."""
        return self.channel.limits.media_bytes_max_for(mime_type) if self.channel else None

    @property
    def media_types(self) -> tuple[str, ...]:  # empty: any type
        return tuple(self.channel.limits.media_types) if self.channel else ()

    @property
    def duplicates_refused(self) -> bool:
        return self.channel.limits.duplicates_refused if self.channel else False

    @property
    def display_name(self) -> str:  # the adapter's ("X", "Facebook Page"...)
        return str(getattr(self.channel, "display_name", "") or self.network)

    @property
    def link_handling(self) -> LinkHandling:
        return self.channel.link_handling if self.channel else LinkHandling.ATTACHED

    @property
    def threads(self) -> bool:
        """The network posts a long text as a thread (``Capability.THREAD``)."""
        return self.channel is not None and Capability.THREAD in self.channel.capabilities

    @property
    def text_posts(self) -> bool:
        """The network publishes text posts (``Capability.TEXT``; YouTube uploads videos)."""
        return self.channel is None or Capability.TEXT in self.channel.capabilities

    @property
    def priced(self) -> bool:
        """The network bills each post (X's pay-per-use)."""
        return self.channel is not None and self.channel.pricing is not None

    @property
    def priced_urls(self) -> bool:
        """A post whose text holds a URL has its own price (X)."""
        pricing = self.channel.pricing if self.channel else None
        return pricing is not None and pricing.post_with_url_usd is not None

    @functools.cached_property
    def composes(self) -> bool:
        """The adapter composes the text it sends (X appends a link): otherwise the text sent is
        the rendered text, and the plan check builds no ``RenderedPost`` to learn it."""
        return self.channel is not None and _overrides(self.channel, "compose")

    @functools.cached_property
    def has_plan_problems(self) -> bool:
        """The adapter has rules of its own (``plan_problems``): otherwise it finds none."""
        return self.channel is not None and _overrides(self.channel, "plan_problems")

    def compose(self, post: RenderedPost) -> str:
        return self.channel.compose(post) if self.channel else post.text

    def wire_text(self, text: str) -> str:
        return self.channel.wire_text(text) if self.channel else text

    def text_length(self, text: str) -> int:
        return self.channel.text_length(text) if self.channel else len(text)

    def split_thread(self, text: str, limit: int) -> list[str]:
        return self.channel.split_thread(text, limit) if self.channel else [text]

    def contains_url(self, text: str) -> bool:
        return self.channel.contains_url(text) if self.channel else False

    def plan_problems(self, post: RenderedPost) -> list[PostProblem]:
        return self.channel.plan_problems(post) if self.channel else []

    def live_problems(self, title: str, description: str) -> list[PostProblem]:
        return self.channel.live_problems(title, description) if self.channel else []


def _overrides(channel: type[Channel], name: str) -> bool:
    """``channel`` has its own classmethod ``name``, not ``Channel``'s."""
    own = getattr(getattr(channel, name), "__func__", None)  # None: not a classmethod
    return own is not getattr(Channel, name).__func__


@functools.cache
def rules_for(network: Network) -> NetworkRules:
    """The rules of ``network``: its adapter class's facts (see the module docstring)."""
    from cm_toolkit.channels.registry import channel_class  # imports adapters: only when asked

    try:
        return NetworkRules(network, channel_class(network))
    except CmError:
        return NetworkRules(network, None)
