"""The X channel (API v2) through tweepy's ``Client``. See docs/channels/x.md.

Credentials, by the names the channel file gives them:

- OAuth 2.0 user token (what ``cm auth`` obtains): ``access_token``, with ``refresh_token`` and
  ``client_id`` (``client_secret`` for a confidential client) so an expired token is refreshed
  once on a 401 and the new pair persisted with ``credentials.update``. Sent as a bearer token,
  every call with ``user_auth=False``.
- OAuth 1.0a keys: ``consumer_key``, ``consumer_secret``, ``access_token``,
  ``access_token_secret``; every call with ``user_auth=True``.

tweepy only has the retired v1.1 media upload, so images go through ``POST /2/media/upload`` on
the client's own session (same transport, same timeout, same credentials). tweepy passes no
timeout to ``requests``: the client's session is a ``TimedSession`` (channels/http.py) that adds
``transport.timeout`` to every call. ``wait_on_rate_limit`` stays off: a 429 becomes
``RateLimited`` with X's reset time, and the scheduler decides when to come back.

A thread (``RenderedPost.thread``, or a text over 280 weighted characters when the channel's
``threads`` option allows it) is a chain of replies numbered by ``x/text.py: split_thread``. If a
part fails after the first went out, ``PartiallyPublished`` carries the ids already online, so
the scheduler never sends them again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

import requests
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
    PostPart,
    PostProblem,
    PublishResult,
    RenderedPost,
    ReplyRequest,
    ReplyResult,
    Transport,
)
from cm_toolkit.channels.facts import (
    Budget,
    LinkHandling,
    OAuthProvider,
    Pricing,
    QuotaRule,
    Starter,
)
from cm_toolkit.channels.http import session_for
from cm_toolkit.channels.x import inbox
from cm_toolkit.channels.x import text as x_text
from cm_toolkit.channels.x.text import TEXT_MAX, x_weighted_length
from cm_toolkit.channels.x.wire import json_body, map_error, raise_for_status
from cm_toolkit.errors import (
    AuthExpired,
    ChannelError,
    PartiallyPublished,
    Problem,
    Rejected,
    TransientError,
)
from cm_toolkit.workspace.models import Network

T = TypeVar("T")
API = "https://api.x.com"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
IMAGE_MAX_BYTES = 5 * 1024 * 1024
GIF_TYPE = "image/gif"  # uploaded as a GIF (``tweet_gif``): alone in its post
GIF_MAX_BYTES = 15 * 1024 * 1024  # an animated GIF (``tweet_gif``) may be larger (API_FACTS.md)


class XSettings(ChannelSettings):
    """``account`` + ``options`` of an X channel file."""

    username: str = Field(pattern=r"^[A-Za-z0-9_]{1,15}$", description="The handle, without @.")
    user_id: str | None = Field(
        default=None, pattern=r"^[0-9]{1,19}$", description="Numeric id (looked up if absent)."
    )
    threads: bool = Field(
        default=False, description="Post a text over 280 weighted characters as a thread."
    )


class XChannel(Channel):
    network: ClassVar[Network] = "x"
    link_handling = LinkHandling.APPENDED
    @classmethod
    def compose(cls, post: RenderedPost) -> str:
        """The text sent: the post's text, then its link when the text does not contain it
        (X has no link attachment)."""
        if post.link and post.link not in post.text:
            return f"{post.text.rstrip()}\n{post.link}"
        return post.text

    @classmethod
    def split_thread(cls, text: str, limit: int) -> list[str]:
        return x_text.split_thread(text, limit)

    @classmethod
    def contains_url(cls, text: str) -> bool:
        return x_text.contains_url(text)

    @classmethod
    def plan_problems(cls, post: RenderedPost) -> list[PostProblem]:
        return [PostProblem(PostPart.MEDIA, "media-mix", message, fix)
                for message, fix in media_mix_problems(post.media)]

    emulators = ("cm_toolkit.sandbox.x:XEmulator",)
    # Publishing calls (API_FACTS.md; docs/scheduler.md): POST /2/tweets, 100 per 15 minutes
    budget: ClassVar[Budget | None] = Budget(100, timedelta(minutes=15), margin=5)
    quota_rules: ClassVar[tuple[QuotaRule, ...]] = (
        QuotaRule("x_posts_per_15_minutes", 100, "posts", "account", "POST /2/tweets per user",
                  costs={"post": 1, "thread_part": 1}, window=timedelta(minutes=15)),
        QuotaRule("x_posts_per_24_hours", 10_000, "posts", "app", "POST /2/tweets per app",
                  costs={"post": 1, "thread_part": 1}, window=timedelta(hours=24)),
    )
    pricing: ClassVar[Pricing | None] = Pricing(post_usd=0.015, post_with_url_usd=0.200)
    oauth: ClassVar[OAuthProvider | None] = OAuthProvider(
        "x",
        "https://x.com/i/oauth2/authorize",
        "https://api.x.com/2/oauth2/token",
        ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access"),
        pkce=True,
        basic_auth=True,
        client_env=("CM_X_CLIENT_ID", "CM_X_CLIENT_SECRET"),
        secret_required=False,  # a public client (PKCE only) has no secret
    )
    limits: ClassVar[Limits] = Limits(
        text_max=TEXT_MAX, text_unit="weighted characters", media_max=4,
        media_bytes_max=IMAGE_MAX_BYTES, media_types=IMAGE_TYPES,
        media_bytes_by_type=((GIF_TYPE, GIF_MAX_BYTES),),
        duplicates_refused=True,  # 403 "duplicate content", permanent (API_FACTS.md)
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.LINK,
            Capability.IMAGES,
            Capability.THREAD,
            Capability.DELETE,
            Capability.FOLLOWERS,
            Capability.ENGAGEMENT,
            Capability.CONVERSATIONS,
        }
    )
    conversation_facts: ClassVar[ConversationFacts | None] = inbox.FACTS
    settings_model: ClassVar[type[ChannelSettings]] = XSettings
    secret_names: ClassVar[tuple[str, ...]] = ("access_token",)
    display_name: ClassVar[str] = "X"
    aliases: ClassVar[tuple[str, ...]] = ("twitter",)
    starter: ClassVar[Starter | None] = Starter(
        "X", {"username": "{slug}"}, default=True,
        secrets={"access_token": "CM_X_ACCESS_TOKEN", "refresh_token": "CM_X_REFRESH_TOKEN",
                 "client_id": "CM_X_CLIENT_ID"},
    )

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        credentials: Credentials,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(channel_id, settings, credentials, transport)
        assert isinstance(settings, XSettings)
        self.x_settings = settings
        self._client: Any = None
        self._user_auth = credentials.find("consumer_key") is not None

    @classmethod
    def text_length(cls, text: str) -> int:
        return x_weighted_length(text)

    # -- the SDK client -------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            import tweepy  # imported when used: see x/wire.py

            get = self.credentials.get
            if self._user_auth:
                client = tweepy.Client(
                    consumer_key=get("consumer_key"),
                    consumer_secret=get("consumer_secret"),
                    access_token=get("access_token"),
                    access_token_secret=get("access_token_secret"),
                    return_type=dict,
                )
            else:
                client = tweepy.Client(bearer_token=get("access_token"), return_type=dict)
            client.session = session_for(self.transport)
            self._client = client
        return self._client

    def _call(self, what: str, call: Callable[[], T], *, creates: bool = False) -> T:
        """Run one SDK call: refresh the token once on a 401, map every failure to our errors."""
        import tweepy

        refreshed = False
        while True:
            try:
                return call()
            except tweepy.Unauthorized as exc:
                if not refreshed and self._refresh():
                    refreshed = True
                    continue
                raise map_error(exc, self.channel_id, what, creates=creates) from exc
            except (tweepy.TweepyException, requests.RequestException) as exc:
                raise map_error(exc, self.channel_id, what, creates=creates) from exc

    # -- publishing -----------------------------------------------------------------------------

    def parts(self, post: RenderedPost) -> list[str]:
        sent = self.compose(post)
        if post.thread or (self.x_settings.threads and x_weighted_length(sent) > TEXT_MAX):
            return x_text.split_thread(sent, TEXT_MAX)
        return [sent]

    def validate(self, post: RenderedPost) -> list[Problem]:
        found: list[tuple[str, str]] = []
        sent = self.compose(post)
        length = x_weighted_length(sent)
        if not sent.strip() and not post.media:
            found.append(("the post is empty", "give it a text or an image"))
        if length > TEXT_MAX and not (post.thread or self.x_settings.threads):
            found.append(
                (
                    f"the text is {length} weighted characters, more than X's {TEXT_MAX}",
                    (
                        f"shorten it by {length - TEXT_MAX} (links count 23, emoji and CJK 2), "
                        "or set `threads: true` in the channel's options to post it as a thread"
                    ),
                )
            )
        if len(post.media) > self.limits.media_max:
            found.append(
                (
                    f"{len(post.media)} images, X takes at most {self.limits.media_max} per post",
                    "keep four images or fewer",
                )
            )
        found.extend(media_mix_problems(post.media))
        for media in post.media:
            found.extend(_media_problems(media))
        return [Problem(self.channel_id, None, None, message, fix) for message, fix in found]

    def publish(self, post: RenderedPost) -> PublishResult:
        Rejected.raise_for(self.validate(post), network="x", prefix=f"channel {self.channel_id}: ")
        media_ids = [self._upload(media) for media in post.media]  # nothing is online yet
        ids: list[str] = []
        for index, text in enumerate(self.parts(post)):
            params: dict[str, Any] = {"text": text, "user_auth": self._user_auth}
            if index == 0 and media_ids:
                params["media_ids"] = media_ids
            if ids:
                params["in_reply_to_tweet_id"] = ids[-1]
            try:
                answer = self._call(
                    "publishing a post",
                    lambda params=params: self.client.create_tweet(**params),  # type: ignore[misc]
                    creates=True,
                )
            except ChannelError as error:
                if not ids:
                    raise
                raise PartiallyPublished(
                    f"the X thread stopped after {len(ids)} of {len(self.parts(post))} parts: "
                    f"{error.message}",
                    remote_id=ids[0],
                    url=self.post_url(ids[0]),
                    published_ids=ids,
                    cause=error,
                    network="x",
                    status=error.info.status,
                    code=error.info.code,
                    network_message=error.info.network_message,
                    fix="review it on X: finish or delete the thread by hand; it is not re-sent",
                ) from error
            ids.append(str(answer["data"]["id"]))
        return PublishResult(ids[0], self.post_url(ids[0]), {"thread_ids": ids})

    def post_url(self, remote_id: str) -> str:
        return f"https://x.com/{self.x_settings.username}/status/{remote_id}"

    def _upload(self, media: Media) -> str:
        data = media.read_bytes()

        def send() -> dict[str, Any]:
            response = self.client.session.post(
                f"{API}/2/media/upload",
                files={"media": (media.path.name, data, media.mime_type)},
                data={"media_category": media_category(media.mime_type)},
                **self._raw_auth(),
            )
            raise_for_status(response)
            return dict(response.json()["data"])

        uploaded = self._call(f"uploading {media.path.name}", send)
        media_id = str(uploaded["id"])
        if media.alt_text:
            body = {"id": media_id, "metadata": {"alt_text": {"text": media.alt_text[:1000]}}}

            def describe() -> None:
                response = self.client.session.post(
                    f"{API}/2/media/metadata", json=body, **self._raw_auth()
                )
                raise_for_status(response)

            self._call(f"adding the alt text of {media.path.name}", describe)
        return media_id

    def _raw_auth(self) -> dict[str, Any]:
        """Authentication for calls tweepy has no method for, as tweepy does it."""
        import tweepy

        client = self.client
        if self._user_auth:
            handler = tweepy.OAuth1UserHandler(
                client.consumer_key,
                client.consumer_secret,
                client.access_token,
                client.access_token_secret,
            )
            return {"auth": handler.apply_auth(), "headers": {"User-Agent": client.user_agent}}
        return {
            "headers": {
                "Authorization": f"Bearer {client.bearer_token}",
                "User-Agent": client.user_agent,
            }
        }

    # -- reads and delete -----------------------------------------------------------------------

    def delete(self, remote_id: str) -> None:
        try:
            self._call(
                "deleting a post",
                lambda: self.client.delete_tweet(remote_id, user_auth=self._user_auth),
            )
        except Rejected as error:
            if error.info.status != 404:  # already gone is what we wanted
                raise

    def me(self) -> dict[str, Any]:
        answer = self._call(
            "reading the account",
            lambda: self.client.get_me(user_fields=["public_metrics"], user_auth=self._user_auth),
        )
        return dict(answer["data"])

    def followers(self) -> int:
        return int(self.me()["public_metrics"]["followers_count"])

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        found: list[Engagement] = []
        for start in range(0, len(remote_ids), 100):  # X looks up 100 posts per call
            chunk = remote_ids[start : start + 100]
            answer = self._call(
                "reading post metrics",
                lambda chunk=chunk: self.client.get_tweets(  # type: ignore[misc]
                    chunk, tweet_fields=["public_metrics"], user_auth=self._user_auth
                ),
            )
            for item in answer.get("data", []):
                metrics = item.get("public_metrics", {})
                found.append(
                    Engagement(
                        remote_id=str(item["id"]),
                        reactions=metrics.get("like_count", 0),
                        comments=metrics.get("reply_count", 0),
                        shares=metrics.get("retweet_count", metrics.get("repost_count", 0))
                        + metrics.get("quote_count", 0),
                        impressions=metrics.get("impression_count"),
                    )
                )
        return found

    def check(self) -> str:
        me = self.me()
        text = f"@{me['username']}, {me['public_metrics']['followers_count']} followers"
        if str(me["username"]).lower() != self.x_settings.username.lower():
            text += f" (the channel file says @{self.x_settings.username})"
        return text

    # -- the inbox (channels/x/inbox.py) -------------------------------------------------------

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        return inbox.read(self, query)

    def validate_reply(self, request: ReplyRequest) -> list[Problem]:
        return super().validate_reply(request) + inbox.reply_problems(self, request)

    def reply(self, request: ReplyRequest) -> ReplyResult:
        return inbox.send_reply(self, request)

    # -- tokens and errors ----------------------------------------------------------------------

    def _refresh(self) -> bool:
        """Refresh an OAuth 2.0 token; False when this channel has no way to."""
        find = self.credentials.find
        refresh_token, client_id = find("refresh_token"), find("client_id")
        if self._user_auth or not refresh_token or not client_id:
            return False
        secret = find("client_secret")
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if not secret:
            data["client_id"] = client_id  # a public client identifies itself in the body
        try:
            response = self.client.session.post(
                f"{API}/2/oauth2/token", data=data, auth=(client_id, secret) if secret else None
            )
        except requests.RequestException as exc:
            raise TransientError(
                f"channel {self.channel_id}: X's token endpoint could not be reached ({type(exc).__name__})",
                network="x",
            ) from exc
        if response.status_code >= 500:
            raise TransientError(
                f"channel {self.channel_id}: X's token endpoint answered {response.status_code}",
                network="x",
                status=response.status_code,
            )
        if response.status_code != 200:
            description = json_body(response).get("error_description")
            raise AuthExpired(
                f"channel {self.channel_id}: X refused to refresh the access token",
                network="x",
                status=response.status_code,
                network_message=description,
                fix=f"run `cm auth {self.channel_id}`",
            )
        body = json_body(response)
        self.client.bearer_token = body["access_token"]
        updates = {"access_token": str(body["access_token"])}
        if body.get("refresh_token"):  # X rotates refresh tokens: the old one is now spent
            updates["refresh_token"] = str(body["refresh_token"])
        self.credentials.update(updates)
        return True


def _media_problems(media: Media) -> list[tuple[str, str]]:
    if media.mime_type not in IMAGE_TYPES:
        return [
            (
                f"{media.path.name} is {media.mime_type}: this channel posts images only",
                "use a JPEG, PNG, GIF or WEBP image",
            )
        ]
    try:
        size = media.path.stat().st_size
    except OSError:
        return [(f"image {media.path} cannot be read", "check the media path in the post")]
    limit = XChannel.limits.media_bytes_max_for(media.mime_type) or IMAGE_MAX_BYTES
    if size > limit:
        kind = "GIFs" if media.mime_type == GIF_TYPE else "images"
        said = f"X takes {kind} up to {limit // 1024 // 1024} MB"
        return [(f"{media.path.name} is {size / 1024 / 1024:.1f} MB, {said}",
                 "compress or resize it")]
    return []


def media_category(mime_type: str) -> str:
    """How X is told what a file is: a GIF is uploaded as ``tweet_gif`` (so that it stays
    animated), every other image as ``tweet_image``."""
    return "tweet_gif" if mime_type == GIF_TYPE else "tweet_image"


def media_mix_problems(media: tuple[Media, ...]) -> list[tuple[str, str]]:
    """X takes up to 4 images, or 1 GIF, or 1 video in a post: a GIF or a video is alone."""
    alone = [m for m in media if m.mime_type == GIF_TYPE or m.mime_type.startswith("video/")]
    if not alone or len(media) == 1:
        return []
    names = ", ".join(m.path.name for m in alone)
    kind = "GIF" if alone[0].mime_type == GIF_TYPE else "video"
    message = (f"{len(media)} media with {names}: X takes up to 4 images, or 1 GIF, or 1 "
               f"video per post, and a {kind} cannot share its post")
    fix = (f"keep the {kind} alone in its post (override media for this channel) and post the "
           "other files apart" + (", or convert the GIF to a PNG image" if kind == "GIF" else ""))
    return [(message, fix)]
