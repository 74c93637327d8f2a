"""YouTube Live: ``liveBroadcasts`` (insert, list, bind, transition, delete) and ``liveStreams``.

Lifecycle: ``created`` -> (bind a stream) ``ready`` -> ``testing`` -> ``live`` -> ``complete``;
``ready`` -> ``live`` directly only when the monitor stream is disabled. Asking for the current
state is 403 ``redundantTransition``, any other jump 403 ``invalidTransition``; testing or going
live without a bound stream is 403 ``errorStreamInactive``. The sandbox has no video ingest: a
bound stream counts as active.

The audience hears of a broadcast when it is created, dated at its scheduled start (so the
follower bump of a live session happens when the session does, and a deleted broadcast takes it
back).
"""

from __future__ import annotations

from typing import Any

from cm_toolkit.sandbox.audience import Publication
from cm_toolkit.sandbox.core import SandboxRequest, SandboxResponse, Token, route
from cm_toolkit.sandbox.google.base import google_error
from cm_toolkit.sandbox.google.discovery import parse_datetime
from cm_toolkit.sandbox.google.youtube_base import V3, YouTubeBase
from cm_toolkit.sandbox.google.youtube_state import (
    TRANSITIONS,
    Broadcast,
    LifeCycle,
    Stream,
    Video,
)

_BROADCAST_DEFAULTS: dict[str, Any] = {
    "enableAutoStart": False,
    "enableAutoStop": False,
    "enableClosedCaptions": False,
    "closedCaptionsType": "closedCaptionsDisabled",
    "enableDvr": True,
    "enableEmbed": True,
    "recordFromStart": True,
    "startWithSlate": False,
    "enableLowLatency": False,
    "latencyPreference": "normal",
    "projection": "rectangular",
    "monitorStream": {"enableMonitorStream": True, "broadcastStreamDelayMs": 0},
}


def _broadcast_not_found() -> Exception:
    return google_error(
        404,
        "Broadcast not found",
        reason="liveBroadcastNotFound",
        domain="youtube.liveBroadcast",
    )


def _live_error(reason: str, message: str) -> Exception:
    return google_error(403, message, reason=reason, domain="youtube.liveBroadcast")


class LiveRoutes(YouTubeBase):
    """The live-streaming half of the YouTube emulator."""

    def _own_broadcast(self, token: Token, broadcast_id: str) -> Broadcast:
        broadcast = self.store.broadcasts.get(broadcast_id)
        if broadcast is None or broadcast.channel_id != token.account_id:
            raise _broadcast_not_found()
        return broadcast

    @route("POST", V3 + "/liveBroadcasts", creates=True)
    def broadcasts_insert(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveBroadcasts.insert"
        account = self.account(token)

        def check() -> tuple[list[str], dict[str, Any]]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "LiveBroadcast")
            body = self.json_body(request)
            self.doc.check_body(body, "LiveBroadcast", method)
            self.check_text(body["snippet"], "youtube.liveBroadcast")
            start = parse_datetime(body["snippet"]["scheduledStartTime"])
            end_text = body["snippet"].get("scheduledEndTime")
            end = parse_datetime(end_text) if end_text else None
            if start is not None and end is not None and end <= start:
                raise google_error(
                    400,
                    "Scheduled end time must be after the scheduled start time.",
                    reason="invalidScheduledEndTime",
                    domain="youtube.liveBroadcast",
                )
            return parts, body

        parts, body = self.metered(method, check)
        snippet = body["snippet"]
        start = parse_datetime(snippet["scheduledStartTime"])
        assert start is not None
        end_text = snippet.get("scheduledEndTime")
        details = {**_BROADCAST_DEFAULTS, **body.get("contentDetails", {})}
        details["monitorStream"] = {
            **_BROADCAST_DEFAULTS["monitorStream"],
            **body.get("contentDetails", {}).get("monitorStream", {}),
        }
        now = self.ctx.now()
        broadcast = Broadcast(
            id=self.new_video_id(),
            channel_id=account.channel_id,
            title=snippet["title"],
            description=snippet.get("description", ""),
            scheduled_start=start,
            scheduled_end=parse_datetime(end_text) if end_text else None,
            privacy=body["status"]["privacyStatus"],
            created_at=now,
            content_details=details,
        )
        self.store.broadcasts[broadcast.id] = broadcast
        self.store.videos[broadcast.id] = Video(
            id=broadcast.id,
            channel_id=account.channel_id,
            channel_title=account.title,
            title=broadcast.title,
            description=broadcast.description,
            privacy=broadcast.privacy,
            published_at=now,
            live=broadcast,
        )
        self.ctx.audience.published(
            Publication("youtube", account.channel_id, broadcast.id, "live", start)
        )
        return SandboxResponse.json(200, broadcast.resource(parts))

    @route("GET", V3 + "/liveBroadcasts")
    def broadcasts_list(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveBroadcasts.list"

        def check() -> tuple[list[str], dict[str, str]]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "LiveBroadcast")
            self.one_filter(query, ("id", "mine", "broadcastStatus"))
            return parts, query

        parts, query = self.metered(method, check)
        own = [b for b in self.store.broadcasts.values() if b.channel_id == token.account_id]
        if query.get("id"):
            wanted = query["id"].split(",")
            own = [b for b in own if b.id in wanted]
        status = query.get("broadcastStatus", "all")
        keep = {
            "active": {LifeCycle.LIVE},
            "upcoming": {LifeCycle.CREATED, LifeCycle.READY, LifeCycle.TESTING},
            "completed": {LifeCycle.COMPLETE},
        }.get(status)
        if keep is not None:
            own = [b for b in own if b.life_cycle in keep]
        items = [b.resource(parts) for b in sorted(own, key=lambda b: b.scheduled_start)]
        per_page = int(query.get("maxResults", "5"))
        return SandboxResponse.json(
            200, self.list_response("youtube#liveBroadcastListResponse", items, per_page)
        )

    @route("POST", V3 + "/liveBroadcasts/bind")
    def broadcasts_bind(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveBroadcasts.bind"

        def check() -> tuple[list[str], Broadcast, Stream | None]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "LiveBroadcast")
            broadcast = self._own_broadcast(token, query["id"])
            stream = None
            if query.get("streamId"):
                stream = self.store.streams.get(query["streamId"])
                if stream is None or stream.channel_id != token.account_id:
                    raise google_error(
                        404,
                        "Stream not found",
                        reason="liveStreamNotFound",
                        domain="youtube.liveStream",
                    )
            if broadcast.life_cycle not in (LifeCycle.CREATED, LifeCycle.READY):
                raise _live_error(
                    "liveBroadcastBindingNotAllowed",
                    "The broadcast cannot be bound or unbound in its current state.",
                )
            return parts, broadcast, stream

        parts, broadcast, stream = self.metered(method, check)
        broadcast.bound_stream_id = stream.id if stream else None
        broadcast.bound_at = self.ctx.now() if stream else None
        broadcast.life_cycle = LifeCycle.READY if stream else LifeCycle.CREATED
        return SandboxResponse.json(200, broadcast.resource(parts))

    @route("POST", V3 + "/liveBroadcasts/transition")
    def broadcasts_transition(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveBroadcasts.transition"

        def check() -> tuple[list[str], Broadcast, LifeCycle]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "LiveBroadcast")
            if query["broadcastStatus"] == "statusUnspecified":
                raise google_error(
                    400,
                    "Invalid broadcast status",
                    reason="invalidBroadcastStatus",
                    domain="youtube.liveBroadcast",
                )
            broadcast = self._own_broadcast(token, query["id"])
            target = LifeCycle(query["broadcastStatus"])
            current = broadcast.life_cycle
            if current is target:
                raise _live_error("redundantTransition", "Redundant transition")
            if broadcast.bound_stream_id is None and target in (LifeCycle.TESTING, LifeCycle.LIVE):
                raise _live_error("errorStreamInactive", "Stream is inactive")
            monitored = broadcast.content_details["monitorStream"]["enableMonitorStream"]
            if current not in TRANSITIONS[target] or (
                current is LifeCycle.READY and target is LifeCycle.LIVE and monitored
            ):
                raise _live_error("invalidTransition", "Invalid transition")
            return parts, broadcast, target

        parts, broadcast, target = self.metered(method, check)
        broadcast.life_cycle = target
        if target is LifeCycle.LIVE:
            broadcast.actual_start = self.ctx.now()
        if target is LifeCycle.COMPLETE:
            broadcast.actual_end = self.ctx.now()
        return SandboxResponse.json(200, broadcast.resource(parts))

    @route("DELETE", V3 + "/liveBroadcasts")
    def broadcasts_delete(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveBroadcasts.delete"

        def check() -> Broadcast:
            query = self.doc.check_query(request, method)
            broadcast = self._own_broadcast(token, query["id"])
            if broadcast.life_cycle in (LifeCycle.LIVE, LifeCycle.TESTING):
                raise _live_error(
                    "liveBroadcastDeletionNotAllowed",
                    "The broadcast cannot be deleted while it is live or testing.",
                )
            return broadcast

        broadcast = self.metered(method, check)
        del self.store.broadcasts[broadcast.id]
        self.store.videos.pop(broadcast.id, None)
        self.ctx.audience.unpublished("youtube", broadcast.id)
        return SandboxResponse(204, b"")

    @route("POST", V3 + "/liveStreams", creates=True)
    def streams_insert(self, request: SandboxRequest, token: Token) -> SandboxResponse:
        method = "youtube.liveStreams.insert"
        account = self.account(token)

        def check() -> tuple[list[str], dict[str, Any]]:
            query = self.doc.check_query(request, method)
            parts = self.doc.check_part(query["part"], "LiveStream")
            body = self.json_body(request)
            self.doc.check_body(body, "LiveStream", method)
            self.check_text(body["snippet"], "youtube.liveStream")
            return parts, body

        parts, body = self.metered(method, check)
        now = self.ctx.now()
        number = self.ctx.next_id("youtube-stream")
        micros = int(now.timestamp() * 1_000_000) + number
        stream = Stream(
            id=f"{account.channel_id[2:]}{micros}",
            channel_id=account.channel_id,
            title=body["snippet"]["title"],
            description=body["snippet"].get("description", ""),
            cdn=body.get("cdn", {}),
            created_at=now,
        )
        self.store.streams[stream.id] = stream
        return SandboxResponse.json(200, stream.resource(parts))
