"""The example plugin's network (tests/plugin_example) in the cross-network contract suite:
a network from outside the project meets the same contract as the built-ins."""

from __future__ import annotations

import pytest

from cm_toolkit.channels.base import MemoryCredentials, RenderedPost
from cm_toolkit.channels.registry import channel_class
from cm_toolkit.errors import UnknownChannel
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase


def _sent_text(entry: JournalEntry) -> str:
    return str(entry.json_body()["text"])


def case(sandbox: Sandbox) -> ChannelCase:
    try:
        cls = channel_class("chirp")
    except UnknownChannel:
        pytest.skip("the example plugin is not installed: run `make install`")
    token = sandbox.env()["CM_CHIRP_TOKEN"]
    channel = cls("chirp", cls.settings_model(handle="mooc-leader"),
                  MemoryCredentials("chirp", {"access_token": token}), sandbox.transport(timeout=5))
    return ChannelCase(
        network="chirp",
        channel=channel,
        publish_path=r"/v1/posts",
        post=RenderedPost(text="Module 3 : le management à distance, en 5 rituels 🎯",
                          link="https://mooc.example.org/articles/rituels"),
        sent_text=_sent_text,
    )
