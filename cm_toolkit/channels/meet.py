"""Google Meet through Google Calendar (API v3): a live session is a calendar event with a Meet link.

``schedule_live`` inserts an event (``conferenceDataVersion=1``, a ``hangoutsMeet`` create
request) in the channel's calendar and returns its ``hangoutLink``. When Google answers that the
conference is still ``pending``, the event is read again until the link is there.

The event id is derived from the channel and the session (base32hex, as Calendar requires for
client-chosen ids), so re-running the same session finds the event already made (409
``duplicate``) and returns it: a live session never gets two events.

Meet has no posts, followers or engagement: only ``LIVE`` is declared.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from cm_toolkit.channels.base import (
    Capability,
    Channel,
    ChannelSettings,
    Credentials,
    Limits,
    LiveSessionRequest,
    LiveSessionResult,
    PublishResult,
    RenderedPost,
    Transport,
)
from cm_toolkit.channels.facts import LinkHandling, OAuthProvider, Starter
from cm_toolkit.channels.google_auth import GoogleSession, google_oauth
from cm_toolkit.channels.google_errors import GoogleErrors
from cm_toolkit.errors import Problem, Rejected, TransientError
from cm_toolkit.workspace.models import Network

SCOPES = ("https://www.googleapis.com/auth/calendar.events",)
DESCRIPTION_MAX = 8192  # Calendar's event description limit (unconfirmed; Google documents none)
PENDING_CHECKS = (0.0, 0.5, 1.0, 2.0)  # seconds to wait before each read of a pending conference


class MeetSettings(ChannelSettings):
    """``account.calendar_id`` (``primary``: the authorised account's own calendar);
    options: ``attendees`` (emails invited), ``send_updates`` (who Google emails)."""

    calendar_id: str = "primary"
    attendees: tuple[str, ...] = ()
    send_updates: Literal["all", "externalOnly", "none"] = "none"


def event_id_for(channel_id: str, session_id: str) -> str:
    """A Calendar event id (base32hex: 0-9 a-v) that is the same for the same session."""
    digest = hashlib.sha256(f"cm-toolkit:{channel_id}:{session_id}".encode()).digest()[:20]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


class MeetChannel(Channel):
    network: ClassVar[Network] = "meet"
    link_handling = LinkHandling.NONE
    # Calendar and YouTube share www.googleapis.com and Google's OAuth hosts
    emulators = ("cm_toolkit.sandbox.google.calendar:CalendarEmulator", "cm_toolkit.sandbox.google.oauth:GoogleOAuthEmulator")
    oauth: ClassVar[OAuthProvider | None] = google_oauth(
        "meet", "https://www.googleapis.com/auth/calendar.events")
    display_name: ClassVar[str] = "Google Meet (through Google Calendar)"
    aliases: ClassVar[tuple[str, ...]] = ("hangouts", "google-meet", "google_meet", "googlemeet")
    starter: ClassVar[Starter | None] = Starter(
        "Google Meet", {"calendar_id": "primary"},
        secrets={"client_id": "CM_GOOGLE_CLIENT_ID", "client_secret": "CM_GOOGLE_CLIENT_SECRET",
                 "refresh_token": "CM_MEET_REFRESH_TOKEN"},
    )
    limits: ClassVar[Limits] = Limits(text_max=DESCRIPTION_MAX)
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LIVE})
    settings_model: ClassVar[type[ChannelSettings]] = MeetSettings
    secret_names: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "refresh_token")
    live_link_placeholder: ClassVar[str | None] = "https://meet.google.com/xxx-xxxx-xxx"  # hangoutLink

    def __init__(
        self,
        channel_id: str,
        settings: ChannelSettings,
        credentials: Credentials,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(channel_id, settings, credentials, transport)
        assert isinstance(settings, MeetSettings)
        self.meet_settings = settings
        self.session = GoogleSession(credentials, self.transport, SCOPES)
        self.errors = GoogleErrors("meet", channel_id)

    def _api(self) -> Any:
        with self.errors.call("refreshing the access token", creates=False):
            self.session.ensure_token()
        return self.session.service("calendar", "v3")

    def _run(self, request: Any, what: str, *, creates: bool = False) -> Any:
        with self.errors.call(what, creates=creates):
            try:
                return request.execute()
            finally:
                self.session.persist()

    def validate(self, post: RenderedPost) -> list[Problem]:
        """The text a Meet channel carries is its events' description."""
        if len(post.text) > DESCRIPTION_MAX:
            return [
                Problem(
                    file=self.channel_id,
                    line=None,
                    column=None,
                    message=f"the event description has {len(post.text)} characters, "
                    f"more than {DESCRIPTION_MAX}",
                    fix="shorten the live session's description",
                )
            ]
        return []

    def publish(self, post: RenderedPost) -> PublishResult:
        raise NotImplementedError("Google Meet has no posts: it only hosts live sessions")

    @classmethod
    def live_request_body(
        cls, channel_id: str, settings: ChannelSettings, request: LiveSessionRequest
    ) -> dict[str, Any]:
        """The ``events.insert`` body (``conferenceDataVersion=1``, in ``calendar_id``)."""
        assert isinstance(settings, MeetSettings)
        event_id = event_id_for(channel_id, request.session_id)
        body: dict[str, Any] = {
            "id": event_id,
            "summary": request.title,
            "description": request.description,
            "start": {"dateTime": _rfc3339(request.start), "timeZone": "UTC"},
            "end": {"dateTime": _rfc3339(request.start + request.duration), "timeZone": "UTC"},
            "conferenceData": {
                "createRequest": {
                    "requestId": event_id,
                    "conferenceSolutionKey": {"type": "hangoutsMeet"},
                }
            },
        }
        if settings.attendees:
            body["attendees"] = [{"email": email} for email in settings.attendees]
        return body

    def schedule_live(self, request: LiveSessionRequest) -> LiveSessionResult:
        api = self._api()
        settings = self.meet_settings
        event_id = event_id_for(self.channel_id, request.session_id)
        body = self.live_request_body(self.channel_id, settings, request)
        insert = api.events().insert(
            calendarId=settings.calendar_id,
            body=body,
            conferenceDataVersion=1,
            sendUpdates=settings.send_updates,
        )
        try:
            event = self._run(insert, "creating the calendar event", creates=True)
        except Rejected as exc:
            if exc.info.status != 409:
                raise
            event = self._get(api, event_id)  # made by an earlier attempt: the same session
        for wait in PENDING_CHECKS:
            if event.get("hangoutLink"):
                break
            status = event.get("conferenceData", {}).get("createRequest", {}).get("status", {})
            if status.get("statusCode") == "failure":
                raise Rejected(
                    "meet: Google could not create the Meet conference",
                    network="meet",
                    network_message="conferenceData.createRequest.status.statusCode=failure",
                    fix="check that Google Meet is enabled for the account",
                )
            time.sleep(wait)
            event = self._get(api, event_id)
        if not event.get("hangoutLink"):
            raise TransientError(
                "meet: the Meet link of the event is still pending", network="meet"
            )
        return LiveSessionResult(
            remote_id=event["id"],
            url=event["hangoutLink"],
            extra={
                "calendar_id": settings.calendar_id,
                "event_link": event.get("htmlLink", ""),
                "conference_id": event.get("conferenceData", {}).get("conferenceId", ""),
            },
        )

    def _get(self, api: Any, event_id: str) -> dict[str, Any]:
        event: dict[str, Any] = self._run(
            api.events().get(calendarId=self.meet_settings.calendar_id, eventId=event_id),
            "reading the calendar event",
        )
        return event

    def delete(self, remote_id: str) -> None:
        """Cancel a session's event (Google emails attendees per ``send_updates``)."""
        api = self._api()
        try:
            self._run(
                api.events().delete(
                    calendarId=self.meet_settings.calendar_id,
                    eventId=remote_id,
                    sendUpdates=self.meet_settings.send_updates,
                ),
                "cancelling the calendar event",
            )
        except Rejected as exc:
            if exc.info.status not in (404, 410):  # already gone
                raise

    def check(self) -> str:
        """One ``events.list`` read: allowed by the ``calendar.events`` scope alone."""
        answer = self._run(
            self._api().events().list(calendarId=self.meet_settings.calendar_id, maxResults=1),
            "reading the calendar",
        )
        return (
            f"Google Calendar {answer.get('summary', self.meet_settings.calendar_id)} "
            f"({answer.get('timeZone', '?')})"
        )


def _rfc3339(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
