"""The Facebook Page channel: settings, limits, publishing and reads through ``GraphAPI``.

Text, link, and photos: each photo is uploaded with ``published=false`` (``POST
/{page}/photos``), then one ``POST /{page}/feed`` with ``attached_media[i]`` publishes them all,
so the feed call is the only one that publishes anything. Followers (``followers_count``, else
``fan_count``), engagement (reactions, comments, shares), delete, ``check()``.

facebook-sdk 3.1.0: its constructor refuses Graph versions above 3.1, so the version is set on
the instance; it raises ``GraphAPIError`` only when the body has ``"error"`` and never exposes
response headers, so a response hook on our session keeps the last status and headers (for the
throttling reset); booleans go as the strings ``"true"``/``"false"``.
"""

from __future__ import annotations

import json
import threading
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
    PublishResult,
    RenderedPost,
    ReplyRequest,
    ReplyResult,
    Transport,
)
from cm_toolkit.channels.facebook import inbox
from cm_toolkit.channels.facebook.auth import GRAPH_VERSION, OAUTH
from cm_toolkit.channels.facebook.wire import (
    UNKNOWN_PATH,
    LastAnswer,
    facebook,
    graph_error,
    transport_error,
)
from cm_toolkit.channels.facts import Budget, NativeSchedule, OAuthProvider, Starter
from cm_toolkit.channels.http import session_for
from cm_toolkit.clock import Clock, SystemClock
from cm_toolkit.errors import AuthExpired, ChannelError, Problem, Rejected
from cm_toolkit.workspace.models import Network

MAX_PHOTOS = 10
T = TypeVar("T")


class FacebookSettings(ChannelSettings):
    """``account:`` of a facebook channel file."""

    page_id: str = Field(pattern=r"^\d+$", description="The Page's numeric id.")
    graph_version: str = Field(
        default=GRAPH_VERSION, pattern=r"^v\d+\.0$", description="Graph API version, e.g. v24.0."
    )


class FacebookChannel(Channel):
    """A Facebook Page, published with a Page access token."""

    network: ClassVar[Network] = "facebook"
    emulators = ("cm_toolkit.sandbox.facebook:FacebookEmulator",)
    # Meta publishes no number for Page posts; the sandbox answers code 613 past 50 an hour
    budget: ClassVar[Budget | None] = Budget(50, timedelta(hours=1), margin=5)
    native_schedule: ClassVar[NativeSchedule | None] = NativeSchedule(
        earliest=timedelta(minutes=10), latest=timedelta(days=30))  # scheduled_publish_time
    oauth: ClassVar[OAuthProvider | None] = OAUTH
    limits: ClassVar[Limits] = Limits(
        text_max=63206,
        media_max=MAX_PHOTOS,
        media_bytes_max=4 * 1024 * 1024,
        media_types=("image/jpeg", "image/png", "image/gif"),
        duplicates_refused=True,  # error 506, a duplicate post (facebook/wire.py)
    )
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.LINK,
            Capability.IMAGES,
            Capability.DELETE,
            Capability.FOLLOWERS,
            Capability.ENGAGEMENT,
            Capability.CONVERSATIONS,
        }
    )
    conversation_facts: ClassVar[ConversationFacts | None] = inbox.FACTS
    settings_model: ClassVar[type[ChannelSettings]] = FacebookSettings
    secret_names: ClassVar[tuple[str, ...]] = ("page_token",)
    display_name: ClassVar[str] = "Facebook Page"
    aliases: ClassVar[tuple[str, ...]] = ("fb", "facebook-page")
    starter: ClassVar[Starter | None] = Starter(
        "Facebook Page", {"page_id": "10{digits:13}"}, default=True)

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        credentials: Credentials,
        transport: Transport | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(channel_id, settings, credentials, transport)
        # "now" for throttling resets, which Graph gives in minutes from now (the sandbox's clock
        # in tests and demos)
        self.clock: Clock = clock or SystemClock()
        self.page = (
            settings
            if isinstance(settings, FacebookSettings)
            else FacebookSettings.model_validate(settings.model_dump())
        )
        self._session: requests.Session | None = None
        self._last = threading.local()  # status and headers of the last answer, per thread

    # -- the SDK ----------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        if self._session is None:
            session = session_for(self.transport)
            session.hooks["response"].append(self._remember)
            self._session = session
        return self._session

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last.answer = LastAnswer(response.status_code, dict(response.headers))

    def graph(self, token: str) -> facebook.GraphAPI:
        client = facebook.GraphAPI(
            access_token=token, timeout=self.transport.timeout, session=self._http()
        )
        client.version = self.page.graph_version  # the constructor refuses versions above 3.1
        return client

    def _call(self, action: str, request: Callable[[facebook.GraphAPI], T], *, creates: bool) -> T:
        """Run one SDK call with the Page token, renewing the token once when Graph refuses it."""
        token = self._page_token()
        for attempt in (1, 2):
            self._last.answer = LastAnswer()
            try:
                return request(self.graph(token))
            except facebook.GraphAPIError as exc:
                error = self._graph_error(exc, action)
                if isinstance(error, AuthExpired) and attempt == 1 and self._can_renew():
                    token = self._renew_page_token()  # a refused token created nothing: retry
                    continue
                raise error from None
            except requests.RequestException as exc:
                raise self._transport_error(exc, action, creates) from None
        raise AssertionError("unreachable")

    # -- tokens -----------------------------------------------------------------------------

    def _graph_error(self, exc: facebook.GraphAPIError, action: str) -> ChannelError:
        answer = getattr(self._last, "answer", None) or LastAnswer()
        error = graph_error(exc, action, answer, self.clock.now(), self._auth_fix())
        if error.info.code == UNKNOWN_PATH and f"/{self.page.graph_version}/" in (
            error.info.network_message or ""
        ):  # Graph never released this version: the path itself is unknown
            return Rejected(
                f"channel {self.channel_id}: Graph has no API version "
                f"{self.page.graph_version} (the `graph_version` of its channel file)",
                fix=self._version_fix(),
                network=self.network,
                status=error.info.status,
                code=error.info.code,
                network_message=error.info.network_message,
            )
        return error

    def _version_fix(self) -> str:
        return (
            f"set `graph_version: {GRAPH_VERSION}` under `options:` in "
            f"channels/{self.channel_id}.yaml, or remove it ({GRAPH_VERSION} is the default)"
        )

    def _check_version(self) -> None:
        """Graph answers a retired version's calls with its oldest one and says so in the
        ``facebook-api-version`` header: the call works, not as the setting asks."""
        answer = getattr(self._last, "answer", None) or LastAnswer()
        lowered = {k.lower(): v for k, v in answer.headers.items()}
        served = lowered.get("facebook-api-version")
        if served and served != self.page.graph_version:
            raise Rejected(
                f"channel {self.channel_id}: Graph API version {self.page.graph_version} (the "
                f"`graph_version` of its channel file) is retired; Graph answered as {served}",
                fix=self._version_fix(),
                network=self.network,
            )

    def _transport_error(
        self, exc: requests.RequestException, action: str, creates: bool
    ) -> ChannelError:
        return transport_error(exc, action, creates, self.channel_id)

    def _auth_fix(self) -> str:
        return f"run `cm auth {self.channel_id}`"

    def _page_token(self) -> str:
        token = self.credentials.find("page_token")
        if token:
            return token
        if self._can_renew():
            return self._renew_page_token()
        raise AuthExpired(
            f"channel {self.channel_id}: no Facebook Page token",
            network="facebook",
            fix=self._auth_fix(),
        )

    def _can_renew(self) -> bool:
        return bool(self.credentials.find("user_token"))

    def _renew_page_token(self) -> str:
        """The Page-token exchange: (long-lived user token ->) ``GET /{page}?fields=access_token``."""
        user_token = self.credentials.get("user_token")
        app_id, app_secret = self.credentials.find("app_id"), self.credentials.find("app_secret")
        try:
            if app_id and app_secret:
                extended = self.graph(user_token).extend_access_token(app_id, app_secret)
                user_token = str(extended["access_token"])
                self.credentials.update({"user_token": user_token})
            answer = self.graph(user_token).get_object(self.page.page_id, fields="access_token")
        except facebook.GraphAPIError as exc:
            raise self._graph_error(exc, "renewing the Page token") from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, "renewing the Page token", False) from None
        page_token = answer.get("access_token")
        if not page_token:
            raise AuthExpired(
                f"channel {self.channel_id}: the user token does not manage Page "
                f"{self.page.page_id}",
                network="facebook",
                fix=self._auth_fix() + " with an account that administers the Page",
            )
        self.credentials.update({"page_token": str(page_token)})
        return str(page_token)

    # -- error mapping ----------------------------------------------------------------------

    # -- the Channel interface --------------------------------------------------------------

    def validate(self, post: RenderedPost) -> list[Problem]:
        problems: list[Problem] = []

        def problem(message: str, fix: str) -> None:
            problems.append(Problem(self.channel_id, None, None, message, fix))

        text = self._message(post)
        if not (text.strip() or post.media):
            problem("the Facebook post is empty", "give it a text, a link or a photo")
        if len(text) > self.limits.text_max:
            problem(
                f"the text is {len(text)} characters; Facebook accepts {self.limits.text_max}",
                "shorten the template's facebook variant",
            )
        if post.link and not post.link.startswith(("http://", "https://")):
            problem(f"the link {post.link!r} is not an http(s) URL", "write a full https:// URL")
        if len(post.media) > MAX_PHOTOS:
            problem(
                f"{len(post.media)} photos; this channel publishes at most {MAX_PHOTOS} per post",
                "keep the 10 best photos, or split the post",
            )
        for media in post.media:
            self._check_media(media, problem)
        return problems

    def _check_media(self, media: Media, problem: Callable[[str, str], None]) -> None:
        if media.mime_type not in self.limits.media_types:
            problem(
                f"{media.path.name}: {media.mime_type} photos are not published on Facebook",
                "use a JPEG, PNG or GIF image",
            )
        if not media.path.is_file():
            problem(f"{media.path}: file not found", "fix the media path in the schedule")
        elif media.path.stat().st_size > (self.limits.media_bytes_max or 0):
            size = media.path.stat().st_size / (1024 * 1024)
            problem(
                f"{media.path.name} is {size:.1f} MB; Facebook photos must be under 4 MB",
                "resize or recompress the image",
            )

    def _message(self, post: RenderedPost) -> str:
        """The post's text; a photo post has no link field, so its link joins the caption."""
        if post.media and post.link and post.link not in post.text:
            return f"{post.text}\n\n{post.link}" if post.text else post.link
        return post.text

    def publish(self, post: RenderedPost) -> PublishResult:
        Rejected.raise_for(self.validate(post), network="facebook")
        page_id = self.page.page_id
        message = self._message(post)
        args = {"published": "true"}
        if message:
            args["message"] = message
        if post.link and not post.media:
            args["link"] = post.link
        photo_ids: list[str] = []
        for index, media in enumerate(post.media):
            # An unpublished upload shows nowhere: a lost answer here publishes nothing.
            uploaded = self._call(
                f"uploading photo {index + 1}/{len(post.media)}",
                self._uploader(media),
                creates=False,
            )
            photo_ids.append(str(uploaded["id"]))
            args[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_ids[-1]})
        answer = self._call(
            "publishing the post", lambda g: g.put_object(page_id, "feed", **args), creates=True
        )
        remote_id = str(answer["id"])
        object_id = remote_id.split("_", 1)[-1]
        return PublishResult(
            remote_id=remote_id,
            url=f"https://www.facebook.com/{page_id}/posts/{object_id}",
            extra={"photo_ids": photo_ids} if photo_ids else {},
        )

    def _uploader(self, media: Media) -> Callable[[facebook.GraphAPI], Any]:
        """An unpublished photo upload (for ``attached_media``)."""
        return lambda g: g.put_photo(**self._photo_args(media))

    def _photo_args(self, media: Media) -> dict[str, Any]:
        args: dict[str, Any] = {
            "image": (media.path.name, media.read_bytes(), media.mime_type),
            "album_path": f"{self.page.page_id}/photos",
            "published": "false",
        }
        if media.alt_text:
            args["alt_text_custom"] = media.alt_text
        return args

    def delete(self, remote_id: str) -> None:
        try:
            self._call("deleting the post", lambda g: g.delete_object(remote_id), creates=False)
        except Rejected as exc:
            # Already gone (code 100, subcode 33): the wanted state is reached.
            if exc.info.code == "100" and exc.info.details.get("error_subcode") == 33:
                return
            raise

    def followers(self) -> int:
        data = self._call(
            "reading the follower count",
            lambda g: g.get_object(self.page.page_id, fields="followers_count,fan_count"),
            creates=False,
        )
        return int(data.get("followers_count", data.get("fan_count", 0)))

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        out = []
        for remote_id in remote_ids:
            data = self._call("reading engagement", self._counts(remote_id), creates=False)
            out.append(
                Engagement(
                    remote_id=remote_id,
                    reactions=int(
                        data.get("reactions", {}).get("summary", {}).get("total_count", 0)
                    ),
                    comments=int(data.get("comments", {}).get("summary", {}).get("total_count", 0)),
                    shares=int(data.get("shares", {}).get("count", 0)),
                )
            )
        return out

    def _counts(self, remote_id: str) -> Callable[[facebook.GraphAPI], Any]:
        return lambda g: g.get_object(
            remote_id, fields="shares,reactions.summary(true),comments.summary(true)"
        )

    def check(self) -> str:
        data = self._call(
            "checking the Page",
            lambda g: g.get_object(self.page.page_id, fields="name,followers_count"),
            creates=False,
        )
        self._check_version()
        return (
            f"Facebook Page “{data.get('name', '?')}” ({data.get('followers_count', 0)} followers)"
        )

    # -- the inbox (channels/facebook/inbox.py) ---------------------------------------------

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        return inbox.read_comments(self, query)

    def reply(self, request: ReplyRequest) -> ReplyResult:
        return inbox.send_reply(self, request)
