"""The Bluesky channel (AT Protocol) through the ``atproto`` SDK. See docs/channels/bluesky.md.

Credentials: an app password (``app_password``, made in Bluesky's settings) signs in once with
``com.atproto.server.createSession``; the session (access and refresh JWTs) is then kept in the
token store under ``session`` and reused by every later run, refreshed with ``refreshSession``
when Bluesky says ``ExpiredToken``. ``createSession`` is limited to 30 per 5 minutes and 300 a
day per account: it is called only when there is no usable session.

A post is one ``app.bsky.feed.post`` record: links, mentions (resolved to DIDs) and hashtags
as facets at UTF-8 byte offsets, up to four images with alt text (``app.bsky.embed.images``,
each uploaded as a blob first), or else a link card (``app.bsky.embed.external``). A thread is
a chain of records whose ``reply`` names the first (root) and the previous (parent) part.

Never twice: each record's key is derived from the delivery's idempotency key
(``text.record_key``). When a create gets no answer (or a 5xx), the adapter reads the record at
that key: there -> it is published; absent -> the create is sent again with the same key, which
can never make a second post. Only when that too stays unanswered is it ``OutcomeUnknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from atproto_core.uri import AtUri
from pydantic import Field

from cm_toolkit.channels.base import (
    Capability,
    Channel,
    ChannelSettings,
    ConversationFacts,
    ConversationPage,
    ConversationQuery,
    Credentials,
    Engagement,
    Limits,
    Media,
    MemoryCredentials,
    PublishResult,
    RenderedPost,
    ReplyRequest,
    ReplyResult,
    Transport,
)
from cm_toolkit.channels.bluesky import inbox
from cm_toolkit.channels.bluesky import text as rich
from cm_toolkit.channels.bluesky.session import SESSION_SECRET, BlueskySession
from cm_toolkit.channels.bluesky.wire import ENTRYWAY, NETWORK, Lost
from cm_toolkit.channels.facts import AppPassword, Budget, LinkHandling, QuotaRule, Starter
from cm_toolkit.errors import (
    ChannelError,
    OutcomeUnknown,
    PartiallyPublished,
    Problem,
    Rejected,
    TransientError,
)

if TYPE_CHECKING:  # the SDK is imported when a post is made: see wire.py
    from atproto_client import models

T = TypeVar("T")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
# app.bsky.embed.images#image: "maxSize": 2000000 ("May be up to 2 MB, formerly limited to 1 MB")
IMAGE_MAX_BYTES = 2_000_000
CREATE_POINTS = 3  # Bluesky's record-creation points: create 3, update 2, delete 1
_HANDLE = r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"


class BlueskySettings(ChannelSettings):
    """``account`` + ``options`` of a Bluesky channel file."""

    handle: str = Field(pattern=_HANDLE, description="The handle, without @ (name.bsky.social).")
    service: str = Field(
        default=ENTRYWAY, pattern=r"^https?://[^/\s]+/?$",
        description="Where to sign in: bsky.social, or the account's own PDS.",
    )
    threads: bool = Field(default=False, description="Post a text over 300 graphemes as a thread.")
    langs: tuple[str, ...] = Field(
        default=(), max_length=3, description="Languages of the posts (up to 3), e.g. [fr]."
    )


def sign_in(account: Mapping[str, Any], handle: str, password: str,
            transport: Transport) -> dict[str, str]:
    """``cm auth``: one ``createSession`` with the app password; the secrets to store are the
    password and the session it opened (the next run reuses it: no second createSession)."""
    settings = BlueskySettings.model_validate({**account, "handle": handle})
    credentials = MemoryCredentials(f"@{handle}", {"app_password": password})
    BlueskySession(f"@{handle}", settings, credentials, transport).did  # noqa: B018 (signs in)
    session = credentials.find(SESSION_SECRET)
    assert session is not None  # the SDK reports every new session (``BlueskySession._keep``)
    return {"app_password": password, SESSION_SECRET: session}


class BlueskyChannel(Channel):
    network: ClassVar[str] = NETWORK
    display_name: ClassVar[str] = "Bluesky"
    emulators = ("cm_toolkit.sandbox.bluesky:BlueskyEmulator",)
    app_password: ClassVar[AppPassword | None] = AppPassword(
        identifier="handle", password_secret="app_password",
        env=("CM_BLUESKY_HANDLE", "CM_BLUESKY_APP_PASSWORD"),
        where="Bluesky: Settings > Privacy and security > App passwords",
        sign_in=lambda account, handle, password, transport: sign_in(
            account, handle, password, transport),
    )
    limits: ClassVar[Limits] = Limits(
        text_max=rich.TEXT_MAX_GRAPHEMES, text_unit="graphemes", media_max=4,
        media_bytes_max=IMAGE_MAX_BYTES, media_types=IMAGE_TYPES,
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.TEXT, Capability.LINK, Capability.IMAGES, Capability.THREAD,
        Capability.DELETE, Capability.FOLLOWERS, Capability.ENGAGEMENT, Capability.CONVERSATIONS,
    })
    conversation_facts: ClassVar[ConversationFacts | None] = inbox.FACTS  # bluesky/inbox.py
    settings_model: ClassVar[type[ChannelSettings]] = BlueskySettings
    secret_names: ClassVar[tuple[str, ...]] = ("app_password",)
    # The link becomes a card (app.bsky.embed.external); a post with images has no room for a
    # card (one embed per post), so its link is added at the end of the text instead.
    link_handling: ClassVar[LinkHandling] = LinkHandling.ATTACHED

    @classmethod
    def compose(cls, post: RenderedPost) -> str:
        """The text sent: with images there is no card, so a missing link is added at the end."""
        if post.link and post.media and post.link not in post.text:
            return f"{post.text.rstrip()}\n{post.link}"
        return post.text

    @classmethod
    def split_thread(cls, text: str, limit: int) -> list[str]:
        return rich.split_thread(text, limit)

    # 5,000 record-creation points an hour per account, a post costing 3 (docs.bsky.app,
    # "Rate Limits"); the day's 35,000 points are the second quota rule.
    budget: ClassVar[Budget | None] = Budget(5000 // CREATE_POINTS, timedelta(hours=1), margin=16)
    quota_rules: ClassVar[tuple[QuotaRule, ...]] = (
        QuotaRule("bluesky_points_per_hour", 5000, "points", "account",
                  "record-creation points per account per hour (a create costs 3)",
                  costs={"post": CREATE_POINTS, "thread_part": CREATE_POINTS},
                  window=timedelta(hours=1)),
        QuotaRule("bluesky_points_per_day", 35000, "points", "account",
                  "record-creation points per account per day (a create costs 3)",
                  costs={"post": CREATE_POINTS, "thread_part": CREATE_POINTS},
                  window=timedelta(days=1)),
    )
    aliases: ClassVar[tuple[str, ...]] = ("bsky", "atproto")
    starter: ClassVar[Starter | None] = Starter("Bluesky", {"handle": "{handle}.bsky.social"})

    def __init__(self, channel_id: str, settings: ChannelSettings, credentials: Credentials,
                 transport: Transport | None = None) -> None:
        super().__init__(channel_id, settings, credentials, transport)
        assert isinstance(settings, BlueskySettings)
        self.bsky = settings
        self.session = BlueskySession(channel_id, settings, credentials, self.transport)

    @classmethod
    def text_length(cls, text: str) -> int:
        return rich.grapheme_length(text)

    # -- publishing -----------------------------------------------------------------------------

    def parts(self, post: RenderedPost) -> list[str]:
        text = self.compose(post)
        if post.thread or (self.bsky.threads and rich.grapheme_length(text) > self.limits.text_max):
            return self.split_thread(text, self.limits.text_max)
        return [text]

    def validate(self, post: RenderedPost) -> list[Problem]:
        found: list[tuple[str, str]] = []
        text = self.compose(post)
        length = rich.grapheme_length(text)
        if not text.strip() and not post.media:
            found.append(("the post is empty", "give it a text or an image"))
        if length > self.limits.text_max and not (post.thread or self.bsky.threads):
            found.append((
                f"the text is {length} graphemes, more than Bluesky's {self.limits.text_max}",
                (f"shorten it by {length - self.limits.text_max}, or set `threads: true` in the "
                 "channel's options to post it as a thread"),
            ))
        for part in self.parts(post):
            if len(part.encode("utf-8")) > rich.TEXT_MAX_BYTES:
                found.append((f"a part of the text is over {rich.TEXT_MAX_BYTES} bytes of UTF-8",
                              "shorten it"))
        if len(post.media) > self.limits.media_max:
            found.append((f"{len(post.media)} images, Bluesky takes {self.limits.media_max} at most",
                          "keep four images or fewer"))
        for media in post.media:
            found.extend(_media_problems(media))
        return [Problem(self.channel_id, None, None, message, fix) for message, fix in found]

    def publish(self, post: RenderedPost) -> PublishResult:
        from atproto_client import models

        Rejected.raise_for(self.validate(post), network=NETWORK,
                           prefix=f"channel {self.channel_id}: ")
        embed = self._embed(post)  # blobs first: nothing is online yet
        texts = self.parts(post)
        refs: list[models.ComAtprotoRepoStrongRef.Main] = []
        for index, part in enumerate(texts):
            reply = None
            if refs:
                reply = models.AppBskyFeedPost.ReplyRef(root=refs[0], parent=refs[-1])
            record = models.AppBskyFeedPost.Record(
                text=part, created_at=self.session.client.get_current_time_iso(),
                facets=self._facets(part) or None, embed=embed if index == 0 else None,
                langs=list(self.bsky.langs) or None, reply=reply,
            )
            key = rich.record_key(self.channel_id, post.idempotency_key, str(index), part) \
                if post.idempotency_key else None
            try:
                refs.append(self._create(record, key))
            except ChannelError as error:
                # with record keys, trying the whole thread again finds the parts already
                # online (their keys) and goes on: a retryable error stays retryable
                if not refs or (error.retryable and key is not None):
                    raise
                raise PartiallyPublished(
                    f"the Bluesky thread stopped after {len(refs)} of {len(texts)} parts: "
                    f"{error.message}",
                    remote_id=refs[0].uri, url=self.post_url(refs[0].uri),
                    published_ids=[r.uri for r in refs], cause=error, network=NETWORK,
                    status=error.info.status, code=error.info.code,
                    network_message=error.info.network_message,
                    fix="review it on Bluesky: finish or delete the thread by hand; "
                        "it is not re-sent",
                ) from error
        return PublishResult(refs[0].uri, self.post_url(refs[0].uri),
                             {"thread_ids": [r.uri for r in refs]})

    def _create(self, record: Any, key: str | None) -> models.ComAtprotoRepoStrongRef.Main:
        """Create one record. Without an answer (or with a 5xx) the record is read back by its
        key: there -> published; absent after a lost answer -> sent once more with the same key
        (which cannot make a second post). A lost answer that cannot be settled is
        ``OutcomeUnknown`` naming the key; a 5xx stays a retryable ``TransientError``."""
        from atproto_client import models

        for attempt in (1, 2):
            try:
                made = self.session.call("publishing a post", lambda: (
                    self.session.client.app.bsky.feed.post.create(self.session.did, record,
                                                                  rkey=key)), creates=True)
                return models.ComAtprotoRepoStrongRef.Main(uri=made.uri, cid=made.cid)
            except (Lost, TransientError) as failure:
                lost = isinstance(failure, Lost)
                if key is None:  # no key (a post without a delivery): nothing to look up
                    if lost:
                        raise self._unknown(None) from failure
                    raise
                try:
                    found = self._read(key, record.text)
                except ChannelError as error:
                    if lost:
                        raise self._unknown(key) from error
                    raise failure from error
                if found is not None:
                    return found
                if not lost:
                    raise
                if attempt == 2:
                    raise self._unknown(key) from failure
        raise AssertionError("unreachable")

    def _read(self, key: str, text: str) -> models.ComAtprotoRepoStrongRef.Main | None:
        """The record at ``key`` when it is ours (same text), None when there is none."""
        from atproto_client import models

        try:
            got = self.session.call("looking up the post", lambda: (
                self.session.client.app.bsky.feed.post.get(self.session.did, key)))
        except Rejected as error:
            if error.info.code == "RecordNotFound":
                return None
            raise
        if got.value.text != text:
            raise Rejected(
                f"channel {self.channel_id}: another post already holds the record key {key}",
                network=NETWORK, fix="check the account on Bluesky, then publish it by hand",
            )
        return models.ComAtprotoRepoStrongRef.Main(uri=got.uri, cid=got.cid)

    def _unknown(self, key: str | None) -> OutcomeUnknown:
        where = f" (record key {key}: sending it again cannot make a second post)" if key else ""
        return OutcomeUnknown(
            f"channel {self.channel_id}: the post was sent but no answer came back{where}",
            network=NETWORK,
            fix=f"check @{self.bsky.handle} on Bluesky before publishing this post again",
        )

    def _facets(self, text: str) -> list[models.AppBskyRichtextFacet.Main]:
        from atproto_client import models

        facets: list[models.AppBskyRichtextFacet.Main] = []
        features: list[tuple[rich.Span, Any]] = [
            (span, models.AppBskyRichtextFacet.Link(uri=span.value)) for span in rich.links(text)
        ]
        features += [(span, models.AppBskyRichtextFacet.Tag(tag=span.value))
                     for span in rich.tags(text)]
        dids: dict[str, str | None] = {}
        for span in rich.mentions(text):
            if span.value not in dids:
                dids[span.value] = self._resolve(span.value)
            did = dids[span.value]
            if did is not None:  # an unknown handle stays plain text, as in Bluesky's app
                features.append((span, models.AppBskyRichtextFacet.Mention(did=did)))
        for span, feature in sorted(features, key=lambda item: item[0].byte_start):
            index = models.AppBskyRichtextFacet.ByteSlice(byte_start=span.byte_start,
                                                          byte_end=span.byte_end)
            facets.append(models.AppBskyRichtextFacet.Main(features=[feature], index=index))
        return facets

    def _resolve(self, handle: str) -> str | None:
        try:
            return str(self.session.call(f"resolving @{handle}",
                                  lambda: self.session.client.resolve_handle(handle)).did)
        except Rejected:
            return None

    def _embed(self, post: RenderedPost) -> Any:
        from atproto_client import models

        if post.media:
            return models.AppBskyEmbedImages.Main(images=[self._image(m) for m in post.media])
        if post.link:
            parts = urlsplit(post.link)
            title = post.title or f"{parts.netloc}{parts.path.rstrip('/')}"
            external = models.AppBskyEmbedExternal.External(
                uri=post.link, title=title, description=post.description or "")
            return models.AppBskyEmbedExternal.Main(external=external)
        return None

    def _image(self, media: Media) -> models.AppBskyEmbedImages.Image:
        from atproto_client import models
        from atproto_client.models.utils import get_response_model

        data = media.read_bytes()
        client = self.session.client
        # The SDK's upload_blob hands the bytes to httpx as ``data=``, deprecated there (a
        # warning); the same XRPC procedure through its low-level call sends them as content.
        answer = self.session.call(f"uploading {media.path.name}", lambda: client.invoke_procedure(
            "com.atproto.repo.uploadBlob", content=data,
            headers={"Content-Type": media.mime_type}, output_encoding="application/json"))
        uploaded = get_response_model(answer, models.ComAtprotoRepoUploadBlob.Response)
        return models.AppBskyEmbedImages.Image(alt=media.alt_text or "", image=uploaded.blob)

    def post_url(self, uri: str) -> str:
        return f"https://bsky.app/profile/{self.bsky.handle}/post/{AtUri.from_str(uri).rkey}"

    # -- reads and delete -----------------------------------------------------------------------

    def delete(self, remote_id: str) -> None:
        """``deleteRecord`` succeeds when the record is already gone, as we want."""
        uri = AtUri.from_str(remote_id)
        self.session.call("deleting a post",
                   lambda: self.session.client.app.bsky.feed.post.delete(uri.host, uri.rkey))

    def profile(self) -> Any:
        return self.session.call("reading the account", lambda: self.session.client.get_profile(self.session.did))

    def followers(self) -> int:
        return int(self.profile().followers_count or 0)

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        found: list[Engagement] = []
        for start in range(0, len(remote_ids), 25):  # getPosts takes 25 URIs per call
            chunk = remote_ids[start:start + 25]
            answer = self.session.call("reading post metrics",
                                lambda chunk=chunk: self.session.client.get_posts(chunk))  # type: ignore[misc]
            for view in answer.posts:
                found.append(Engagement(
                    remote_id=view.uri, reactions=view.like_count or 0,
                    comments=view.reply_count or 0,
                    shares=(view.repost_count or 0) + (view.quote_count or 0),
                ))
        return found

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        return inbox.read(self, query)

    def reply(self, request: ReplyRequest) -> ReplyResult:
        return inbox.send_reply(self, request)

    def check(self) -> str:
        me = self.profile()
        text = f"@{me.handle}, {me.followers_count or 0} followers"
        if str(me.handle).lower() != self.bsky.handle.lower():
            text += f" (the channel file says @{self.bsky.handle})"
        return text


def _media_problems(media: Media) -> list[tuple[str, str]]:
    if media.mime_type not in IMAGE_TYPES:
        return [(f"{media.path.name} is {media.mime_type}: this channel posts images only",
                 "use a JPEG, PNG, WEBP or GIF image")]
    try:
        size = media.path.stat().st_size
    except OSError:
        return [(f"image {media.path} cannot be read", "check the media path in the post")]
    if size > IMAGE_MAX_BYTES:
        said = f"{media.path.name} is {size:,} bytes, Bluesky takes images up to {IMAGE_MAX_BYTES:,}"
        return [(said, "compress or resize it")]
    return []
