"""What a live session's setup will create on each host: ``cm preview SESSION/live``.

The request is the one the publisher builds (``WorkspaceView.live_request``: the session's
title, description, start and duration) and the body is the adapter's own
(``Channel.live_request_body``: what ``schedule_live`` sends: the YouTube broadcast with its
privacy, the Calendar event with its Meet conference and attendees). No credentials, no call.
The problems are the plan check's (a YouTube title over 100 characters...), and the link is the
created one (from the ledger) or the host's placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.channels.registry import channel_class, settings_data
from cm_toolkit.errors import CmError, Problem
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.templates.context import SessionLinks
from cm_toolkit.templates.plan_check import live_setup_problems


@dataclass
class LiveSetupPreview:
    session_id: str
    channel_id: str
    network: str
    title: str
    description: str
    privacy: str | None  # YouTube's privacyStatus; None: the host has no such setting (Meet)
    due_at: datetime  # when it is created, in the workspace time zone
    start: datetime  # in the workspace time zone
    end: datetime
    link: str | None  # the created link, else the placeholder
    created: bool
    body: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session": self.session_id, "channel": self.channel_id, "network": self.network,
            "title": self.title, "description": self.description, "privacy": self.privacy,
            "created_at": self.due_at.isoformat(), "start": self.start.isoformat(),
            "end": self.end.isoformat(), "link": self.link, "link_created": self.created,
            "request_body": self.body, "problems": [p.as_dict() for p in self.problems],
        }


def preview_live_setup(
    view: WorkspaceView, delivery: PlannedDelivery, session_links: SessionLinks
) -> LiveSetupPreview:
    """The broadcast or event ``delivery`` (a ``SESSION/live`` setup) will create."""
    tz = ZoneInfo(view.workspace.schedules.timezone)
    request = view.live_request(delivery)
    network = delivery.network
    created = session_links.get(request.session_id, {}).get(network)
    problems = list(live_setup_problems(delivery))
    body: dict[str, Any] = {}
    placeholder: str | None = None
    channel_file = view.workspace.channels.get(delivery.channel_id)
    try:
        cls = channel_class(network)
        placeholder = cls.live_link_placeholder
        if channel_file is not None:
            settings = cls.settings_model.model_validate(
                settings_data(channel_file, view.workspace.root))
            body = cls.live_request_body(delivery.channel_id, settings, request)
    except (CmError, NotImplementedError) as error:
        problems.append(Problem(f"channels/{delivery.channel_id}.yaml", None, None,
                                f"cannot show what {network} will create: {error}",
                                "cm channels lists the networks that host live sessions"))
    start = request.start.astimezone(tz)
    return LiveSetupPreview(
        session_id=request.session_id, channel_id=delivery.channel_id, network=network,
        title=request.title, description=request.description,
        privacy=body.get("status", {}).get("privacyStatus"),
        due_at=delivery.due_at.astimezone(tz), start=start, end=start + request.duration,
        link=created or placeholder, created=created is not None, body=body,
        problems=problems,
    )
