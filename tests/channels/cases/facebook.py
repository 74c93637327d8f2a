"""The Facebook Page channel for the cross-network contract suite."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.facebook import FacebookChannel, FacebookSettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

PAGE_ID = "104857600123456"  # channels/facebook-page.yaml
ASSETS = Path(__file__).resolve().parents[3] / "assets"


def _message(entry: JournalEntry) -> str:
    """The ``message`` form field of a Graph create call (urlencoded or multipart)."""
    form = parse_qs(entry.body, keep_blank_values=True)
    if "message" in form:
        return form["message"][0]
    marker = 'name="message"\r\n\r\n'
    start = entry.body.find(marker)
    if start < 0:
        return ""
    start += len(marker)
    return entry.body[start : entry.body.find("\r\n--", start)]


def case(sandbox: Sandbox) -> ChannelCase:
    env = sandbox.env()
    channel = FacebookChannel(
        "facebook-page",
        FacebookSettings(page_id=PAGE_ID),
        MemoryCredentials("facebook-page", {"page_token": env["CM_FACEBOOK_PAGE_TOKEN"]}),
        sandbox.transport(timeout=5),
        clock=sandbox.clock,
    )
    images = sorted(p for p in ASSETS.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    media_post = None
    if len(images) >= 2:
        media_post = RenderedPost(
            text="Les visuels du module 2 sont en ligne 🎨",
            media=tuple(Media(path, "image/png", f"Visuel {path.stem}") for path in images[:2]),
        )
    return ChannelCase(
        network="facebook",
        channel=channel,
        publish_path=rf"/v\d+\.\d+/{PAGE_ID}/feed",
        post=RenderedPost(
            text="Nouveau module : « Manager à distance » & ses 5 rituels 🎯",
            link="https://mooc.example.org/module-3?utm_source=facebook",
        ),
        sent_text=_message,
        media_post=media_post,
        thread_post=None,
        duplicate_rejected=True,
        reply_path=r"/v\d+\.\d+/[0-9_]+/comments",
    )
