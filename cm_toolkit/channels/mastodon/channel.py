"""The Mastodon channel through Mastodon.py. See docs/channels/mastodon.md.

One account on one instance (``account: {instance, username}``); the access token is an OAuth
user token of an app registered on that instance (``POST /api/v1/apps``, ``register_app``).
Mastodon.py gets the adapter's ``TimedSession`` (the transport mounted on it, so the sandbox
needs no other change), ``ratelimit_method="throw"`` (a 429 becomes ``RateLimited``: the
scheduler decides when to come back, nothing sleeps here) and no version probe: the adapter
needs Mastodon 4.0 (``/api/v2/instance``, read for the limits, exists since then).

The instance sets the limits: ``publish`` and ``check`` read ``configuration`` from
``GET /api/v2/instance`` (characters, attachments, image size and types); ``validate`` uses
what was read last, else the defaults of ``limits``.

Never twice: every status create carries an ``Idempotency-Key`` (the delivery's key, one per
thread part), which Mastodon keeps an hour and answers again with the status it created. So
when a create gets no answer (dropped, timed out) the adapter sends it once more with the same
key: the answer is the status created the first time, or the first one if the first request
never arrived. Only when the second try gets no answer either is it ``OutcomeUnknown``; a
``cm resolve`` resend within the hour is then safe for the same reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import Field

from cm_toolkit.channels import thread_split
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
    PublishResult,
    RenderedPost,
    ReplyRequest,
    ReplyResult,
    Transport,
)
from cm_toolkit.channels.facts import Budget, LinkHandling, OAuthProvider, QuotaRule, Starter
from cm_toolkit.channels.http import TimedSession, session_for
from cm_toolkit.channels.mastodon import inbox
from cm_toolkit.channels.mastodon.text import mastodon_length
from cm_toolkit.channels.mastodon.wire import NETWORK, map_error
from cm_toolkit.errors import ChannelError, OutcomeUnknown, PartiallyPublished, Problem, Rejected
from cm_toolkit.workspace.models import Network

if TYPE_CHECKING:
    from mastodon import Mastodon

T = TypeVar("T")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")
IMAGE_BYTES_MAX = 16 * 1024 * 1024  # Mastodon 4.x's default image_size_limit
ALT_TEXT_MAX = 1500  # Mastodon's description limit (configuration.media_attachments)
HOST_PATTERN = r"^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$"


class MastodonSettings(ChannelSettings):
    """``account`` + ``options`` of a Mastodon channel file."""

    instance: str = Field(pattern=HOST_PATTERN, max_length=253,
                          description="The instance's host name, e.g. social.univ-campus.fr.")
    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,30}$",
                          description="The account's user name on the instance, without @.")
    visibility: str = Field(default="public", pattern=r"^(public|unlisted|private)$",
                            description="Who sees the posts: public, unlisted or private.")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$",
                                 description="ISO 639-1 language of the posts (e.g. fr).")
    threads: bool = Field(default=False,
                          description="Post a text over the instance's limit as a thread.")


class MastodonChannel(Channel):
    network: ClassVar[Network] = "mastodon"
    display_name: ClassVar[str] = "Mastodon"
    aliases: ClassVar[tuple[str, ...]] = ("fediverse", "toot")
    starter: ClassVar[Starter | None] = Starter(
        "Mastodon", {"instance": "mastodon.social", "username": "{slug}"})
    settings_model: ClassVar[type[ChannelSettings]] = MastodonSettings
    secret_names: ClassVar[tuple[str, ...]] = ("access_token",)
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.TEXT, Capability.LINK, Capability.IMAGES, Capability.THREAD,
        Capability.DELETE, Capability.FOLLOWERS, Capability.ENGAGEMENT, Capability.CONVERSATIONS,
    })
    conversation_facts: ClassVar[ConversationFacts | None] = inbox.FACTS
    # Mastodon's defaults; the instance's own configuration wins when read (instance_limits)
    limits: ClassVar[Limits] = Limits(
        text_max=500, text_unit="characters (links count 23)", media_max=4,
        media_bytes_max=IMAGE_BYTES_MAX, media_types=IMAGE_TYPES,
    )
    link_handling = LinkHandling.APPENDED

    @classmethod
    def compose(cls, post: RenderedPost) -> str:
        """The text sent: the post's text, then its link when the text does not hold it."""
        if post.link and post.link not in post.text:
            return f"{post.text.rstrip()}\n\n{post.link}"
        return post.text

    @classmethod
    def split_thread(cls, text: str, limit: int) -> list[str]:
        return thread_split.split_thread(text, limit, mastodon_length)

    # 300 requests / 5 min per account; a post spends at most 6 (instance, 4 uploads, status)
    budget = Budget(limit=50, window=timedelta(minutes=5), margin=5)
    quota_rules = (
        QuotaRule(key="mastodon_requests_per_5_minutes", limit=300, unit="requests",
                  per="account", what="API requests per account (uploads: 30 per 30 minutes)",
                  costs={"post": 6, "thread_part": 1}, window=timedelta(minutes=5)),
    )
    oauth = OAuthProvider(
        network="mastodon",
        authorize_url="https://{instance}/oauth/authorize",
        token_url="https://{instance}/oauth/token",
        scopes=("read:accounts", "read:statuses", "read:notifications", "write:statuses",
                "write:media"),
        pkce=True,
        client_env=("CM_MASTODON_CLIENT_ID", "CM_MASTODON_CLIENT_SECRET"),
        stored={"access_token": "access_token"},
        register_client=lambda account, redirect_uri, transport: MastodonChannel.register_app(
            str(account.get("instance") or ""), redirect_uri, transport),
    )
    emulators = ("cm_toolkit.sandbox.mastodon:MastodonEmulator",)

    def __init__(self, channel_id: str, settings: ChannelSettings, credentials: Credentials,
                 transport: Transport | None = None) -> None:
        super().__init__(channel_id, settings, credentials, transport)
        assert isinstance(settings, MastodonSettings)
        self.m_settings = settings
        self._client: Mastodon | None = None
        self._session: TimedSession | None = None
        self._instance_limits: Limits | None = None
        self._urls: dict[str, str | None] = {}  # remote id -> the status's public URL

    @classmethod
    def text_length(cls, text: str) -> int:
        return mastodon_length(text)

    @property
    def base_url(self) -> str:
        return f"https://{self.m_settings.instance}"

    @property
    def client(self) -> Mastodon:
        if self._client is None:
            from mastodon import Mastodon  # imported when used: see mastodon/wire.py

            self._session = session_for(self.transport)
            self._client = Mastodon(
                access_token=self.credentials.get("access_token"),
                api_base_url=self.base_url, session=self._session,
                request_timeout=self.transport.timeout, ratelimit_method="throw",
                version_check_mode="none", mastodon_version="4.0.0", user_agent="cm-toolkit",
            )
            # with no version check, Mastodon.py still picks endpoints by version (media:
            # /api/v2 from 3.1.4): the 4.0 floor this adapter needs, without a probe
            client = self._client
            client.mastodon_major, client.mastodon_minor, client.mastodon_patch = 4, 0, 0
        return self._client

    def _call(self, what: str, call: Callable[[], T], *, creates: bool = False) -> T:
        from mastodon import MastodonError

        try:
            return call()
        except MastodonError as exc:
            last = self._session.last_response if self._session else None
            raise map_error(exc, self.channel_id, what, creates=creates, last=last) from exc

    @classmethod
    def register_app(cls, instance: str, redirect_uri: str, transport: Transport | None = None,
                     name: str = "cm-toolkit") -> tuple[str, str]:
        """Register cm-toolkit on ``instance`` (``POST /api/v1/apps``): (client id, secret)."""
        from mastodon import Mastodon, MastodonError

        assert cls.oauth is not None
        try:
            client_id, secret = Mastodon.create_app(
                name, scopes=list(cls.oauth.scopes), redirect_uris=redirect_uri,
                api_base_url=f"https://{instance}", session=session_for(transport or Transport()),
            )
        except MastodonError as exc:
            raise map_error(exc, instance, "registering the app", creates=False,
                            last=None) from exc
        except KeyError:  # Mastodon.py reads the answer without looking at its status
            raise ChannelError(
                f"{instance} refused to register cm-toolkit (POST /api/v1/apps)",
                network=NETWORK,
                fix=f"register an app in {instance}'s settings (Development > New application) "
                    "and pass its client id and secret to `cm auth`",
            ) from None
        return str(client_id), str(secret)

    # -- limits of the instance -----------------------------------------------------------

    def instance_limits(self) -> Limits:
        """The instance's limits (``GET /api/v2/instance``), read once per adapter."""
        if self._instance_limits is None:
            info = self._call("reading the instance's limits", self.client.instance_v2)
            config = info.get("configuration") or {}
            statuses = config.get("statuses") or {}
            media = config.get("media_attachments") or {}
            types = tuple(t for t in media.get("supported_mime_types") or IMAGE_TYPES
                          if t.startswith("image/"))
            self._instance_limits = replace(
                self.limits,
                text_max=int(statuses.get("max_characters") or self.limits.text_max),
                media_max=int(statuses.get("max_media_attachments") or self.limits.media_max),
                media_bytes_max=int(media.get("image_size_limit") or IMAGE_BYTES_MAX),
                media_types=types or IMAGE_TYPES,
            )
        return self._instance_limits

    # -- publishing -----------------------------------------------------------------------

    def parts(self, post: RenderedPost, limits: Limits | None = None) -> list[str]:
        text, top = self.compose(post), (limits or self.limits).text_max
        if post.thread or (self.m_settings.threads and mastodon_length(text) > top):
            return self.split_thread(text, top)
        return [text]

    def validate(self, post: RenderedPost, limits: Limits | None = None) -> list[Problem]:
        limits = limits or self._instance_limits or self.limits
        found: list[tuple[str, str]] = []
        text = self.compose(post)
        length = mastodon_length(text)
        if not text.strip() and not post.media:
            found.append(("the post is empty", "give it a text or an image"))
        if length > limits.text_max and not (post.thread or self.m_settings.threads):
            found.append((
                (f"the text is {length} characters, more than the {limits.text_max} of "
                 f"{self.m_settings.instance}"),
                (f"shorten it by {length - limits.text_max} (links count 23), or set "
                 "`threads: true` in the channel's options to post it as a thread")))
        if len(post.media) > limits.media_max:
            found.append((f"{len(post.media)} images, Mastodon takes at most {limits.media_max}",
                          f"keep {limits.media_max} images or fewer"))
        for media in post.media:
            found.extend(_media_problems(media, limits))
        return [Problem(self.channel_id, None, None, message, fix) for message, fix in found]

    def publish(self, post: RenderedPost) -> PublishResult:
        limits = self.instance_limits()
        Rejected.raise_for(self.validate(post, limits), network=NETWORK,
                           prefix=f"channel {self.channel_id}: ")
        media_ids = [self._upload(media) for media in post.media]  # nothing is online yet
        key = post.idempotency_key or f"cm-{uuid.uuid4()}"
        parts = self.parts(post, limits)
        ids: list[str] = []
        for index, text in enumerate(parts):
            params: dict[str, Any] = {
                "status": text, "visibility": self.m_settings.visibility,
                "language": self.m_settings.language,
                "idempotency_key": key if index == 0 else f"{key}-part-{index + 1}",
            }
            if index == 0 and media_ids:
                params["media_ids"] = media_ids
            if ids:
                params["in_reply_to_id"] = ids[-1]
            try:
                status = self._create(params)
            except ChannelError as error:
                if not ids:
                    raise
                raise PartiallyPublished(
                    f"the Mastodon thread stopped after {len(ids)} of {len(parts)} parts: "
                    f"{error.message}", remote_id=ids[0], url=self._urls.get(ids[0]),
                    published_ids=ids, cause=error, network=NETWORK, status=error.info.status,
                    network_message=error.info.network_message,
                    fix="review it on the instance: finish or delete the thread by hand; "
                        "it is not re-sent") from error
            ids.append(str(status["id"]))
            self._urls[ids[-1]] = status.get("url")
        return PublishResult(ids[0], self._urls.get(ids[0]), {"thread_ids": ids})

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        """One status create, sent again once with the same Idempotency-Key when no answer
        came (see the module docstring): the instance answers the retry with the first status."""
        def send() -> dict[str, Any]:
            return dict(self._call("publishing a status",
                                   lambda: self.client.status_post(**params), creates=True))

        try:
            return send()
        except OutcomeUnknown:
            pass  # the answer was lost: under the same key, the second send cannot duplicate
        try:
            return send()
        except OutcomeUnknown as error:
            raise OutcomeUnknown(
                f"{error.message} (sent twice with Idempotency-Key {params['idempotency_key']}; "
                "neither answer came back)", network=NETWORK, fix=error.fix) from error

    def _upload(self, media: Media) -> str:
        data = media.read_bytes()  # re-checks the file is inside the workspace
        uploaded = self._call(
            f"uploading {media.path.name}",
            lambda: self.client.media_post(data, mime_type=media.mime_type,
                                           description=media.alt_text, file_name=media.path.name),
        )
        return str(uploaded["id"])

    # -- reads and delete -----------------------------------------------------------------

    def delete(self, remote_id: str) -> None:
        try:
            self._call("deleting a status", lambda: self.client.status_delete(remote_id))
        except Rejected as error:
            if error.info.status != 404:  # already gone is what we wanted
                raise

    def me(self) -> dict[str, Any]:
        return dict(self._call("reading the account", self.client.account_verify_credentials))

    def followers(self) -> int:
        return int(self.me()["followers_count"])

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        found: list[Engagement] = []
        for start in range(0, len(remote_ids), 20):  # GET /api/v1/statuses takes 20 ids
            chunk = remote_ids[start:start + 20]
            statuses = self._call("reading post counts",
                                  lambda chunk=chunk: self.client.statuses(chunk))  # type: ignore[misc]
            for status in statuses:
                found.append(Engagement(
                    remote_id=str(status["id"]), reactions=int(status["favourites_count"]),
                    comments=int(status["replies_count"]), shares=int(status["reblogs_count"]),
                ))
        return found

    # -- the inbox (channels/mastodon/inbox.py) ---------------------------------------------

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        return inbox.read(self, query)

    def reply(self, request: ReplyRequest) -> ReplyResult:
        return inbox.send_reply(self, request)

    def check(self) -> str:
        me = self.me()
        limits = self.instance_limits()
        text = (f"@{me['username']}@{self.m_settings.instance}, {me['followers_count']} followers, "
                f"{limits.text_max} characters a post")
        if str(me["username"]).lower() != self.m_settings.username.lower():
            text += f" (the channel file says @{self.m_settings.username})"
        return text


def _media_problems(media: Media, limits: Limits) -> list[tuple[str, str]]:
    if media.mime_type not in limits.media_types:
        return [(f"{media.path.name} is {media.mime_type}: this channel posts images only",
                 f"use one of {', '.join(limits.media_types)}")]
    found: list[tuple[str, str]] = []
    if media.alt_text and len(media.alt_text) > ALT_TEXT_MAX:
        found.append((f"the alt text of {media.path.name} is {len(media.alt_text)} characters",
                      f"keep it under {ALT_TEXT_MAX}"))
    try:
        size = media.path.stat().st_size
    except OSError:
        return [(f"image {media.path} cannot be read", "check the media path in the post")]
    top = limits.media_bytes_max or 0
    if top and size > top:
        found.append(((f"{media.path.name} is {size / 1024 / 1024:.1f} MB, the instance "
                       f"takes images up to {top / 1024 / 1024:.0f} MB"), "compress or resize it"))
    return found
