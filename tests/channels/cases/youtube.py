"""The YouTube channel for the cross-network contract suite.

A YouTube "post" is a video upload: the case post carries a tiny video file, its text is the
video's description (what ``sent_text`` reads in the upload's metadata). YouTube accepts the
same video twice. It publishes subscriber counts rounded to three significant figures; the suite
compares exact simulated counts, so the case turns that rounding off.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.youtube import YouTubeChannel, YouTubeSettings
from cm_toolkit.sandbox.google.youtube import YouTubeEmulator
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase

CHANNEL_ID = "UCmanagerLeader20xxxxxxx"  # channels/youtube.yaml


def tiny_video(directory: Path) -> Path:
    """A few bytes with an MP4 header: enough for an upload (the sandbox does not decode)."""
    path = directory / "replay.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 8)
    return path


def _description(entry: JournalEntry) -> str:
    """The description of the upload's metadata (the resumable upload's first request)."""
    try:
        return str(json.loads(entry.body)["snippet"]["description"])
    except (ValueError, KeyError, TypeError):
        return ""


def case(sandbox: Sandbox) -> ChannelCase:
    env = sandbox.env()
    sandbox.emulator_of(YouTubeEmulator).round_subscribers = False
    channel = YouTubeChannel(
        "youtube",
        YouTubeSettings(channel_id=CHANNEL_ID),
        MemoryCredentials(
            "youtube",
            {
                "client_id": env["CM_GOOGLE_CLIENT_ID"],
                "client_secret": env["CM_GOOGLE_CLIENT_SECRET"],
                "refresh_token": env["CM_YOUTUBE_REFRESH_TOKEN"],
            },
        ),
        sandbox.transport(timeout=5),
    )
    video = tiny_video(Path(tempfile.mkdtemp(prefix="cm-youtube-case-")))
    return ChannelCase(
        network="youtube",
        channel=channel,
        publish_path=r"/upload/youtube/v3/videos",
        post=RenderedPost(
            text="Replay du live : « Manager à distance » & ses 5 rituels 🎯",
            title="Replay — Manager à distance",
            link="https://mooc.example.org/module-3?utm_source=youtube",
            media=(Media(video, "video/mp4"),),
        ),
        sent_text=_description,
        duplicate_rejected=False,  # YouTube accepts the same video twice
        extra={"channel_id": CHANNEL_ID},
        reply_path=r"/youtube/v3/(comments|liveChat/messages)",
    )
