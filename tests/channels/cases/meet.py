"""The Google Meet channel for the cross-network contract suite.

Meet only hosts live sessions (a Calendar event with a Meet link): it declares ``LIVE`` alone,
so the suite drives it through ``schedule_live`` (an event insert is its create call); its text
is an event description, which ``validate`` measures. tests/channels/test_meet.py covers the rest.
"""

from __future__ import annotations

import json

from cm_toolkit.channels.base import MemoryCredentials, RenderedPost
from cm_toolkit.channels.meet import MeetChannel, MeetSettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase


def _description(entry: JournalEntry) -> str:
    try:
        return str(json.loads(entry.body)["description"])
    except (ValueError, KeyError, TypeError):
        return ""


def case(sandbox: Sandbox) -> ChannelCase:
    env = sandbox.env()
    channel = MeetChannel(
        "meet",
        MeetSettings(calendar_id="primary"),
        MemoryCredentials(
            "meet",
            {
                "client_id": env["CM_GOOGLE_CLIENT_ID"],
                "client_secret": env["CM_GOOGLE_CLIENT_SECRET"],
                "refresh_token": env["CM_MEET_REFRESH_TOKEN"],
            },
        ),
        sandbox.transport(timeout=5),
    )
    return ChannelCase(
        network="meet",
        channel=channel,
        publish_path=r"/calendar/v3/calendars/[^/]+/events",
        post=RenderedPost(text="Live Q&A du module 3 : posez vos questions à l'équipe."),
        sent_text=_description,
        duplicate_rejected=False,
    )
