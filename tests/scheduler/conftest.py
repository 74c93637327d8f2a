"""The scheduler's test rig: a workspace in tmp_path, a SQLite ledger, the in-process sandbox
over real HTTP, the real adapters through ``ChannelPool``, and a ``ManualClock`` shared by the
publisher and the sandbox (so rate-limit resets and token lifetimes follow the test's clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.channels.credentials import MemoryTokenStore
from cm_toolkit.channels.pool import ChannelPool
from cm_toolkit.clock import ManualClock
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.sandbox.journal import JournalEntry
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.scheduler.pacing import Budget, Pacer
from cm_toolkit.scheduler.publisher import Attempt, Publisher
from cm_toolkit.scheduler.runner import Runner
from cm_toolkit.sending.retry import RetryPolicy
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace
from tests.scheduler.workspace import write_schedules, write_workspace

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

# The call that creates a post (or a broadcast) on each network: what "sent once" counts.
CREATE_PATHS: dict[str, tuple[str, str]] = {
    "x": ("POST", r"/2/tweets"),
    "facebook": ("POST", r"/v[0-9.]+/[0-9]+/(feed|photos)"),
    "linkedin": ("POST", r"/rest/posts"),
    "youtube": ("POST", r"/youtube/v3/liveBroadcasts"),
}


def load(root: Path) -> Workspace:
    workspace, _warnings = load_workspace(root)
    return workspace


@dataclass
class Rig:
    root: Path
    clock: ManualClock
    sandbox: Sandbox
    ledger: Ledger
    store: MemoryTokenStore = field(default_factory=MemoryTokenStore)
    timeout: float = 10.0
    runner: Runner | None = None

    # -- the workspace ------------------------------------------------------------------------

    def channels(self, workspace: Workspace) -> ChannelPool:
        return ChannelPool(workspace, transport=self.sandbox.transport(timeout=self.timeout),
                           fallback_env=self.sandbox.env(), store=self.store)

    def apply(self, posts: Iterable[Mapping[str, Any]] = (), **schedule: Any) -> Runner:
        """Write schedules.yaml and apply it (as ``cm run`` does at start)."""
        write_schedules(self.root, posts, **schedule)
        if self.runner is None:
            self.runner = Runner(root=self.root, ledger=self.ledger, clock=self.clock, load=load,
                                 channels=self.channels, worker_id="testhost/1/abc")
        self.runner.reload()
        return self.runner

    def publisher(
        self,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        notifier: Notifier | None = None,
    ) -> Publisher:
        runner = self.runner
        assert runner is not None, "apply() first"
        return Publisher(
            ledger=self.ledger, view=runner.current_view, channels=runner, clock=self.clock,
            worker_id=runner.worker_id, pacer=pacer or Pacer(timedelta(0), budgets={}),
            retry=retry or RetryPolicy(jitter=0.0), notifier=notifier,
        )

    # -- looking at the outcome -----------------------------------------------------------------

    def row(self, post_key: str, channel_id: str, occurrence: int = 1) -> Delivery:
        with self.ledger.reading() as session:
            from sqlalchemy import select

            found = session.scalars(select(Delivery).where(
                Delivery.post_key == post_key, Delivery.channel_id == channel_id,
                Delivery.occurrence == occurrence)).one()
        return found

    def run(self, post_key: str, channel_id: str, publisher: Publisher | None = None) -> Attempt:
        return (publisher or self.publisher()).run(self.row(post_key, channel_id).id)

    def creates(self, network: str) -> list[JournalEntry]:
        method, path = CREATE_PATHS[network]
        return self.sandbox.journal.entries(network=network, method=method, path=path)

    def transitions(self, delivery_id: int) -> list[tuple[str | None, str | None]]:
        return [(e.from_state.value if e.from_state else None,
                 e.to_state.value if e.to_state else None)
                for e in self.ledger.events(delivery_id)]


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    yield from rig_on(ManualClock(START), tmp_path, monkeypatch)


def rig_on(clock: ManualClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    """The rig on a given clock (a subclass of ManualClock that behaves otherwise)."""
    # tokens written by a refresh go to tmp_path, never to the user's token folder
    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    for name in ("CM_X_ACCESS_TOKEN", "CM_FACEBOOK_PAGE_TOKEN", "CM_LINKEDIN_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    root = write_workspace(tmp_path / "ws")
    with Sandbox(seed=2027, clock=clock, epoch=START).running() as sandbox:
        ledger = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", root)
        try:
            yield Rig(root, clock, sandbox, ledger)
        finally:
            ledger.close()


SMALL_X_BUDGET = {"x": Budget(3, timedelta(minutes=15))}
