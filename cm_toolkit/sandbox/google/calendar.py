"""Google Calendar API v3 (network ``meet``): events with a Google Meet link.

``POST /calendar/v3/calendars/{calendarId}/events?conferenceDataVersion=1`` with
``conferenceData.createRequest{requestId, conferenceSolutionKey{type: "hangoutsMeet"}}`` creates
the event and its Meet conference: ``hangoutLink`` ``https://meet.google.com/abc-defg-hij`` and
``conferenceData.createRequest.status.statusCode`` ``success``. A fraction of creations
(``pending_fraction``, 0 by default; drawn from the seed and the requestId) first answer
``pending`` without a link; the next ``events.get`` finds the conference ready. Without
``conferenceDataVersion=1``, conferenceData is ignored, as on Google.

Also: ``events.get``/``list``/``delete``, ``calendars.get``, ``calendarList.list``.
``calendarId=primary`` is the token owner's calendar. A client-chosen event ``id`` (base32hex,
5 to 1024 characters) makes creation idempotent: the same id again is 409 ``duplicate``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import RateLimit, SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.google.base import ACCESS_TOKEN_LIFETIME, GoogleApiEmulator, google_error
from cm_toolkit.sandbox.google.discovery import discovery, parse_datetime

OWNER = "equipe-pedagogique@managerleader20.example"
ACCESS_TOKEN = f"meet-sandbox-access-{OWNER}"
REFRESH_TOKEN = f"meet-sandbox-refresh-{OWNER}"
V3 = r"/calendar/v3"
CAL = V3 + r"/calendars/(?P<calendar_id>[^/]+)"
PER_MINUTE = RateLimit(600, timedelta(minutes=1))  # Calendar's default per-user quota
_EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
_MEET_ICON = (
    "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/"
    "logo_meet_2020q4_color_2x_web_512dp.png"
)


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class CalendarInfo:
    id: str
    owner: str
    summary: str
    time_zone: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)  # event ids whose conference is pending

    def resource(self) -> dict[str, Any]:
        return {
            "kind": "calendar#calendar",
            "etag": f'"{_etag(self.id)}"',
            "id": self.id,
            "summary": self.summary,
            "timeZone": self.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }


def _draw(*parts: object) -> float:
    """A number in [0, 1) from the parts: the same seed and request give the same draw."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _etag(*parts: object) -> str:
    return str(int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12], 16))


def _not_found() -> Exception:
    return google_error(404, "Not Found", reason="notFound")


class CalendarEmulator(GoogleApiEmulator):
    """Calendar v3 on www.googleapis.com; its tokens are the ``meet`` network's."""

    network = "meet"
    hosts = ("www.googleapis.com",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.doc = discovery("calendar.v3.json")
        self.calendars: dict[str, CalendarInfo] = {}
        self.pending_fraction = 0.0
        super().__init__(*args, **kwargs)

    def seed_accounts(self) -> None:
        self.calendars[OWNER] = CalendarInfo(
            OWNER, OWNER, "Du Manager au Leader 2.0 — équipe pédagogique", "Europe/Paris"
        )
        self.ctx.tokens.add(
            Token(
                value=ACCESS_TOKEN,
                network="meet",
                account_id=OWNER,
                expires_at=self.ctx.now() + ACCESS_TOKEN_LIFETIME,
                refresh_token=REFRESH_TOKEN,
            )
        )

    def provision(self, account: dict[str, Any]) -> dict[str, str]:
        """A calendar of the sandbox's owner (``primary`` is already there)."""
        calendar_id = str(account.get("calendar_id") or "primary")
        if calendar_id != "primary" and calendar_id not in self.calendars:
            self.calendars[calendar_id] = CalendarInfo(calendar_id, OWNER,
                                                       f"Calendar {calendar_id}", "UTC")
        return {"refresh_token": REFRESH_TOKEN}

    def environment(self) -> dict[str, str]:
        return {"CM_MEET_REFRESH_TOKEN": REFRESH_TOKEN}

    def state(self) -> dict[str, Any]:
        return {
            cid: {"summary": c.summary, "events": list(c.events.values())}
            for cid, c in self.calendars.items()
        }

    def _calendar(self, token: Token, calendar_id: str) -> CalendarInfo:
        wanted = token.account_id if calendar_id == "primary" else calendar_id
        found = self.calendars.get(wanted)
        if found is None or found.owner != token.account_id:
            raise _not_found()
        return found

    # -- calendars ---------------------------------------------------------------------------

    @route("GET", CAL, rate_limit=PER_MINUTE)
    def calendars_get(
        self, request: SandboxRequest, token: Token, calendar_id: str
    ) -> SandboxResponse:
        self.doc.check_query(request, "calendar.calendars.get")
        return SandboxResponse.json(200, self._calendar(token, calendar_id).resource())

    @route("GET", V3 + r"/users/me/calendarList", rate_limit=PER_MINUTE)
    def calendar_list(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        self.doc.check_query(request, "calendar.calendarList.list")
        items = []
        for calendar in self.calendars.values():
            if calendar.owner != token.account_id:
                continue
            entry = {**calendar.resource(), "kind": "calendar#calendarListEntry"}
            entry.update(
                {
                    "colorId": "14",
                    "backgroundColor": "#9fe1e7",
                    "foregroundColor": "#000000",
                    "selected": True,
                    "accessRole": "owner",
                    "defaultReminders": [{"method": "popup", "minutes": 30}],
                    "primary": calendar.id == token.account_id,
                }
            )
            items.append(entry)
        body = {
            "kind": "calendar#calendarList",
            "etag": f'"{_etag(*[i["id"] for i in items])}"',
            "nextSyncToken": f"sandbox-sync-{len(items)}",
            "items": items,
        }
        return SandboxResponse.json(200, body)

    # -- events ------------------------------------------------------------------------------

    @route("POST", CAL + r"/events", creates=True, rate_limit=PER_MINUTE)
    def events_insert(
        self, request: SandboxRequest, token: Token, calendar_id: str
    ) -> SandboxResponse:
        method = "calendar.events.insert"
        query = self.doc.check_query(request, method)
        calendar = self._calendar(token, calendar_id)
        body = self.json_body(request)
        self.doc.check_body(body, "Event", method)
        start, _ = self._times(body)
        event_id = body.get("id")
        if event_id is not None:
            if not _EVENT_ID.fullmatch(event_id):
                raise google_error(400, "Invalid resource id value.", reason="invalid")
            if event_id in calendar.events:
                raise google_error(
                    409, "The requested identifier already exists.", reason="duplicate"
                )
        else:
            event_id = _etag(self.ctx.seed, "event", self.ctx.next_id("calendar-event"))[:10]
            event_id = "".join("abcdefghijklmnopqrstuv"[int(c)] for c in event_id)
        conference = None
        if query.get("conferenceDataVersion") == "1" and body.get("conferenceData"):
            conference = self._conference_request(body["conferenceData"])
        now = self.ctx.now()
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": _stamp(now),
            "updated": _stamp(now),
            "summary": body.get("summary", ""),
            "creator": {"email": token.account_id, "self": True},
            "organizer": {"email": calendar.id, "self": True},
            "start": body["start"],
            "end": body["end"],
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": body.get("reminders", {"useDefault": True}),
            "eventType": "default",
        }
        for name in ("description", "location", "visibility", "transparency"):
            if name in body:
                event[name] = body[name]
        if body.get("attendees"):
            event["attendees"] = [
                {"email": a.get("email", ""), "responseStatus": "needsAction", **a}
                for a in body["attendees"]
            ]
        if conference is not None:
            if _draw(self.ctx.seed, conference["requestId"], "pending") < self.pending_fraction:
                calendar.pending.add(event_id)
                event["conferenceData"] = {
                    "createRequest": {**conference, "status": {"statusCode": "pending"}}
                }
            else:
                self._attach_meet(event, conference)
        event["etag"] = f'"{_etag(event_id, now.isoformat())}"'
        calendar.events[event_id] = event
        self.ctx.audience.published(Publication("meet", calendar.id, event_id, "live", start))
        return SandboxResponse.json(200, event)

    def _times(self, body: dict[str, Any]) -> tuple[datetime, datetime]:
        instants = []
        for name in ("start", "end"):
            when = body[name]
            if when.get("dateTime"):
                instant = parse_datetime(when["dateTime"])
                assert instant is not None  # check_body verified the format
                if instant.tzinfo is None:
                    if not when.get("timeZone"):
                        raise google_error(
                            400, f"Missing time zone definition for {name} time.", reason="required"
                        )
                    from zoneinfo import ZoneInfo

                    instant = instant.replace(tzinfo=ZoneInfo(when["timeZone"]))
            elif when.get("date"):
                instant = datetime.fromisoformat(when["date"]).replace(tzinfo=UTC)
            else:
                raise google_error(400, f"Missing {name} time.", reason="required")
            instants.append(instant)
        if instants[1] < instants[0]:
            raise google_error(400, "The specified time range is empty.", reason="timeRangeEmpty")
        return instants[0], instants[1]

    @staticmethod
    def _conference_request(data: dict[str, Any]) -> dict[str, Any] | None:
        create = data.get("createRequest")
        if not create:
            return None
        if not create.get("requestId"):
            raise google_error(400, "Invalid conference create request.", reason="invalid")
        kind = create.get("conferenceSolutionKey", {}).get("type")
        if kind != "hangoutsMeet":
            raise google_error(400, "Invalid conference type value.", reason="invalid")
        return {"requestId": create["requestId"], "conferenceSolutionKey": {"type": kind}}

    def _attach_meet(self, event: dict[str, Any], conference: dict[str, Any]) -> None:
        letters = "abcdefghijklmnopqrstuvwxyz"
        pick = [
            letters[int(_draw(self.ctx.seed, conference["requestId"], event["id"], i) * 26)]
            for i in range(10)
        ]
        code = f"{''.join(pick[:3])}-{''.join(pick[3:7])}-{''.join(pick[7:])}"
        link = f"https://meet.google.com/{code}"
        event["hangoutLink"] = link
        event["conferenceData"] = {
            "createRequest": {**conference, "status": {"statusCode": "success"}},
            "entryPoints": [
                {"entryPointType": "video", "uri": link, "label": f"meet.google.com/{code}"}
            ],
            "conferenceSolution": {
                "key": {"type": "hangoutsMeet"},
                "name": "Google Meet",
                "iconUri": _MEET_ICON,
            },
            "conferenceId": code,
        }

    def _event(self, calendar: CalendarInfo, event_id: str) -> dict[str, Any]:
        event = calendar.events.get(event_id)
        if event is None:
            raise _not_found()
        if event_id in calendar.pending:  # the conference is ready by the time it is asked for
            calendar.pending.discard(event_id)
            conference = event["conferenceData"]["createRequest"]
            self._attach_meet(event, {k: v for k, v in conference.items() if k != "status"})
        return event

    @route("GET", CAL + r"/events/(?P<event_id>[^/]+)", rate_limit=PER_MINUTE)
    def events_get(
        self, request: SandboxRequest, token: Token, calendar_id: str, event_id: str
    ) -> SandboxResponse:
        self.doc.check_query(request, "calendar.events.get")
        return SandboxResponse.json(200, self._event(self._calendar(token, calendar_id), event_id))

    @route("DELETE", CAL + r"/events/(?P<event_id>[^/]+)", rate_limit=PER_MINUTE)
    def events_delete(
        self, request: SandboxRequest, token: Token, calendar_id: str, event_id: str
    ) -> SandboxResponse:
        self.doc.check_query(request, "calendar.events.delete")
        event = self._event(self._calendar(token, calendar_id), event_id)
        if event["status"] == "cancelled":
            raise google_error(410, "Resource has been deleted", reason="deleted")
        event["status"] = "cancelled"
        event["updated"] = _stamp(self.ctx.now())
        self.ctx.audience.unpublished("meet", event_id)
        return SandboxResponse(204, b"")

    @route("GET", CAL + r"/events", rate_limit=PER_MINUTE)
    def events_list(
        self, request: SandboxRequest, token: Token, calendar_id: str
    ) -> SandboxResponse:
        query = self.doc.check_query(request, "calendar.events.list")
        calendar = self._calendar(token, calendar_id)
        show_deleted = query.get("showDeleted") == "true"
        low = parse_datetime(query["timeMin"]) if query.get("timeMin") else None
        high = parse_datetime(query["timeMax"]) if query.get("timeMax") else None
        items = []
        for event_id in list(calendar.events):
            event = self._event(calendar, event_id)
            if event["status"] == "cancelled" and not show_deleted:
                continue
            start, end = self._times(event)
            if (low and end <= low) or (high and start >= high):
                continue
            items.append(event)
        body = {
            "kind": "calendar#events",
            "etag": f'"{_etag(*[e["etag"] for e in items])}"',
            "summary": calendar.summary,
            "updated": _stamp(self.ctx.now()),
            "timeZone": calendar.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 30}],
            "items": items[: int(query.get("maxResults", "250"))],
        }
        return SandboxResponse.json(200, body)
