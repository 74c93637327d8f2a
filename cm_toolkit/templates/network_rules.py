"""Each network's rules as the plan check applies them: the adapter's own, else ``text_rules``.

``rules_for(network)`` takes the adapter class from the channel registry
(``channel_class(network)``): its ``limits`` (text, title, media count, size and types) and its
classmethods ``wire_text`` / ``text_length``, so that the plan check measures a text exactly as
the adapter will before sending it. When the adapter cannot be imported (a third-party package
missing), the numbers of ``cm_toolkit.channels.text_rules`` are used instead.

How the adapters treat a post's link, mirrored here (``LinkHandling``):

- X: there is no link attachment; ``XChannel.compose`` appends the link on a line of its own when
  the text does not contain it (so the link counts in the 280 and in the price);
- YouTube: the link is appended to the video's description when the text does not hold it;
- manual: the task lists the link apart from the text to paste;
- Facebook, LinkedIn: the link is attached to the post (a link preview / an article card);
- Meet: a calendar event has no post link.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from cm_toolkit.channels import text_rules
from cm_toolkit.channels.facts import LinkHandling
from cm_toolkit.errors import CmError
from cm_toolkit.workspace.models import Network

LINK_HANDLING: dict[Network, LinkHandling] = {
    "x": LinkHandling.APPENDED,
    "youtube": LinkHandling.APPENDED,
    "manual": LinkHandling.LISTED,
    "facebook": LinkHandling.ATTACHED,
    "linkedin": LinkHandling.ATTACHED,
    "meet": LinkHandling.NONE,
}


@dataclass(frozen=True)
class NetworkRules:
    """What one network accepts, and how it measures and transforms a text."""

    network: Network
    text_max: int | None
    unit: str  # of text_max: "weighted characters", "characters", "bytes"
    title_max: int | None
    media_max: int | None  # None: not checked
    media_bytes_max: int | None
    media_types: tuple[str, ...]  # empty: any type
    wire_text: Callable[[str], str]
    text_length: Callable[[str], int]
    source: str  # "adapter" or "text_rules"
    link: LinkHandling | None = None  # the adapter's; None: the table's

    @property
    def link_handling(self) -> LinkHandling:
        if self.link is not None:
            return self.link
        return LINK_HANDLING.get(self.network, LinkHandling.ATTACHED)


def _from_text_rules(network: Network) -> NetworkRules:
    limits = text_rules.NETWORK_TEXT_LIMITS[network]
    return NetworkRules(
        network=network,
        text_max=limits.text_max,
        unit=limits.unit,
        title_max=limits.title_max,
        media_max=limits.media_max,
        media_bytes_max=None,
        media_types=(),
        wire_text=functools.partial(text_rules.wire_text, network),
        text_length=functools.partial(text_rules.text_length, network),
        source="text_rules",
    )


@functools.cache
def rules_for(network: Network) -> NetworkRules:
    """The rules of ``network``: its adapter's class data, else ``text_rules``' numbers."""
    from cm_toolkit.channels.registry import channel_class  # imports adapters: only when asked

    try:
        cls = channel_class(network)
    except CmError:
        return _from_text_rules(network)
    limits = getattr(cls, "limits", None)
    if limits is None:
        return _from_text_rules(network)
    return NetworkRules(
        network=network,
        text_max=limits.text_max,
        unit=limits.text_unit,
        title_max=limits.title_max,
        media_max=limits.media_max,
        media_bytes_max=limits.media_bytes_max,
        media_types=tuple(limits.media_types),
        wire_text=cls.wire_text,
        text_length=cls.text_length,
        source="adapter",
        link=cls.link_handling,
    )
