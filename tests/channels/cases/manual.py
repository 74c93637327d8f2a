"""The manual channel in the contract suite: a person publishes a ready-to-paste task."""

from __future__ import annotations

import tempfile
from pathlib import Path

from cm_toolkit.channels.base import MemoryCredentials, RenderedPost
from cm_toolkit.channels.manual import ManualChannel, ManualSettings
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.contract_case import ChannelCase


def _no_call(entry: JournalEntry) -> str:
    raise AssertionError(f"a manual channel called a network: {entry.path}")


def case(sandbox: Sandbox) -> ChannelCase:
    tasks = Path(tempfile.mkdtemp(prefix="cm-contract-tasks-"))
    channel = ManualChannel(
        "linkedin-group",
        ManualSettings(url="https://www.linkedin.com/groups/9876543/", tasks_dir=tasks),
        MemoryCredentials("linkedin-group", {}),
        sandbox.transport(timeout=5),
    )
    return ChannelCase(
        network="manual",
        channel=channel,
        publish_path=r"^$",  # no network call at all
        post=RenderedPost(text="Débat de la semaine : faut-il tout déléguer ?",
                          link="https://mooc.example.org/debats/delegation"),
        sent_text=_no_call,
        duplicate_rejected=False,
    )
