"""The YouTube adapter's test set-up, shared by its publishing and inbox tests: a sandbox on a
stepped clock, the sandbox's OAuth secrets, and the adapter built on its transport. Import the
fixtures in a test module to use them: they are named ``clock``, ``sandbox``, ``credentials`` and
``channel`` there (``name=``), so that tests' parameters do not shadow an imported name."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cm_toolkit.channels.base import MemoryCredentials
from cm_toolkit.channels.youtube import YouTubeChannel, YouTubeSettings
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.youtube import CHANNEL_ID
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2027, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(name="clock")
def youtube_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(name="sandbox")
def youtube_sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=9, clock=clock, epoch=START).running() as running:
        yield running


@pytest.fixture(name="credentials")
def youtube_credentials(sandbox: Sandbox) -> MemoryCredentials:
    env = sandbox.env()
    return MemoryCredentials("youtube", {
        "client_id": env["CM_GOOGLE_CLIENT_ID"],
        "client_secret": env["CM_GOOGLE_CLIENT_SECRET"],
        "refresh_token": env["CM_YOUTUBE_REFRESH_TOKEN"],
    })


def youtube_channel(sandbox: Sandbox, credentials: MemoryCredentials,
                    timeout: float = 5) -> YouTubeChannel:
    return YouTubeChannel("youtube", YouTubeSettings(channel_id=CHANNEL_ID), credentials,
                          sandbox.transport(timeout=timeout))


@pytest.fixture(name="channel")
def youtube_channel_fixture(sandbox: Sandbox, credentials: MemoryCredentials) -> YouTubeChannel:
    return youtube_channel(sandbox, credentials)
