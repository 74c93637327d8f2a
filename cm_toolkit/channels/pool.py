"""The adapters of one workspace's channels, built on first use.

Each thread gets its own adapters: the SDKs' HTTP objects are not all thread-safe
(``httplib2.Http``, under the Google client, is not), and the publisher runs sends in a thread
pool.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from cm_toolkit.channels.base import Channel, Transport
from cm_toolkit.channels.credentials import ChannelCredentials, TokenStore
from cm_toolkit.channels.registry import build_channel
from cm_toolkit.errors import UsageError
from cm_toolkit.workspace.models import Workspace


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
        self._local = threading.local()

    def __call__(self, channel_id: str) -> Channel:
        cache: dict[str, Channel] | None = getattr(self._local, "channels", None)
        if cache is None:
            cache = self._local.channels = {}
        channel = cache.get(channel_id)
        if channel is None:
            channel_file = self.workspace.channels.get(channel_id)
            if channel_file is None:
                raise UsageError(
                    f"there is no channel {channel_id!r} in this workspace",
                    fix="see `cm channels` for the channel ids",
                )
            credentials = ChannelCredentials(
                channel_id, channel_file, store=self.store, fallback_env=self.fallback_env
            )
            channel = build_channel(
                channel_id, channel_file, credentials, self.transport,
                workspace_root=self.workspace.root,
            )
            cache[channel_id] = channel
        return channel
