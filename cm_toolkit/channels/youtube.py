"""YouTube (Data API v3, google-api-python-client): live sessions, replays, subscribers.

- ``schedule_live``: a broadcast (title, description, scheduled start and end, privacy), a
  stream (RTMP, variable resolution), the stream bound to the broadcast; the watch link is
  announced. Re-running it for the same session finds the broadcast already made (same title
  and start on this channel) instead of creating a second one.
- ``publish``: a post is a video on YouTube: the replay in ``post.media[0]`` is uploaded with
  Google's resumable protocol; title = ``post.title`` (or the text's first line), description =
  ``post.description`` (or the text), plus the link when the text does not hold it.
- ``followers``: ``channels.list(mine)`` ``subscriberCount`` (YouTube rounds it to three
  significant figures); ``engagement``: ``videos.list`` statistics.

Quota: 10,000 units a day per Google Cloud project (list 1, insert/bind 50; uploads have their
own bucket of 100 a day); a used-up quota is ``RateLimited`` until midnight Pacific time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

from googleapiclient.http import MediaIoBaseUpload

from cm_toolkit.channels import youtube_inbox
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
    LiveSessionRequest,
    LiveSessionResult,
    PostPart,
    PostProblem,
    PublishResult,
    RenderedPost,
    ReplyRequest,
    ReplyResult,
    Transport,
)
from cm_toolkit.channels.facts import Budget, LinkHandling, OAuthProvider, QuotaRule, Starter
from cm_toolkit.channels.google_auth import GOOGLE_DAY_ZONE, GoogleSession, google_oauth
from cm_toolkit.channels.google_errors import GoogleErrors
from cm_toolkit.channels.youtube_text import (
    DESCRIPTION_MAX_BYTES,
    TITLE_MAX,
    description_character_problems,
    description_problems,
    title_problems,
)
from cm_toolkit.errors import Problem, Rejected
from cm_toolkit.workspace.models import Network

SCOPES = ("https://www.googleapis.com/auth/youtube",)
WATCH_URL = "https://www.youtube.com/watch?v={id}"
UPLOAD_CHUNK = 8 * 1024 * 1024  # a multiple of 256 KiB, as the resumable protocol requires
VIDEO_TYPES = (
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-msvideo",
    "video/mpeg",
    "video/x-matroska",
    "video/x-flv",
    "video/3gpp",
)


class YouTubeSettings(ChannelSettings):
    """``account.channel_id`` (``UC...``); options: ``privacy`` of videos and broadcasts,
    ``category_id`` of uploads (22 = People & Blogs, 27 = Education), ``made_for_kids``."""

    channel_id: str
    privacy: Literal["public", "unlisted", "private"] = "public"
    category_id: str = "22"
    made_for_kids: bool = False


class YouTubeChannel(Channel):
    network: ClassVar[Network] = "youtube"
    link_handling = LinkHandling.APPENDED

    @classmethod
    def compose(cls, post: RenderedPost) -> str:
        """The video's description: the post's, else its text; the link added when missing."""
        return cls.description_of(post)

    @classmethod
    def plan_problems(cls, post: RenderedPost) -> list[PostProblem]:
        # the description's length is the text limit's check
        fix = "shorten the title option; remove < and >"
        found = [PostProblem(PostPart.TITLE, "title", m, fix)
                 for m in title_problems(cls.title_of(post))]
        found += [PostProblem(PostPart.DESCRIPTION, "description", m,
                              "remove < and > from the description")
                  for m in description_character_problems(cls.description_of(post))]
        if not post.media:
            found.append(PostProblem(PostPart.POST, "no-video",
                                     "a YouTube post is a video upload, and this post has no video",
                                     "add the video file to the post's media"))
        return found

    @classmethod
    def live_problems(cls, title: str, description: str) -> list[PostProblem]:
        found = [PostProblem(PostPart.TITLE, "title", m, "shorten the session's title")
                 for m in title_problems(title)]
        return found + [PostProblem(PostPart.DESCRIPTION, "description", m,
                                    "shorten the session's description; remove < and >")
                        for m in description_problems(description)]
    emulators = ("cm_toolkit.sandbox.google.youtube:YouTubeEmulator", "cm_toolkit.sandbox.google.oauth:GoogleOAuthEmulator")
    # 10,000 units a day, 50 per insert/bind/transition; a live setup costs ~150
    budget: ClassVar[Budget | None] = Budget(60, timedelta(days=1), margin=4)
    # Per Google Cloud project (the channels naming the same client_id), the day ending at
    # midnight in Los Angeles. A live setup is what ``schedule_live`` calls:
    # liveBroadcasts.list (1, looking for a broadcast of an earlier attempt) +
    # liveBroadcasts.insert + liveStreams.insert + liveBroadcasts.bind (50 each) = 151 units.
    # A post is a videos.insert upload, counted in its own bucket (no units).
    quota_rules: ClassVar[tuple[QuotaRule, ...]] = (
        QuotaRule("youtube_units_per_day", 10_000, "units", "app", "YouTube Data API quota",
                  costs={"live_setup": 1 + 50 + 50 + 50}, day_zone=GOOGLE_DAY_ZONE),
        QuotaRule("youtube_uploads_per_day", 100, "uploads", "app",
                  "videos.insert, its own bucket", costs={"post": 1}, day_zone=GOOGLE_DAY_ZONE),
    )
    oauth: ClassVar[OAuthProvider | None] = google_oauth(
        "youtube", "https://www.googleapis.com/auth/youtube")
    display_name: ClassVar[str] = "YouTube (live broadcasts and replays)"
    aliases: ClassVar[tuple[str, ...]] = ("yt",)
    starter: ClassVar[Starter | None] = Starter(
        "YouTube", {"channel_id": "UC{hex:22}"},
        secrets={"client_id": "CM_GOOGLE_CLIENT_ID", "client_secret": "CM_GOOGLE_CLIENT_SECRET",
                 "refresh_token": "CM_YOUTUBE_REFRESH_TOKEN"},
    )
    limits: ClassVar[Limits] = Limits(
        text_max=DESCRIPTION_MAX_BYTES, text_unit="bytes",
        title_max=TITLE_MAX,
        media_max=1,
        media_bytes_max=256 * 1024**3,
        media_types=VIDEO_TYPES,
    )
    # No TEXT: YouTube has no API for text posts; a "post" here is a video upload.
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.VIDEO,
            Capability.DELETE,
            Capability.FOLLOWERS,
            Capability.ENGAGEMENT,
            Capability.LIVE,
            Capability.CONVERSATIONS,
        }
    )
    conversation_facts: ClassVar[ConversationFacts | None] = youtube_inbox.FACTS
    settings_model: ClassVar[type[ChannelSettings]] = YouTubeSettings
    secret_names: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token")
    live_link_placeholder: ClassVar[str | None] = WATCH_URL.format(id="X" * 11)  # 11-char ids
    live_link_public: ClassVar[bool] = True  # a watch page: anyone can open it

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        credentials: Credentials,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(channel_id, settings, credentials, transport)
        assert isinstance(settings, YouTubeSettings)
        self.youtube_settings = settings
        self.session = GoogleSession(credentials, self.transport, SCOPES)
        self.errors = GoogleErrors("youtube", channel_id)

    @classmethod
    def text_length(cls, text: str) -> int:
        return len(text.encode("utf-8"))

    # -- the API ---------------------------------------------------------------------------

    def _api(self) -> Any:
        with self.errors.call("refreshing the access token", creates=False):
            self.session.ensure_token()
        return self.session.service("youtube", "v3")

    def _run(self, request: Any, what: str, *, creates: bool = False) -> Any:
        with self.errors.call(what, creates=creates):
            try:
                return request.execute()
            finally:
                self.session.persist()

    # -- posts -----------------------------------------------------------------------------

    @staticmethod
    def title_of(post: RenderedPost) -> str:
        if post.title:
            return post.title
        first = post.text.strip().splitlines()[0] if post.text.strip() else ""
        return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"

    @staticmethod
    def description_of(post: RenderedPost) -> str:
        text = post.description if post.description is not None else post.text
        if post.link and post.link not in text:
            text = f"{text}\n\n{post.link}" if text else post.link
        return text

    def validate(self, post: RenderedPost) -> list[Problem]:
        def problem(message: str, fix: str) -> Problem:
            return Problem(file=self.channel_id, line=None, column=None, message=message, fix=fix)

        problems = [
            problem(text, "shorten the title and remove < and >")
            for text in title_problems(self.title_of(post))
        ]
        problems += [
            problem(text, "shorten the description and remove < and >")
            for text in description_problems(self.description_of(post))
        ]
        if not post.media:
            problems.append(
                problem(
                    "a YouTube post is a video upload, and this post has no video",
                    "add the replay's video file to the post's media",
                )
            )
        if len(post.media) > 1:
            problems.append(
                problem(
                    f"YouTube takes one video per post, this post has {len(post.media)} media",
                    "keep one video in the post's media",
                )
            )
        for media in post.media[:1]:
            if not media.mime_type.startswith("video/"):
                problems.append(
                    problem(
                        f"{media.path.name} is {media.mime_type}, not a video",
                        "give a video file (mp4, mov, webm...)",
                    )
                )
            if not Path(media.path).is_file():
                problems.append(problem(f"video file {media.path} does not exist", "fix the path"))
        return problems

    def publish(self, post: RenderedPost) -> PublishResult:
        Rejected.raise_for(self.validate(post), network="youtube")
        settings = self.youtube_settings
        body = {
            "snippet": {
                "title": self.title_of(post),
                "description": self.description_of(post),
                "categoryId": settings.category_id,
            },
            "status": {
                "privacyStatus": settings.privacy,
                "selfDeclaredMadeForKids": settings.made_for_kids,
            },
        }
        media = post.media[0]
        api = self._api()
        with media.open() as stream:
            upload = MediaIoBaseUpload(
                stream, mimetype=media.mime_type, chunksize=UPLOAD_CHUNK, resumable=True
            )
            request = api.videos().insert(part="snippet,status", body=body, media_body=upload)
            video = None
            with self.errors.call("uploading the video", creates=True):
                try:
                    while video is None:
                        _, video = request.next_chunk()
                finally:
                    self.session.persist()
        return PublishResult(
            remote_id=video["id"],
            url=WATCH_URL.format(id=video["id"]),
            extra={"privacy": video.get("status", {}).get("privacyStatus", settings.privacy)},
        )

    def delete(self, remote_id: str) -> None:
        """Delete a video (or a broadcast, which is a video). Already gone counts as done."""
        api = self._api()
        try:
            self._run(api.videos().delete(id=remote_id), "deleting the video", creates=False)
        except Rejected as exc:
            if exc.info.code != "videoNotFound":
                raise

    # -- audience --------------------------------------------------------------------------

    def _own_channel(self, part: str) -> dict[str, Any]:
        answer = self._run(self._api().channels().list(part=part, mine=True), "reading the channel")
        items = answer.get("items") or []
        if not items:
            raise Rejected(
                "youtube: the authorised Google account has no YouTube channel",
                network="youtube",
                fix=f"run `cm auth {self.channel_id}` with the channel's Google account",
            )
        channel: dict[str, Any] = items[0]
        if channel.get("id") != self.youtube_settings.channel_id:
            raise Rejected(
                f"youtube: the authorized Google account owns channel {channel.get('id')}, but "
                f"channels/{self.channel_id}.yaml names {self.youtube_settings.channel_id}",
                network="youtube",
                fix=f"put {channel.get('id')} under account: channel_id if that is your channel; "
                f"otherwise run `cm auth {self.channel_id}` with the Google account that owns "
                f"{self.youtube_settings.channel_id}",
            )
        return channel

    def followers(self) -> int:
        statistics = self._own_channel("statistics").get("statistics", {})
        return int(statistics.get("subscriberCount", 0))

    def engagement(self, remote_ids: list[str]) -> list[Engagement]:
        found: list[Engagement] = []
        for start in range(0, len(remote_ids), 50):  # videos.list takes 50 ids at most
            batch = remote_ids[start : start + 50]
            answer = self._run(
                self._api().videos().list(part="statistics", id=",".join(batch), maxResults=50),
                "reading video statistics",
            )
            for item in answer.get("items", []):
                stats = item.get("statistics", {})
                found.append(
                    Engagement(
                        remote_id=item["id"],
                        reactions=int(stats.get("likeCount", 0)),
                        comments=int(stats.get("commentCount", 0)),
                        views=int(stats.get("viewCount", 0)),
                    )
                )
        return found

    def check(self) -> str:
        snippet = self._own_channel("snippet").get("snippet", {})
        return f"YouTube channel {snippet.get('title', '?')} ({self.youtube_settings.channel_id})"

    # -- live ------------------------------------------------------------------------------

    @classmethod
    def live_request_body(
        cls, channel_id: str, settings: ChannelSettings, request: LiveSessionRequest
    ) -> dict[str, Any]:
        """The ``liveBroadcasts.insert`` body (a stream is then made and bound to it)."""
        assert isinstance(settings, YouTubeSettings)
        return {
            "snippet": {
                "title": request.title,
                "description": request.description,
                "scheduledStartTime": _rfc3339(request.start),
                "scheduledEndTime": _rfc3339(request.start + request.duration),
            },
            "status": {
                "privacyStatus": settings.privacy,
                "selfDeclaredMadeForKids": settings.made_for_kids,
            },
            "contentDetails": {
                "enableAutoStart": False,
                "enableAutoStop": True,
                "enableDvr": True,
                "recordFromStart": True,  # the replay exists once the session ends
            },
        }

    def schedule_live(self, request: LiveSessionRequest) -> LiveSessionResult:
        problems = [p.message for p in self.live_problems(request.title, request.description)]
        if problems:
            raise Rejected(
                "youtube: " + "; ".join(problems),
                network="youtube",
                fix="shorten the live session's title or description",
            )
        api = self._api()
        start = _rfc3339(request.start)
        broadcast = self._existing_broadcast(api, request.title, start)
        if broadcast is None:
            body = self.live_request_body(self.channel_id, self.youtube_settings, request)
            broadcast = self._run(
                api.liveBroadcasts().insert(part="snippet,status,contentDetails", body=body),
                "creating the live broadcast",
                creates=True,
            )
        stream_id = broadcast.get("contentDetails", {}).get("boundStreamId")
        if not stream_id:
            stream = self._run(
                api.liveStreams().insert(
                    part="snippet,cdn,contentDetails",
                    body={
                        "snippet": {"title": request.title},
                        "cdn": {
                            "ingestionType": "rtmp",
                            "resolution": "variable",
                            "frameRate": "variable",
                        },
                        "contentDetails": {"isReusable": False},
                    },
                ),
                "creating the live stream",
                creates=True,
            )
            stream_id = stream["id"]
            self._run(
                api.liveBroadcasts().bind(
                    part="id,contentDetails", id=broadcast["id"], streamId=stream_id
                ),
                "binding the stream to the broadcast",
            )
        return LiveSessionResult(
            remote_id=broadcast["id"],
            url=WATCH_URL.format(id=broadcast["id"]),
            # The stream key stays in YouTube Studio: it is a credential.
            extra={
                "broadcast_id": broadcast["id"],
                "stream_id": stream_id,
                # the inbox reads the session's chat with it while on air
                "live_chat_id": broadcast.get("snippet", {}).get("liveChatId"),
            },
        )

    def _existing_broadcast(self, api: Any, title: str, start: str) -> dict[str, Any] | None:
        """This session's broadcast made by an earlier attempt (same title and start), if any."""
        answer = self._run(
            api.liveBroadcasts().list(
                part="id,snippet,contentDetails", broadcastStatus="upcoming", maxResults=50
            ),
            "looking for the session's broadcast",
        )
        for item in answer.get("items", []):
            snippet = item.get("snippet", {})
            if snippet.get("title") == title and snippet.get("scheduledStartTime") == start:
                return dict(item)
        return None


    # -- the inbox (channels/youtube_inbox.py) ---------------------------------------------

    def conversations(self, query: ConversationQuery) -> ConversationPage:
        return youtube_inbox.read(self, query)

    def validate_reply(self, request: ReplyRequest) -> list[Problem]:
        return super().validate_reply(request) + youtube_inbox.reply_problems(self, request)

    def reply(self, request: ReplyRequest) -> ReplyResult:
        return youtube_inbox.send_reply(self, request)


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
