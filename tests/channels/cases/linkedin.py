"""LinkedIn's case for the cross-network contract suite."""

from __future__ import annotations

import json
from pathlib import Path

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.linkedin import LinkedInChannel, LinkedInSettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

ASSETS = Path(__file__).resolve().parents[3] / "assets"


def _sent_text(entry: JournalEntry) -> str:
    """The commentary as LinkedIn received it (in its escaped "little" format)."""
    return str(json.loads(entry.body)["commentary"])


def case(sandbox: Sandbox) -> ChannelCase:
    env = sandbox.env()
    credentials = MemoryCredentials(
        "linkedin-page",
        {
            "access_token": env["CM_LINKEDIN_ACCESS_TOKEN"],
            "refresh_token": env["CM_LINKEDIN_REFRESH_TOKEN"],
            "client_id": env["CM_LINKEDIN_CLIENT_ID"],
            "client_secret": env["CM_LINKEDIN_CLIENT_SECRET"],
        },
    )
    channel = LinkedInChannel(
        "linkedin-page",
        LinkedInSettings(organization="urn:li:organization:5515715"),
        credentials,
        sandbox.transport(),
        clock=sandbox.clock,  # 429 resets at the next midnight UTC of the sandbox's clock
    )
    return ChannelCase(
        network="linkedin",
        channel=channel,
        publish_path=r"/rest/posts",
        post=RenderedPost(
            text="Which habit makes a leader trusted? Tell us below",
            link="https://example.org/mooc/module-3",
            title="Module 3: trust",
        ),
        sent_text=_sent_text,
        media_post=RenderedPost(
            text="Two visuals from the course",
            media=(
                Media(ASSETS / "visuel-leadership.png", "image/png", "Leadership"),
                Media(ASSETS / "visuel-debat.png", "image/png", "Débat"),
            ),
        ),
        reply_path=r"/rest/socialActions/.+/comments",
    )
