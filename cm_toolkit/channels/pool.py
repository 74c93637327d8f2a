"""The adapters of one workspace's channels, built on first use, one per channel.

Calls on one channel are serialised (``using``): a network sees one request at a time from an
account, a token refresh cannot race another (X rotates refresh tokens: two concurrent
refreshes would leave one thread with a dead token), and SDK objects that are not thread-safe
(``httplib2.Http`` under the Google client) are never shared by two threads at once.
Different channels run in parallel.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from cm_toolkit.channels.base import Channel, Transport
from cm_toolkit.channels.credentials import ChannelCredentials, TokenStore
from cm_toolkit.channels.registry import build_channel
from cm_toolkit.errors import UsageError
from cm_toolkit.workspace.models import Workspace


class ChannelSource(Protocol):
    """Where the engine gets adapters: ``using(id)`` holds the channel for one call."""

    def using(self, channel_id: str) -> AbstractContextManager[Channel]: ...


class ChannelPool:
    def __init__(
        self,
        workspace: Workspace,
        *,
        transport: Transport | None = None,
        fallback_env: Mapping[str, str] | None = None,
        store: TokenStore | None = None,
    ) -> None:
        self.workspace = workspace
        self.transport = transport
        self.fallback_env = dict(fallback_env or {})
        self.store = store
        self._channels: dict[str, Channel] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def _build(self, channel_id: str) -> Channel:
        channel_file = self.workspace.channels.get(channel_id)
        if channel_file is None:
            raise UsageError(
                f"there is no channel {channel_id!r} in this workspace",
                fix="see `cm channels` for the channel ids",
            )
        credentials = ChannelCredentials(
            channel_id, channel_file, store=self.store, fallback_env=self.fallback_env
        )
        return build_channel(
            channel_id, channel_file, credentials, self.transport,
            workspace_root=self.workspace.root,
        )

    def _lock(self, channel_id: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(channel_id, threading.RLock())

    @contextmanager
    def using(self, channel_id: str) -> Iterator[Channel]:
        """The channel, held by this thread until the block ends."""
        with self._lock(channel_id):
            channel = self._channels.get(channel_id)
            if channel is None:
                channel = self._channels[channel_id] = self._build(channel_id)
            yield channel
