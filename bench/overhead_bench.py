"""Overhead: publishing through cm-toolkit versus calling the SDK directly, per post.

    .venv/bin/python bench/overhead_bench.py            # 2,000 posts each way
    .venv/bin/python bench/overhead_bench.py --quick    # 300 posts each way
    .venv/bin/python bench/overhead_bench.py --profile  # and cProfile the cm-toolkit side

Both sides post to the same in-process sandbox over loopback HTTP, with the same transport
(``sandbox.transport()``'s requests adapter mounted on a ``TimeoutSession``) and the same
tokens, one at a time, interleaved (cm, direct, cm, direct...) so that both see the same
sandbox state:

- cm-toolkit: ``Publisher.run(delivery_id)`` for a due delivery: read the row, render the
  template, pacing, claim (compare-and-set, write transaction), ``XChannel.publish`` (checks,
  ``tweepy.Client.create_tweet``), record the outcome (write transaction); SQLite ledger in
  WAL mode with ``synchronous=FULL`` (SQLite's default), as ``cm run`` opens it;
- direct: ``tweepy.Client.create_tweet(text=..., user_auth=False)`` on a client built once
  per account, as an application calling tweepy by hand would.

A first round of one post per account on each side is not measured (clients and channels are
built on first use). 125 accounts keep every account under the sandbox's (and X's) 100 posts
per 15 minutes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tweepy
from sqlalchemy import event
from x_workspace import (
    Due,
    channel_id,
    channels_factory,
    load,
    sandbox_for,
    scratch,
    summary_ms,
    table,
    token_of,
    write_workspace,
)

from cm_toolkit.channels.x.wire import TimeoutSession
from cm_toolkit.clock import SystemClock
from cm_toolkit.ledger import apply as ledger_apply
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.planning import plan_workspace
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.scheduler.pacing import Pacer
from cm_toolkit.scheduler.publisher import Publisher, Step


def direct_client(token: str, transport: Any) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token, return_type=dict)
    session = TimeoutSession(transport.timeout)
    session.mount("https://", transport.requests_adapter)
    session.mount("http://", transport.requests_adapter)
    client.session = session
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 posts each way")
    parser.add_argument("--posts", type=int, help="measured posts each way")
    parser.add_argument("--accounts", type=int, default=125)
    parser.add_argument("--profile", action="store_true", help="cProfile the cm-toolkit side")
    parser.add_argument("--synchronous", choices=["FULL", "NORMAL"], default="FULL",
                        help="experiment only: SQLite synchronous of the ledger (cm uses FULL)")
    args = parser.parse_args()
    posts = args.posts or (300 if args.quick else 2_000)
    accounts = args.accounts
    total = accounts + posts  # warm-up round + measured
    if 2 * total > 10_000 or 2 * total / accounts > 100:
        parser.error("too many posts for the sandbox's X limits: use more accounts")

    clock = SystemClock()
    due = clock.now() - timedelta(minutes=1)  # due already, within the 1 h grace
    dues = [Due(f"p{i:05d}", i % accounts, due) for i in range(total)]
    with scratch("cm-overhead-") as folder:
        root = folder / "workspace"
        write_workspace(root, accounts, dues, spacing="1s")
        workspace = load(root)
        plan = plan_workspace(workspace)
        ledger = open_ledger(None, root)
        if args.synchronous != "FULL":  # what NORMAL would buy (it is not what cm does)
            @event.listens_for(ledger.engine, "connect")
            def _relaxed(dbapi_connection: Any, _record: Any) -> None:
                dbapi_connection.execute(f"PRAGMA synchronous = {args.synchronous}")

            ledger.engine.dispose()
        ledger_apply.apply(ledger_apply.diff(plan, ledger), ledger, clock.now())
        with ledger.reading() as session:
            ids = dict(session.query(Delivery.post_key, Delivery.id).all())
        view = WorkspaceView.of(workspace, plan)
        sandbox = sandbox_for(accounts, clock)
        with sandbox.running():
            transport = sandbox.transport()
            publisher = Publisher(
                ledger=ledger, view=lambda: view,
                channels=channels_factory(transport, accounts)(workspace),
                clock=clock, worker_id="bench/1/overhead",
                # spacing 0: posts on one account are ~125 posts apart anyway; X's budget holds
                pacer=Pacer(timedelta(0)),
            )
            clients = {i: direct_client(token_of(i), transport) for i in range(accounts)}
            cm_times: list[float] = []
            direct_times: list[float] = []
            profile = cProfile.Profile() if args.profile else None
            for number, item in enumerate(dues):
                delivery_id = ids[item.post_id]
                client = clients[item.account]
                text = f"Direct post d{number:05d} on {channel_id(item.account)}"

                if profile is not None and number >= accounts:
                    profile.enable()
                started = time.perf_counter()
                attempt = publisher.run(delivery_id)
                cm_elapsed = time.perf_counter() - started
                if profile is not None:
                    profile.disable()
                if attempt.step is not Step.PUBLISHED:
                    raise SystemExit(f"delivery {delivery_id}: {attempt}")

                started = time.perf_counter()
                answer = client.create_tweet(text=text, user_auth=False)
                direct_elapsed = time.perf_counter() - started
                assert answer["data"]["id"]

                if number >= accounts:  # the first round builds clients and channels
                    cm_times.append(cm_elapsed)
                    direct_times.append(direct_elapsed)
            statuses = {e.status for e in sandbox.journal.entries()}
        ledger.close()

    cm_s, direct_s = summary_ms(cm_times), summary_ms(direct_times)
    cm_mean, direct_mean = statistics.mean(cm_times) * 1000, statistics.mean(direct_times) * 1000
    print(f"overhead: {posts} posts each way (after a warm-up round of {accounts}), "
          f"{accounts} X accounts, interleaved; ledger SQLite WAL synchronous="
          f"{args.synchronous}; sandbox statuses {sorted(statuses, key=str)}")
    rows = [["per post", "mean ms", "median ms", "p90 ms", "p99 ms"],
            ["cm-toolkit Publisher.run", f"{cm_mean:.2f}", f"{cm_s['median']:.2f}",
             f"{cm_s['p90']:.2f}", f"{cm_s['p99']:.2f}"],
            ["tweepy create_tweet", f"{direct_mean:.2f}", f"{direct_s['median']:.2f}",
             f"{direct_s['p90']:.2f}", f"{direct_s['p99']:.2f}"],
            ["ratio", f"{cm_mean / direct_mean:.2f}", f"{cm_s['median'] / direct_s['median']:.2f}",
             "", ""]]
    print(table(rows))
    ratio = cm_mean / direct_mean
    print(f"target ratio (mean) < 1.2: {'met' if ratio < 1.2 else 'NOT met'}")
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    return 0 if ratio < 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
