"""Mastodon's case for the cross-network contract suite."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.mastodon import MastodonChannel, MastodonSettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

ASSETS = Path(__file__).resolve().parents[3] / "assets"
THREAD_TEXT = " ".join(
    f"Retour {n} sur le module « Manager à distance » : merci pour vos critiques, on les lit "
    "toutes et on en tient compte." for n in range(1, 12)
)


def _sent_text(entry: JournalEntry) -> str:
    return parse_qs(entry.body)["status"][0]


def case(sandbox: Sandbox) -> ChannelCase:
    token = sandbox.env()["CM_MASTODON_ACCESS_TOKEN"]
    channel = MastodonChannel(
        "mastodon-mooc",
        MastodonSettings(instance="social.univ-campus.fr", username="ManagerLeader20"),
        MemoryCredentials("mastodon-mooc", {"access_token": token}),
        sandbox.transport(timeout=5),
    )
    image = ASSETS / "visuel-leadership.png"
    return ChannelCase(
        network="mastodon",
        channel=channel,
        publish_path=r"/api/v1/statuses",
        post=RenderedPost(
            text="Nouvel article : « Manager à distance » & ses 5 rituels 🎯",
            link="https://mooc-leader20.fr/blog/manager-a-distance?utm_source=mastodon",
        ),
        sent_text=_sent_text,
        media_post=RenderedPost(
            text="Le visuel du module 2 🎨",
            media=(Media(image, "image/png", "Un escalier : chaque marche, un module"),
                   Media(image, "image/png", "Le même visuel, en second")),
        ),
        thread_post=RenderedPost(text=THREAD_TEXT, thread=True),
        duplicate_rejected=False,  # Mastodon takes the same text twice
        settles_lost_creates=True,
        reply_path=r"/api/v1/statuses",
    )
