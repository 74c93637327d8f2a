"""Bluesky's case for the cross-network contract suite."""

from __future__ import annotations

from pathlib import Path

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.bluesky import BlueskyChannel, BlueskySettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

ASSETS = Path(__file__).resolve().parents[3] / "assets"
THREAD_TEXT = " ".join(
    f"Retour {n} sur le module « Manager à distance » : merci pour vos critiques 🙏, on les lit."
    for n in range(1, 9)
)


def _sent_text(entry: JournalEntry) -> str:
    return str(entry.json_body()["record"]["text"])


def case(sandbox: Sandbox) -> ChannelCase:
    env = sandbox.env()
    credentials = MemoryCredentials("bluesky-mooc",
                                    {"app_password": env["CM_BLUESKY_APP_PASSWORD"]})
    channel = BlueskyChannel(
        "bluesky-mooc",
        BlueskySettings(handle="mooc-leader20.bsky.social", langs=("fr",)),
        credentials,
        sandbox.transport(timeout=5),
    )
    image = ASSETS / "visuel-leadership.png"
    return ChannelCase(
        network="bluesky",
        channel=channel,
        publish_path=r"/xrpc/com\.atproto\.repo\.createRecord",
        post=RenderedPost(
            text="Nouvel article : « Manager à distance » & ses 5 rituels 🎯 #MOOC",
            link="https://mooc.example.org/articles/rituels?utm_source=bluesky",
            idempotency_key="cm-delivery-contract",
        ),
        sent_text=_sent_text,
        media_post=RenderedPost(
            text="Le visuel du module 2 🎨",
            media=(Media(image, "image/png", "Visuel du module 2"),
                   Media(image, "image/png", "Le même visuel, en second")),
            idempotency_key="cm-delivery-contract-media",
        ),
        thread_post=RenderedPost(text=THREAD_TEXT, thread=True,
                                 idempotency_key="cm-delivery-contract-thread"),
        duplicate_rejected=False,  # Bluesky takes the same text twice (a new record each time)
        delete_path=r"/xrpc/com\.atproto\.repo\.deleteRecord",
        settles_lost_creates=True,
        auth_fix="app password",
        reply_path=r"/xrpc/com\.atproto\.repo\.createRecord",
    )
