"""What each network gives the cross-network contract suite (tests/channels/test_contract.py).

Each ``tests/channels/cases/<network>.py`` exposes ``case(sandbox) -> ChannelCase``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cm_toolkit.channels.base import Channel, RenderedPost
from cm_toolkit.sandbox.journal import JournalEntry


@dataclass
class ChannelCase:
    network: str  # "x", "facebook", ...
    channel: Channel  # built against the running sandbox (its transport and env() secrets)
    publish_path: str  # regex of the create call's path in the journal, e.g. r"/2/tweets"
    post: RenderedPost  # a simple text post with a link that this network accepts
    sent_text: Callable[[JournalEntry], str]  # the text as the network received it
    media_post: RenderedPost | None = None  # with images, where supported
    thread_post: RenderedPost | None = None  # a thread, where supported
    duplicate_rejected: bool = True  # publishing the same text twice gives Rejected
    extra: dict[str, object] = field(default_factory=dict)
    reply_path: str | None = None  # regex of a reply's create call, with CONVERSATIONS
    delete_path: str | None = None  # regex of the delete call when it is not an HTTP DELETE
    # a create sent again cannot make a second post (Mastodon's Idempotency-Key, Bluesky's
    # record key), so the adapter settles a lost answer itself, by sending the create once more
    # (Mastodon) or reading the record back first (Bluesky): the post is published once, not
    # "unknown"; only when the settling goes unanswered too is it OutcomeUnknown. How each
    # settles is its own test's business (tests/channels/test_mastodon.py, test_bluesky.py).
    settles_lost_creates: bool = False
    auth_fix: str | None = None  # what an AuthExpired's fix names (default: `cm auth CHANNEL`)
