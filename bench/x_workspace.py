"""The scheduler benchmarks' world: a generated workspace of many X accounts, and a sandbox serving them.

The sample workspace has one X account and the sandbox seeds one; a benchmark of 10,000
deliveries on one account would only measure the pacer (and X's own 100 posts per 15 minutes).
So the benchmarks generate:

- ``channels/xb-NNN.yaml``: one X channel per account, its token named ``CM_BENCH_X_NNN``;
- ``templates/bench.j2``: a one-line post whose text carries the post id (X refuses a duplicate
  text on one account);
- ``schedules.yaml``: one post per delivery (``at`` with microseconds), on one channel;

and serve them with ``ManyAccountsX``: the sandbox's real X emulator (same routes, same
validation, same rate limits, same journal) whose ``seed_accounts`` hook seeds ``accounts``
accounts instead of one. The channel tokens reach the adapters through ``ChannelPool``'s
``fallback_env`` (what ``cm run --sandbox`` does with the sandbox's own tokens).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from cm_toolkit.channels.pool import ChannelPool, ChannelSource
from cm_toolkit.sandbox.core import Emulator
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.x import XEmulator
from cm_toolkit.sandbox.x.base import ALL_SCOPES, PUBLIC_CLIENT
from cm_toolkit.sandbox.x.model import XAccount
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace

FIRST_USER_ID = 1470000000000000000
TEMPLATE = "Bench post {{ post.id }} on {{ channel.id }}\n"


def channel_id(account: int) -> str:
    return f"xb-{account:03d}"


def token_of(account: int) -> str:
    return f"x-sandbox-access-bench{account:03d}"


def many_accounts_x(accounts: int) -> type[Emulator]:
    """The sandbox's X emulator seeding ``accounts`` accounts (``bench000``, ``bench001``...)."""

    class ManyAccountsX(XEmulator):
        count: ClassVar[int] = accounts

        def seed_accounts(self) -> None:
            super().seed_accounts()
            now = self.ctx.now()
            for index in range(self.count):
                account = XAccount(
                    str(FIRST_USER_ID + index), f"bench{index:03d}", f"Bench {index}",
                    created_at=now - timedelta(days=400),
                )
                self.accounts[account.id] = account
                self._mint(account, PUBLIC_CLIENT.client_id, ALL_SCOPES,
                           access=token_of(index), refresh=f"x-sandbox-refresh-bench{index:03d}")

    return ManyAccountsX


@dataclass(frozen=True)
class Due:
    """One generated post: due at ``at`` on account ``account``."""

    post_id: str
    account: int
    at: datetime


def write_workspace(
    root: Path, accounts: int, dues: Sequence[Due], *, spacing: str, grace: str = "1h",
    inbox_reads: bool = True,
) -> None:
    """``inbox_reads=False``: ``cm run``'s inbox job reads nothing on X (its read budget is 0),
    so that a publishing bench measures the publishing alone."""
    (root / "channels").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "templates" / "bench.j2").write_text(TEMPLATE, encoding="utf-8")
    for index in range(accounts):
        (root / "channels" / f"{channel_id(index)}.yaml").write_text(
            "network: x\n"
            f"account:\n  username: bench{index:03d}\n  user_id: '{FIRST_USER_ID + index}'\n"
            f"secrets:\n  access_token: {{env: CM_BENCH_X_{index:03d}}}\n",
            encoding="utf-8",
        )
    lines = [
        "version: 1",
        "timezone: UTC",
        "defaults:",
        "  language: en",
        f"  grace: {grace}",
        f"  spacing: {spacing}",
        "  utm: {enabled: false}",
        "campaigns:",
        "  - id: bench",
        "    name: Bench",
        "    posts:",
    ]
    for due in dues:
        # block style: ruamel (the loader keeps line numbers) parses flow mappings far slower
        lines += [f"      - id: {due.post_id}", "        template: bench",
                  f"        at: '{due.at.isoformat()}'",
                  f"        channels:\n          - {channel_id(due.account)}"]
    if not inbox_reads:
        lines += ["inbox:", "  x_read_budget_usd: 0"]
    (root / "schedules.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def fallback_env(accounts: int) -> dict[str, str]:
    return {f"CM_BENCH_X_{index:03d}": token_of(index) for index in range(accounts)}


def load(root: Path) -> Workspace:
    workspace, _warnings = load_workspace(root)
    return workspace


def channels_factory(
    transport: Any, accounts: int
) -> Callable[[Workspace], ChannelSource]:
    env = fallback_env(accounts)

    def channels(workspace: Workspace) -> ChannelSource:
        return ChannelPool(workspace, transport=transport, fallback_env=env)

    return channels


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed afterwards (the workspace and its ledger live in it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sandbox_for(accounts: int, clock: Any = None) -> Sandbox:
    return Sandbox(seed=1, clock=clock, emulators=[many_accounts_x(accounts)])


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """min / median / p90 / p99 / max of seconds, in milliseconds."""
    return {
        "min": min(values) * 1000,
        "median": statistics.median(values) * 1000,
        "p90": percentile(values, 0.90) * 1000,
        "p99": percentile(values, 0.99) * 1000,
        "max": max(values) * 1000,
    }


def table(rows: Sequence[Sequence[str]]) -> str:
    """A plain fixed-width table (first row: the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for number, row in enumerate(rows):
        out.append("  ".join(cell.rjust(w) if i else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths))))
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
