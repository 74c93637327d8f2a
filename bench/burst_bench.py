"""Burst: 10,000 deliveries due at once; throughput while spacing and budgets hold.

    .venv/bin/python bench/burst_bench.py            # 10,000 deliveries on 125 X accounts
    .venv/bin/python bench/burst_bench.py --quick    # 500 deliveries on 25 accounts, 8 per 5 s

Every delivery is already due when the real ``Runner`` starts (a backlog after downtime, or a
campaign that schedules everything for one instant): APScheduler fires all the alarms at once,
and the pacer must keep each account's posts ``--spacing`` apart and under the network budget
while the engine publishes as fast as it can. Parameters are scaled down from X's real ones so
that the run lasts about a minute, but they bind: 80 deliveries per account against a budget of
20 posts per 15 s and a spacing of 0.5 s (the full run), i.e. at best 20 posts every 15 s per
account.

Checked afterwards from the sandbox journal (arrival times of ``POST /2/tweets``, the account
read from the post's text) and from the ledger (``claimed_at``, the instant the pacer granted):
no two posts of one account closer than the spacing, never more than the budget in any window.
The arrival times are what the network counts, and what must hold. ``claimed_at`` is shown for
information: the pacer may grant a send up to a quarter of the spacing (at most 250 ms) before
its turn, and the publisher then holds the request, after the claim, until its turn comes.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from bench_args import positive_int, positive_seconds
from x_workspace import (
    Due,
    channels_factory,
    load,
    sandbox_for,
    scratch,
    table,
    write_workspace,
)

from cm_toolkit.clock import SystemClock
from cm_toolkit.ledger import apply as ledger_apply
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.planning import plan_workspace
from cm_toolkit.scheduler.pacing import Budget
from cm_toolkit.scheduler.runner import Runner, RunOptions

CHANNEL = re.compile(r" on (xb-\d+)")


def check(times: dict[str, list[datetime]], spacing: timedelta, budget: Budget
          ) -> tuple[float, int, int, int]:
    """(smallest gap in s, pairs closer than spacing, windows over budget, largest window count)."""
    smallest, close, over, largest = float("inf"), 0, 0, 0
    for values in times.values():
        values = sorted(values)
        for a, b in pairwise(values):
            gap = (b - a).total_seconds()
            smallest = min(smallest, gap)
            close += gap < spacing.total_seconds()
        start = 0
        for end, instant in enumerate(values):  # the window ending at each send
            while values[start] <= instant - budget.window:
                start += 1
            count = end - start + 1
            largest = max(largest, count)
            over += count > budget.usable
    return smallest, close, over, largest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="500 deliveries on 25 accounts, budget 8 per 5 s")
    parser.add_argument("--deliveries", type=positive_int)
    parser.add_argument("--accounts", type=positive_int)
    parser.add_argument("--spacing", type=positive_seconds, default=0.5, help="seconds")
    parser.add_argument("--budget", type=positive_int, help="posts per window per account (20)")
    parser.add_argument("--window", type=positive_seconds, help="budget window, seconds (15)")
    parser.add_argument("--threads", type=positive_int, default=8)
    args = parser.parse_args()
    deliveries = args.deliveries or (500 if args.quick else 10_000)
    accounts = args.accounts or (25 if args.quick else 125)
    args.budget = args.budget or (8 if args.quick else 20)
    args.window = args.window or (5.0 if args.quick else 15.0)
    if deliveries / accounts > 100 or deliveries > 10_000:
        parser.error("the sandbox allows 100 posts per 15 min per account, 10,000 a day")
    spacing = timedelta(seconds=args.spacing)
    budget = Budget(args.budget, timedelta(seconds=args.window))

    clock = SystemClock()
    due = clock.now() - timedelta(seconds=1)  # all due, long inside the 1 h grace
    dues = [Due(f"p{i:05d}", i % accounts, due) for i in range(deliveries)]
    fired = [0]
    lock = threading.Lock()

    def count(event: JobExecutionEvent) -> None:
        if event.job_id.startswith("d"):
            with lock:
                fired[0] += 1

    with scratch("cm-burst-") as folder:
        root = folder / "workspace"
        write_workspace(root, accounts, dues, spacing="1s")
        workspace = load(root)
        ledger = open_ledger(None, root)
        # applied beforehand: the burst starts when the runner sets its alarms
        ledger_apply.apply(ledger_apply.diff(plan_workspace(workspace), ledger), ledger,
                           clock.now())
        sandbox = sandbox_for(accounts, clock)
        with sandbox.running():
            runner = Runner(
                root=root, ledger=ledger, clock=clock, load=lambda _root: workspace,
                channels=channels_factory(sandbox.transport(), accounts),
                options=RunOptions(threads=args.threads, spacing=spacing,
                                   budgets={"x": budget}),
            )
            runner.alarm_clock.scheduler.add_listener(count, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
            started, started_at = time.monotonic(), clock.now()
            runner.start()
            # pacing alone needs ceil(per account / budget) - 1 windows + the last batch
            per_account = -(-deliveries // accounts)
            floor = ((per_account - 1) // budget.usable) * budget.window.total_seconds() + (
                (per_account - 1) % budget.usable) * spacing.total_seconds()
            deadline = time.monotonic() + floor * 3 + 120
            while time.monotonic() < deadline and len(sandbox.journal) < deliveries:
                time.sleep(0.5)
            time.sleep(1.0)  # let the last outcomes be recorded
            runner.stop()
            entries = sandbox.journal.entries(network="x", method="POST", path="/2/tweets")
        with ledger.reading() as session:
            rows = session.query(Delivery.channel_id, Delivery.claimed_at, Delivery.state).all()
        ledger.close()

    arrivals: dict[str, list[datetime]] = defaultdict(list)
    statuses: dict[int | None, int] = defaultdict(int)
    for entry in entries:
        statuses[entry.status] += 1
        found = CHANNEL.search(entry.json_body()["text"])
        assert found, entry.body
        arrivals[found.group(1)].append(entry.at)
    granted: dict[str, list[datetime]] = defaultdict(list)
    states: dict[str, int] = defaultdict(int)
    for channel, claimed_at, state in rows:
        states[state.value] += 1
        if claimed_at is not None:
            granted[channel].append(claimed_at)
    first = min(e.at for e in entries)
    last = max(e.at for e in entries)
    span = (last - first).total_seconds()

    print(f"burst: {deliveries} deliveries due at once on {accounts} X accounts "
          f"({per_account} each); spacing {spacing.total_seconds():g} s, budget "
          f"{budget.usable} per {budget.window.total_seconds():g} s per account; "
          f"{args.threads} threads")
    print(f"requests received: {len(entries)} (status {dict(statuses)}); ledger states: "
          f"{dict(states)}; alarms fired (publisher runs): {fired[0]}")
    print(f"first request {(first - started_at).total_seconds():.1f} s after Runner.start() "
          f"began (plan, diff, channels, {deliveries} alarms); first->last request {span:.1f} s;"
          f" pacing alone needs >= {floor:.1f} s")
    print(f"throughput: {len(entries) / span:.1f} deliveries/s (first to last request); "
          f"{len(entries) / (time.monotonic() - started):.1f}/s over the whole run incl. start")
    rows_out = [["measured on", "min gap s", f"gaps < {spacing.total_seconds():g} s",
                 f"windows > {budget.usable}", "max in a window"]]
    ok = True
    for label, times in (("arrival (sandbox journal)", arrivals),
                         ("claim (ledger claimed_at)", granted)):
        smallest, close, over, largest = check(times, spacing, budget)
        rows_out.append([label, f"{smallest:.3f}", str(close), str(over), str(largest)])
        if times is arrivals:  # a claim may precede its send (see the module docstring)
            ok = close == 0 and over == 0
    print(table(rows_out))
    complete = len(entries) == deliveries and statuses.get(201, 0) == deliveries
    print(f"spacing and budget held: {'yes' if ok else 'NO'}; all published: "
          f"{'yes' if complete else 'NO'}")
    return 0 if ok and complete else 1


if __name__ == "__main__":
    sys.exit(main())
