"""X's case for the cross-network contract suite."""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.x import XChannel, XSettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

ASSETS = Path(__file__).resolve().parents[3] / "assets"
THREAD_TEXT = " ".join(
    f"Retour {n} sur le module « Manager à distance » : merci pour vos critiques, on les lit toutes."
    for n in range(1, 9)
)


def _sent_text(entry: JournalEntry) -> str:
    return str(entry.json_body()["text"])


def case(sandbox: Sandbox) -> ChannelCase:
    env = sandbox.env()
    credentials = MemoryCredentials(
        "x-mooc",
        {
            "access_token": env["CM_X_ACCESS_TOKEN"],
            "refresh_token": env["CM_X_REFRESH_TOKEN"],
            "client_id": env["CM_X_CLIENT_ID"],
        },
    )
    channel = XChannel(
        "x-mooc",
        XSettings(username="ManagerLeader20"),
        credentials,
        sandbox.transport(timeout=5),
    )
    image = ASSETS / "visuel-leadership.png"
    return ChannelCase(
        network="x",
        channel=channel,
        publish_path=r"/2/tweets",
        post=RenderedPost(
            text="Nouvel article : « Manager à distance » & ses 5 rituels 🎯",
            link="https://mooc.example.org/articles/rituels?utm_source=x",
        ),
        sent_text=_sent_text,
        media_post=RenderedPost(
            text="Le visuel du module 2 🎨",
            media=(Media(image, "image/png", "Visuel du module 2"),),
        ),
        thread_post=RenderedPost(text=THREAD_TEXT, thread=True),  # explicit: threads option off
        duplicate_rejected=True,
        reply_path=r"/2/tweets",
    )
