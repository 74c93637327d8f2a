"""LinkedIn organization pages through linkedin-api-client (``/rest`` with ``LinkedIn-Version``).

A post is ``POST /rest/posts``; its commentary is the rendered text in LinkedIn's "little"
format (``linkedin_escape``: "(MOOC)", "#leadership" and "@" reach readers intact). LinkedIn
builds no link preview from the API: a link post is an ``article`` with the post's title and
description (else the link itself) and, when the post has one image, that image as thumbnail.
Images go through the Images API (``initializeUpload`` then a PUT of the bytes); two or more
make a ``multiImage`` post.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import requests
from linkedin_api.clients.auth.client import AuthClient
from linkedin_api.clients.restli.client import RestliClient
from linkedin_api.common.errors import ResponseFormattingError
from pydantic import Field, field_validator

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
from cm_toolkit.channels.facts import Budget, OAuthProvider, Starter, TokenRefresh
from cm_toolkit.channels.http import TimedSession, session_for
from cm_toolkit.channels.linkedin import inbox
from cm_toolkit.channels.linkedin.checks import IMAGE_TYPES, post_problems
from cm_toolkit.channels.linkedin.http import NETWORK, error_for, transport_error
from cm_toolkit.channels.linkedin.text import linkedin_escape
from cm_toolkit.clock import Clock, SystemClock
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, Problem, Rejected
from cm_toolkit.workspace.models import Network

STATS_BATCH = 20  # share URNs per statistics call: keeps the query far below query tunnelling
_VERSION = re.compile(r"\d{4}(0[1-9]|1[0-2])(\.\d{2})?")
_ORG_URN = re.compile(r"urn:li:organization:(\d+)")


class LinkedInSettings(ChannelSettings):
    """``account.organization``: the page's URN or number; ``options.version``: API version."""

    organization: str = Field(description="The page: urn:li:organization:N (or just N).")
    version: str = Field(default="202611", description="LinkedIn-Version header, YYYYMM.")

    @field_validator("organization", mode="before")
    @classmethod
    def _organization(cls, value: Any) -> str:
        text = str(value).strip()
        if text.isdigit():
            return f"urn:li:organization:{text}"
        if not _ORG_URN.fullmatch(text):
            raise ValueError("expected urn:li:organization:<number> or the number alone")
        return text

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.fullmatch(value):
            raise ValueError("expected a LinkedIn API version YYYYMM, e.g. 202611")
        return value


class LinkedInChannel(Channel):
    network: ClassVar[Network] = "linkedin"
    emulators = ("cm_toolkit.sandbox.linkedin:LinkedInEmulator",)
    budget: ClassVar[Budget | None] = Budget(150, timedelta(days=1), margin=10)
    oauth: ClassVar[OAuthProvider | None] = OAuthProvider(
        "linkedin",
        "https://www.linkedin.com/oauth/v2/authorization",
        "https://www.linkedin.com/oauth/v2/accessToken",
        ("r_organization_social", "w_organization_social", "rw_organization_admin"),
        client_env=("CM_LINKEDIN_CLIENT_ID", "CM_LINKEDIN_CLIENT_SECRET"),
    )
    display_name: ClassVar[str] = "LinkedIn Page"
    starter: ClassVar[Starter | None] = Starter(
        "LinkedIn page", {"organization": "urn:li:organization:{digits:8}"}, default=True)
    # 3,000 characters of commentary as sent (after escaping); 20 images per post (multiImage,
    # at least 2); 5 MB per image (LinkedIn's Images API documents only < 36,152,320 pixels).
    limits: ClassVar[Limits] = Limits(
        text_max=3000, media_max=20, media_bytes_max=5 * 1024 * 1024, media_types=IMAGE_TYPES,
        duplicates_refused=True,  # 422 DUPLICATE_POST (API_FACTS.md)
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
    settings_model: ClassVar[type[ChannelSettings]] = LinkedInSettings
    secret_names: ClassVar[tuple[str, ...]] = ("access_token",)
    optional_secret_names: ClassVar[tuple[str, ...]] = (
        "refresh_token",
        "client_id",
        "client_secret",
    )
    token_refresh: ClassVar[TokenRefresh | None] = TokenRefresh(optional_secret_names, "60 days")

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
        assert isinstance(settings, LinkedInSettings)
        self.li: LinkedInSettings = settings
        self.clock: Clock = clock or SystemClock()
        self._client: RestliClient | None = None
        self._session: TimedSession | None = None

    # -- text -------------------------------------------------------------------------------

    @classmethod
    def wire_text(cls, text: str) -> str:
        return linkedin_escape(text)

    @classmethod
    def text_length(cls, text: str) -> int:
        """Characters of the commentary as LinkedIn receives it: escapes and hashtag templates
        count, so a text within the limit is never refused for length."""
        return len(cls.wire_text(text))

    # -- the client -------------------------------------------------------------------------

    @property
    def session(self) -> TimedSession:
        if self._session is None:
            self._session = session_for(self.transport)
        return self._session

    @property
    def client(self) -> RestliClient:
        if self._client is None:
            self._client = RestliClient()
            self._client.session = self.session
        return self._client

    def _response(self, call: Callable[[], Any]) -> requests.Response:
        """Run one SDK call and return its raw response (also when the SDK could not format it)."""
        try:
            result = call()
        except ResponseFormattingError:
            if self.session.last_response is None:
                raise
            return self.session.last_response
        # SDK calls return a response object holding the raw one; a plain PUT returns it
        return result if isinstance(result, requests.Response) else result.response

    def _call(
        self, action: str, call: Callable[[str], Any], *, creates: bool = False
    ) -> requests.Response:
        """``call(access_token)`` with the error mapping; one token refresh on a 401."""
        self._refresh_if_expiring()
        for attempt in (1, 2):
            token = self.credentials.get("access_token")
            try:
                response = self._response(lambda token=token: call(token))  # type: ignore[misc]
            except requests.RequestException as exc:
                raise transport_error(
                    exc, channel_id=self.channel_id, action=action, creates=creates
                ) from None
            if response.status_code == 401 and attempt == 1 and self._refresh():
                continue
            if response.status_code >= 400:
                raise error_for(
                    response, channel_id=self.channel_id, action=action, clock=self.clock
                )
            return response
        raise AssertionError("unreachable")

    # -- tokens -----------------------------------------------------------------------------

    def _can_refresh(self) -> bool:
        return all(self.credentials.find(n) for n in self.optional_secret_names)

    def _refresh_if_expiring(self) -> None:
        expires = self.credentials.find("access_token_expires_at")
        if not expires or not self._can_refresh():
            return
        try:
            deadline = datetime.fromisoformat(expires)
        except ValueError:
            return
        if deadline - self.clock.now() < timedelta(days=1):
            self._refresh()

    def _refresh(self) -> bool:
        """Exchange the refresh token for a new access token; False when none is available."""
        if not self._can_refresh():
            return False
        auth = AuthClient(self.credentials.get("client_id"), self.credentials.get("client_secret"))
        auth.session = self.session
        try:
            answer = self._response(
                lambda: auth.exchange_refresh_token_for_access_token(
                    self.credentials.get("refresh_token")
                )
            )
        except requests.RequestException as exc:
            raise transport_error(
                exc, channel_id=self.channel_id, action="refresh its token", creates=False
            ) from None
        if answer.status_code != 200:
            error = error_for(
                answer, channel_id=self.channel_id, action="refresh its token", clock=self.clock
            )
            if answer.status_code < 500 and answer.status_code != 429:
                raise AuthExpired(
                    f"LinkedIn ({self.channel_id}) refused to refresh the access token "
                    f"({error.info.network_message})",
                    network=NETWORK,
                    status=answer.status_code,
                    code=error.info.code,
                    network_message=error.info.network_message,
                    fix=f"run `cm auth {self.channel_id}`",
                ) from None
            raise error
        data = answer.json()
        values = {
            "access_token": str(data["access_token"]),
            "access_token_expires_at": (
                self.clock.now() + timedelta(seconds=int(data.get("expires_in", 0)))
            ).isoformat(),
        }
        if data.get("refresh_token"):
            values["refresh_token"] = str(data["refresh_token"])
        self.credentials.update(values)
        return True

    # -- validate ---------------------------------------------------------------------------

    def validate(self, post: RenderedPost) -> list[Problem]:
        return post_problems(self.channel_id, self.limits, post, self.text_length(post.text))

    # -- publish ----------------------------------------------------------------------------

    def _upload_image(self, media: Media) -> str:
        """initializeUpload, then PUT the bytes: returns the ``urn:li:image:...``."""
        init = self._call(
            "start an image upload",
            lambda token: self.client.action(
                resource_path="/images",
                action_name="initializeUpload",
                action_params={"initializeUploadRequest": {"owner": self.li.organization}},
                access_token=token,
                version_string=self.li.version,
            ),
        )
        value = init.json()["value"]
        data = media.read_bytes()
        self._call(
            "upload an image",
            lambda token: self.session.put(
                value["uploadUrl"],
                data=data,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/octet-stream",
                },
            ),
        )
        return str(value["image"])

    def entity(self, post: RenderedPost, images: list[str]) -> dict[str, Any]:
        """The ``POST /rest/posts`` body for ``post`` once its images are uploaded."""
        entity: dict[str, Any] = {
            "author": self.li.organization,
            "commentary": self.wire_text(post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        alts = [m.alt_text for m in post.media]
        if post.link:
            article: dict[str, Any] = {"source": post.link, "title": post.title or post.link}
            if post.description:
                article["description"] = post.description
            if images:
                article["thumbnail"] = images[0]
                if alts and alts[0]:
                    article["thumbnailAltText"] = alts[0]
            entity["content"] = {"article": article}
        elif len(images) == 1:
            media: dict[str, Any] = {"id": images[0]}
            if post.title:
                media["title"] = post.title
            if alts[0]:
                media["altText"] = alts[0]
            entity["content"] = {"media": media}
        elif images:
            entity["content"] = {
                "multiImage": {
                    "images": [
                        {"id": urn, **({"altText": alt} if alt else {})}
                        for urn, alt in zip(images, alts)
                    ]
                }
            }
        return entity

    def publish(self, post: RenderedPost) -> PublishResult:
        images = [self._upload_image(m) for m in post.media]
        entity = self.entity(post, images)
        response = self._call(
            "publish",
            lambda token: self.client.create(
                resource_path="/posts",
                entity=entity,
                access_token=token,
                version_string=self.li.version,
            ),
            creates=True,
        )
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise OutcomeUnknown(
                f"LinkedIn ({self.channel_id}) accepted the post but did not say its id",
                network=NETWORK,
                status=response.status_code,
                fix="find the post on the page and record it by hand",
            )
        return PublishResult(
            remote_id=urn,
            url=f"https://www.linkedin.com/feed/update/{urn}/",
            extra={"images": images} if images else {},
        )

    # -- other calls ------------------------------------------------------------------------

    def delete(self, remote_id: str) -> None:
        """Delete a post; a post already gone (404) counts as deleted."""
        try:
            self._call(
                "delete a post",
                lambda token: self.client.delete(
                    resource_path="/posts/{id}",
                    path_keys={"id": remote_id},
                    access_token=token,
                    version_string=self.li.version,
                ),
            )
        except Rejected as exc:
            if exc.info.status != 404:
                raise

    def followers(self) -> int:
        response = self._call(
            "read the follower count",
            lambda token: self.client.get(
                resource_path="/networkSizes/{id}",
                path_keys={"id": self.li.organization},
                query_params={"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"},
                access_token=token,
                version_string=self.li.version,
            ),
        )
        return int(response.json()["firstDegreeSize"])

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        found: list[Engagement] = []
        for start in range(0, len(remote_ids), STATS_BATCH):
            batch = remote_ids[start : start + STATS_BATCH]
            params: dict[str, Any] = {"organizationalEntity": self.li.organization}
            shares = [u for u in batch if not u.startswith("urn:li:ugcPost:")]
            ugc = [u for u in batch if u.startswith("urn:li:ugcPost:")]
            if shares:
                params["shares"] = shares
            if ugc:
                params["ugcPosts"] = ugc
            response = self._call(
                "read post statistics",
                lambda token, params=params: self.client.finder(  # type: ignore[misc]
                    resource_path="/organizationalEntityShareStatistics",
                    finder_name="organizationalEntity",
                    query_params=params,
                    access_token=token,
                    version_string=self.li.version,
                ),
            )
            for element in response.json().get("elements", []):
                stats = element.get("totalShareStatistics", {})
                found.append(
                    Engagement(
                        remote_id=str(element.get("share") or element.get("ugcPost")),
                        reactions=int(stats.get("likeCount", 0)),
                        comments=int(stats.get("commentCount", 0)),
                        shares=int(stats.get("shareCount", 0)),
                        impressions=int(stats.get("impressionCount", 0)),
                    )
                )
        return found

    def check(self) -> str:
        count = self.followers()
        return f"LinkedIn page {self.li.organization}: {count} followers (API version {self.li.version})"

    # -- the inbox (channels/linkedin/inbox.py) ---------------------------------------------

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        return inbox.read_comments(self, query)

    def reply(self, request: ReplyRequest) -> ReplyResult:
        return inbox.send_reply(self, request)
