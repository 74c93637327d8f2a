"""``cm demo``: replay a workspace's season against the sandbox on a compressed clock.

Everything real runs: the workspace is loaded, planned and applied to a fresh ledger
(``.cm/demo/cm.db``), the real ``Runner`` (APScheduler alarms, publisher, compare-and-set
claims), the real adapters and SDKs, talking HTTP to the in-process sandbox. Only the clock is
compressed: a ``WarpClock`` shared by the runner and the sandbox runs the season in about
``seconds`` real seconds, slowing down around each due instant so that a grace window of hours
stays hours of clock time wide. The seed makes the sandbox's audience, and so the result, repeatable.

Leases scale with the clock (a lease is real seconds of work, however fast the season runs);
grace windows and spacing are the workspace's own, in season time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cm_toolkit.channels.credentials import MemoryTokenStore
from cm_toolkit.channels.pool import ChannelPool
from cm_toolkit.clock import WarpClock
from cm_toolkit.errors import UsageError
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.metrics import growth_table
from cm_toolkit.growth.snapshots import Snapshotter
from cm_toolkit.inbox.autorun import InboxJob
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.report_reads import state_counts
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.planning import growth_snapshot_times, plan_workspace
from cm_toolkit.sandbox.journal import Journal
from cm_toolkit.sandbox.provision import provision_request
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.scheduler.runner import Runner, RunOptions
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace


@dataclass
class GrowthLine:
    """One channel's growth over the replay, as ``cm growth report`` and the dashboard show it:
    ``multiple`` is ``GrowthRow.multiple`` (end ÷ the value at the workspace's growth
    reference), the one definition of "multiple" (docs/growth.md)."""

    channel_id: str
    network: str
    reference: int | None  # followers at the reference date
    end: int | None
    multiple: float | None


@dataclass
class DemoResult:
    season_start: datetime
    season_end: datetime
    real_seconds: float
    states: dict[tuple[str, str], int]  # (network, state) -> count
    growth: list[GrowthLine]
    database: Path
    report: Path | None = None
    journal_requests: int = 0
    reference: datetime | None = None  # growth reference of the multiples (workspace time)
    journal: Journal | None = None  # what the sandbox received, for tests and curious users
    extra: dict[str, object] = field(default_factory=dict)


STARTUP_SECONDS = 4.0  # real time at real speed before the season starts: the runner's start-up


def _load(root: Path) -> Workspace:
    workspace, _warnings = load_workspace(root)
    return workspace


def run_demo(
    root: Path,
    *,
    seconds: float = 40.0,
    seed: int = 2027,
    progress: Callable[[datetime, datetime, datetime], None] | None = None,
    report: Callable[[Ledger, Path], Path] | None = None,
) -> DemoResult:
    """Replay the season of ``root`` in about ``seconds``; returns what happened."""
    workspace = _load(root)
    plan = plan_workspace(workspace)
    if not plan.deliveries:
        raise UsageError("the workspace plans no delivery: there is nothing to replay",
                         fix="add posts to schedules.yaml (see docs/workspace.md)")
    first = min(d.due_at for d in plan.deliveries)
    last = max(d.due_at for d in plan.deliveries)
    season_start = first - timedelta(days=1)
    season_end = last + timedelta(days=1)

    demo_dir = root / ".cm" / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    database = demo_dir / "cm.db"
    for stale in (database, demo_dir / "cm.db-wal", demo_dir / "cm.db-shm"):
        stale.unlink(missing_ok=True)
    ledger = open_ledger(f"sqlite:///{database}", root)

    # every instant that calls a network gets a slow window: deliveries and follower snapshots
    events = [d.due_at for d in plan.deliveries]
    events += growth_snapshot_times(workspace, season_start, season_end)
    # live sessions on air: the inbox reads their chat (inbox/autorun.py live_instants)
    events += [live.start + timedelta(minutes=m) for campaign in workspace.schedules.campaigns
               for live in campaign.live_sessions
               for m in range(1, int(live.duration.total_seconds() // 60), 10)]
    clock = WarpClock.around(
        season_start, season_end, events, total_seconds=seconds,
        lead_in_seconds=STARTUP_SECONDS,
    )
    sandbox = Sandbox(seed=seed, clock=clock, epoch=season_start)
    started = time.monotonic()
    with sandbox.running():
        transport = sandbox.transport(timeout=10.0)
        # the workspace's own accounts (ids, usernames), not only the sample's
        sandbox_env = sandbox.provision(provision_request(workspace.channels))
        store = MemoryTokenStore()

        def channels(ws: Workspace) -> ChannelPool:
            return ChannelPool(ws, transport=transport, fallback_env=sandbox_env, store=store)

        options = RunOptions(
            resync_seconds=0.5,
            # a lease is real seconds of work, whatever the clock's speed
            lease=timedelta(seconds=60 * clock.fastest_speed),
        )
        runner = Runner(
            root=root, ledger=ledger, clock=clock, load=_load, channels=channels,
            options=options, snapshot=Snapshotter(ledger), side_job=InboxJob,
        )
        with clock.hold():  # the season waits for the start (apply, plan, alarms) however slow
            runner.start()
        try:
            while (now := clock.now()) < season_end:
                if progress is not None:
                    progress(season_start, now, season_end)
                time.sleep(0.2)
        finally:
            runner.stop()
        requests_seen = len(sandbox.journal)
    context = GrowthContext.from_workspace(workspace, ledger)
    result = DemoResult(
        season_start=season_start,
        season_end=season_end,
        real_seconds=time.monotonic() - started,
        states=state_counts(ledger),
        growth=_growth(ledger, context),
        reference=context.reference.astimezone(context.zone) if context.reference else None,
        database=database,
        journal_requests=requests_seen,
        journal=sandbox.journal,
    )
    if report is not None:
        result.report = report(ledger, demo_dir)
    ledger.close()
    return result


def _growth(ledger: Ledger, context: GrowthContext) -> list[GrowthLine]:
    """The growth table's rows (``cm growth report``), so the demo shows the same multiple."""
    return [
        GrowthLine(row.channel_id, row.network if row.network else "",
                   row.reference.followers if row.reference else None,
                   row.end.followers if row.end else None, row.multiple)
        for row in sorted(growth_table(ledger, context).rows, key=lambda r: r.channel_id)
    ]
