"""The one typed interface every network adapter implements.

The engine (scheduler, templates, growth) talks only to ``Channel``; it never imports an SDK.
A channel module holds its settings model, its limits (as class data) and its error mapping.

Transports are passed in (``Transport``): the adapters build their official SDK client and mount
the given ``requests`` adapter / ``httplib2.Http`` / ``httpx`` transport on it, so the same code talks to the real network
or to the sandbox on 127.0.0.1. Tests never patch SDK internals.

The inbox's types (``ConversationFacts``, ``IncomingMessage``, ``ReplyRequest``...) live in
``channels/conversations.py``; they are imported from here too, the one path plugins use.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from cm_toolkit.channels.conversations import (
    ConversationFacts,
    ConversationPage,
    ConversationQuery,
    IncomingMessage,
    MessageKind,
    ReplyRequest,
    ReplyResult,
)
from cm_toolkit.channels.facts import (
    AppPassword,
    Budget,
    LinkHandling,
    NativeSchedule,
    OAuthProvider,
    Pricing,
    QuotaRule,
    Starter,
    TokenRefresh,
)
from cm_toolkit.errors import Problem
from cm_toolkit.workspace.models import Network
from cm_toolkit.workspace.paths import WorkspacePaths

# The inbox's types live in channels/conversations.py; this module stays their import path.
__all__ = [
    "Capability",
    "Channel",
    "ChannelSettings",
    "ConversationFacts",
    "ConversationPage",
    "ConversationQuery",
    "Credentials",
    "Engagement",
    "IncomingMessage",
    "Limits",
    "LiveSessionRequest",
    "LiveSessionResult",
    "Media",
    "MemoryCredentials",
    "MessageKind",
    "PostPart",
    "PostProblem",
    "PublishResult",
    "RenderedPost",
    "ReplyRequest",
    "ReplyResult",
    "Transport",
]

class Capability(enum.Enum):
    TEXT = "text"
    LINK = "link"
    IMAGES = "images"
    VIDEO = "video"
    THREAD = "thread"
    DELETE = "delete"
    FOLLOWERS = "followers"
    ENGAGEMENT = "engagement"
    LIVE = "live"  # can schedule a live session and return its link
    MANUAL = "manual"  # published by a person who marks it done
    CONVERSATIONS = "conversations"  # reads what the community says and replies (the inbox)


@dataclass(frozen=True)
class Limits:
    """What a network accepts. ``text_max`` is in the network's own unit (X: weighted length).
    ``duplicates_refused``: a post whose text repeats an earlier one of the account is refused
    (``cm check`` warns when a plan would send one). ``media_bytes_by_type``: (MIME type, bytes)
    for the types a network takes up to another size than ``media_bytes_max`` (X: GIFs 15 MB,
    other images 5 MB)."""

    text_max: int
    text_unit: str = "characters"  # of text_max, as said to users: "weighted characters"...
    title_max: int | None = None
    media_max: int = 0
    media_bytes_max: int | None = None
    media_types: tuple[str, ...] = ()
    duplicates_refused: bool = False
    media_bytes_by_type: tuple[tuple[str, int], ...] = ()

    def media_bytes_max_for(self, mime_type: str | None) -> int | None:
        """The largest file of ``mime_type`` the network takes (None: not checked)."""
        return dict(self.media_bytes_by_type).get(mime_type or "", self.media_bytes_max)


@dataclass(frozen=True)
class Media:
    """A file a post carries. Adapters read it with ``open``/``read_bytes``, never ``path``:
    the file is checked again there to be inside ``confined_to`` (the workspace and its
    allowed folders; empty: anywhere), so that a link changed after ``cm check`` is refused."""

    path: Path
    mime_type: str
    alt_text: str | None = None
    confined_to: tuple[Path, ...] = ()

    def open(self) -> BinaryIO:
        """The file, opened for reading; raises ``OutsideWorkspace`` when it leads outside."""
        if not self.confined_to:
            return self.path.open("rb")
        paths = WorkspacePaths(self.confined_to[0], self.confined_to[1:])
        return paths.open_binary(self.path)

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()


@dataclass(frozen=True)
class RenderedPost:
    """A post as the network will receive it (rendered from a template for one channel)."""

    text: str
    link: str | None = None
    media: tuple[Media, ...] = ()
    title: str | None = None  # LinkedIn article title, YouTube title
    description: str | None = None  # LinkedIn article description, YouTube description
    thread: bool = False
    idempotency_key: str = ""  # "<delivery id>": lets an adapter recognise its own earlier post


class PostPart(enum.Enum):
    """Which part of a post a ``PostProblem`` is about: the plan check points at where it is
    written (the template's ``title:`` or ``media:`` option line, the template, the post)."""

    TEXT = "text"
    TITLE = "title"
    DESCRIPTION = "description"
    MEDIA = "media"
    POST = "post"  # the post as a whole (at its line in schedules.yaml)


@dataclass(frozen=True)
class PostProblem:
    """A network's own rule that a post breaks, beyond the limits (``Channel.plan_problems``).
    ``key`` names the rule (problems with the same key are one problem for the user)."""

    part: PostPart
    key: str
    message: str
    fix: str


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    url: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. ids of a thread's replies


@dataclass(frozen=True)
class Engagement:
    remote_id: str
    reactions: int = 0
    comments: int = 0
    shares: int = 0
    views: int | None = None
    impressions: int | None = None


@dataclass(frozen=True)
class LiveSessionRequest:
    session_id: str
    title: str
    description: str
    start: datetime  # UTC
    duration: timedelta


@dataclass(frozen=True)
class LiveSessionResult:
    remote_id: str
    url: str  # the watch / join link announced to the community
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Transport:
    """How an adapter reaches its network. ``None`` fields mean: the real network.

    ``requests_adapter`` is mounted on the SDK's ``requests.Session`` for https:// and http://;
    ``http_factory`` builds the ``httplib2.Http`` the Google client uses; ``httpx_transport``
    (an ``httpx.BaseTransport``) is given to the ``httpx.Client`` of SDKs on httpx (atproto).
    """

    requests_adapter: Any | None = None
    http_factory: Callable[[], Any] | None = None
    httpx_transport: Any | None = None
    timeout: float = 30.0


class Credentials(Protocol):
    """A channel's secrets by the names its channel file gives them (``access_token``...).

    ``get`` raises ``AuthExpired`` (with the ``cm auth CHANNEL`` fix) when a secret is absent;
    ``update`` persists refreshed tokens (outside the workspace, owner-only, or the keyring).
    Secret values never appear in logs, errors, the ledger or reports.
    """

    def get(self, name: str) -> str: ...

    def find(self, name: str) -> str | None: ...

    def update(self, values: Mapping[str, str]) -> None: ...


class MemoryCredentials:
    """Credentials held in memory (tests, the sandbox demo). ``update`` keeps refreshed values."""

    def __init__(self, channel_id: str, values: Mapping[str, str]) -> None:
        self.channel_id = channel_id
        self._values = dict(values)

    def __repr__(self) -> str:
        return f"<MemoryCredentials {self.channel_id}: {sorted(self._values)}>"

    def find(self, name: str) -> str | None:
        return self._values.get(name)

    def get(self, name: str) -> str:
        value = self._values.get(name)
        if not value:
            from cm_toolkit.errors import AuthExpired

            raise AuthExpired(
                f"channel {self.channel_id}: secret {name!r} is not set",
                network="unknown",
                fix=f"run `cm auth {self.channel_id}` or set the variable its channel file names",
            )
        return value

    def update(self, values: Mapping[str, str]) -> None:
        self._values.update(values)


class ChannelSettings(BaseModel):
    """Base of each adapter's settings model (the ``account`` + ``options`` of a channel file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(ABC):
    """One connected account on one network."""

    network: ClassVar[Network]
    limits: ClassVar[Limits]
    capabilities: ClassVar[frozenset[Capability]]
    conversation_facts: ClassVar[ConversationFacts | None] = None  # with CONVERSATIONS
    settings_model: ClassVar[type[ChannelSettings]]
    secret_names: ClassVar[tuple[str, ...]]  # secrets the channel file must name
    display_name: ClassVar[str]
    # LIVE hosts: a link of the real form and length of the watch/join link ``schedule_live``
    # returns, rendered by ``cm preview`` and ``cm check`` before the session is created
    live_link_placeholder: ClassVar[str | None] = None
    # LIVE hosts: anyone can open the link (a public watch page), so ``session.link`` prefers it
    live_link_public: ClassVar[bool] = False
    # The other facts about the network (channels/facts.py says who reads each)
    link_handling: ClassVar[LinkHandling] = LinkHandling.ATTACHED
    budget: ClassVar[Budget | None] = None
    quota_rules: ClassVar[tuple[QuotaRule, ...]] = ()
    pricing: ClassVar[Pricing | None] = None
    oauth: ClassVar[OAuthProvider | None] = None
    app_password: ClassVar[AppPassword | None] = None
    native_schedule: ClassVar[NativeSchedule | None] = None
    emulators: ClassVar[tuple[str, ...]] = ()  # sandbox emulators, "module:Class"
    aliases: ClassVar[tuple[str, ...]] = ()  # names people use for the network
    starter: ClassVar[Starter | None] = None  # how `cm init` writes a channel file for it
    # an access token that expires, and the secrets that renew it (None: it does not expire, or
    # the token's secrets are all required already)
    token_refresh: ClassVar[TokenRefresh | None] = None

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        credentials: Credentials,
        transport: Transport | None = None,
    ) -> None:
        self.channel_id = channel_id
        self.settings = settings
        self.credentials = credentials
        self.transport = transport or Transport()

    def __repr__(self) -> str:  # secrets never appear here
        return f"<{type(self).__name__} {self.channel_id}>"

    @classmethod
    def wire_text(cls, text: str) -> str:
        """The text exactly as sent to the network (LinkedIn escapes its "little" format)."""
        return text

    @classmethod
    def text_length(cls, text: str) -> int:
        """Length in the network's own unit, compared with ``limits.text_max`` (X: weighted)."""
        return len(text)

    @classmethod
    def compose(cls, post: RenderedPost) -> str:
        """The text the network receives, before ``wire_text`` (X appends a link the text
        lacks, YouTube sends the description): what the plan check measures."""
        return post.text

    @classmethod
    def split_thread(cls, text: str, limit: int) -> list[str]:
        """``Capability.THREAD``: the numbered parts, each within ``limit``, that ``text`` becomes
        when posted as a thread (one part when it fits)."""
        return [text]

    @classmethod
    def contains_url(cls, text: str) -> bool:
        """The network sees a URL in ``text`` (``pricing.post_with_url_usd`` applies)."""
        return False

    @classmethod
    def plan_problems(cls, post: RenderedPost) -> list[PostProblem]:
        """The network's own rules ``post`` breaks beyond ``limits`` (which the plan check
        applies itself): a YouTube title, X's media combinations. ``post.media`` holds the
        files found, with their types."""
        return []

    @classmethod
    def live_problems(cls, title: str, description: str) -> list[PostProblem]:
        """``Capability.LIVE``: what the network would refuse in a live session's title or
        description (the plan check reports it before the session is created)."""
        return []

    @abstractmethod
    def validate(self, post: RenderedPost) -> list[Problem]:
        """Every problem with this post on this network, all at once (empty when it is fine)."""

    @abstractmethod
    def publish(self, post: RenderedPost) -> PublishResult:
        """Publish now. Raises a ``ChannelError`` subclass; ``OutcomeUnknown`` when unsure."""

    def delete(self, remote_id: str) -> None:
        raise NotImplementedError(f"{self.network} cannot delete posts")

    def followers(self) -> int:
        raise NotImplementedError(f"{self.network} has no follower count")

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        return []

    def schedule_live(self, request: LiveSessionRequest) -> LiveSessionResult:
        raise NotImplementedError(f"{self.network} cannot host live sessions")

    @classmethod
    def live_request_body(
        cls, channel_id: str, settings: ChannelSettings, request: LiveSessionRequest
    ) -> dict[str, Any]:
        """The body ``schedule_live`` sends to create the broadcast or event of ``request``
        (LIVE hosts): ``cm preview SESSION/live`` shows it, with no credentials and no call."""
        raise NotImplementedError(f"{cls.network} cannot host live sessions")

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        """Read one page of ``query.source`` since its cursor (``Capability.CONVERSATIONS``).

        Raises a ``ChannelError`` subclass (``RateLimited`` with the reset, ``AuthExpired``...).
        Reads are idempotent: the same cursor gives the same messages again."""
        raise NotImplementedError(f"{self.network} cannot read conversations")

    def reply(self, request: ReplyRequest) -> ReplyResult:
        """Answer one message now, exactly like ``publish``: ``OutcomeUnknown`` when no answer
        came back (the ledger then leaves the reply ``unknown``, never sent again); a network
        restriction (X's reply rule) is a permanent ``ChannelError`` with the fix."""
        raise NotImplementedError(f"{self.network} cannot reply")

    def validate_reply(self, request: ReplyRequest) -> list[Problem]:
        """Problems with this reply on this network before anything is sent (length...)."""
        facts = self.conversation_facts
        if facts is None:
            return [Problem(self.channel_id, None, None, f"{self.network} cannot reply",
                            "answer on the network itself")]
        length = self.text_length(request.text)
        if length > facts.reply_text_max:
            return [Problem(
                self.channel_id, None, None,
                f"the reply is {length} long; {self.display_name} takes {facts.reply_text_max}",
                "shorten the text (or the FAQ answer's variant for this network)",
            )]
        return []

    def check(self) -> str:
        """One cheap read call proving the credentials work; returns a short description."""
        raise NotImplementedError
