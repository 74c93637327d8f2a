"""The workspace as ``cm run`` serves it: loaded, planned, applied to the ledger, and watched.

``reload`` loads the workspace's files, plans them and applies the plan to the ledger
(idempotent: an unchanged workspace changes nothing), then keeps the view the publisher renders
from and the pool of channel adapters it sends through. ``changed`` tells whether the files
changed since (``cm run`` re-applies without a restart). Nothing here knows about alarms.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from cm_toolkit.channels.base import Channel
from cm_toolkit.channels.pool import ChannelSource
from cm_toolkit.errors import CmError
from cm_toolkit.ledger import apply as ledger_apply
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.planning import plan_workspace
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.workspace.models import Workspace

log = logging.getLogger("cm.runner")

ChannelsFactory = Callable[[Workspace], ChannelSource]
Signature = tuple[tuple[str, float, int], ...]


def workspace_signature(root: Path) -> Signature:
    """(path, mtime, size) of every workspace file: a change means re-apply."""
    files = [root / "schedules.yaml"]
    for folder in ("channels", "templates"):
        if (root / folder).is_dir():
            files.extend(sorted(p for p in (root / folder).rglob("*") if p.is_file()))
    out = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        out.append((str(path), stat.st_mtime, stat.st_size))
    return tuple(out)


class WorkspaceHost:
    """The current workspace's view and channels; the publisher's ``ChannelSource``."""

    def __init__(self, *, root: Path, ledger: Ledger, now: Callable[[], datetime],
                 load: Callable[[Path], Workspace], channels: ChannelsFactory,
                 cancel_renders: threading.Event | None = None) -> None:
        """``cancel_renders``: set when ``cm run`` stops, so a render in flight ends at once."""
        self.root = root
        self.ledger = ledger
        self._now = now
        self._load = load
        self._channels_factory = channels
        self._cancel_renders = cancel_renders
        self.signature: Signature = ()
        self._view: WorkspaceView | None = None
        self._source: ChannelSource | None = None

    def reload(self, apply: bool = True) -> WorkspaceView:
        """Load, plan and apply the workspace (idempotent); keep the view the publisher uses.
        ``apply=False``: only the view (a cluster worker that is not the leader)."""
        signature = workspace_signature(self.root)
        workspace = self._load(self.root)
        plan = plan_workspace(workspace)
        plan_diff = ledger_apply.diff(plan, self.ledger) if apply else None
        if plan_diff is not None and not plan_diff.is_empty:
            result = ledger_apply.apply(plan_diff, self.ledger, self._now())
            log.info("applied the workspace: %d created, %d changed, %d cancelled",
                     result.created, result.changed, result.cancelled)
        self._view = WorkspaceView.of(workspace, plan)
        if self._cancel_renders is not None:
            self._view.renderer.cancel = self._cancel_renders
        self._source = self._channels_factory(workspace)
        self.signature = signature
        return self._view

    def changed(self) -> bool:
        """The workspace's files changed since the last ``reload``."""
        return workspace_signature(self.root) != self.signature

    def current_view(self) -> WorkspaceView:
        assert self._view is not None, "reload() first"
        return self._view

    def using(self, channel_id: str) -> AbstractContextManager[Channel]:
        """The adapter of a channel of the current workspace (``ChannelSource``)."""
        assert self._source is not None, "reload() first"
        return self._source.using(channel_id)

    def warm_up(self) -> None:
        """Build every channel's adapter now (SDK imports take a second): the first alarm must
        not pay for it, and a channel that cannot be built (a missing secret) shows at start."""
        for channel_id in sorted(self.current_view().workspace.channels):
            try:
                with self.using(channel_id):
                    pass
            except CmError as exc:
                log.warning("channel %s cannot be used: %s", channel_id, exc)
