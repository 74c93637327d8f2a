"""Overhead: publishing through cm-toolkit versus calling the SDK directly, per post.

    .venv/bin/python bench/overhead_bench.py            # 2,000 posts each way, each measure
    .venv/bin/python bench/overhead_bench.py --quick    # 300 posts each way
    .venv/bin/python bench/overhead_bench.py --profile  # and cProfile the "work" measure

Both sides post to the same in-process sandbox over loopback HTTP through the same transport
(``sandbox.transport()``'s requests adapter, mounted on a ``TimedSession``, channels/http.py),
on the same 125 X accounts, one post at a time, interleaved (cm, direct, cm, direct...), so
that both see the same sandbox and the same machine. Two ratios, each measured in one run:

1. **scheduled post** (the target): a post due at an instant, from that instant to the moment
   the SDK holds the network's answer (the post is online). cm-toolkit: the real ``Runner``
   (``cm run``'s engine: APScheduler alarm, the publisher reads, renders and claims the delivery
   in the ledger ahead of the instant, sends at the instant through ``XChannel.publish``, then
   records the outcome). Direct: a thread sleeps until its instant and calls
   ``tweepy.Client.create_tweet``. Instants alternate 25 ms apart (cm at 0, direct at 25, cm at
   50...): each call is over before the next instant, and cm's preparation of its next post
   (40 ms ahead, about 3 ms long) falls between two measured windows.
   The answer instant is read by the shared transport adapter (``Stopwatch``) when the response
   is back, the same code on both sides.
2. **work per post** (what the engine does in all): ``Publisher.run(delivery)`` for a delivery
   already due, read + render + pacing + claim (a durable commit) + publish + outcome (a
   durable commit), timed as a whole, against ``create_tweet`` timed as a whole. The ledger is
   SQLite in WAL mode with ``synchronous=FULL``, as ``cm run`` opens it.

Exit status 1 when the scheduled ratio (mean) misses 1.2. A first round of one post per account
on each side of the work measure is not counted (clients and channels are built on first use).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import re
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import requests
import tweepy
from bench_args import positive_int
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

from cm_toolkit.channels.base import Transport
from cm_toolkit.channels.http import session_for
from cm_toolkit.clock import SystemClock
from cm_toolkit.ledger import apply as ledger_apply
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.planning import plan_workspace
from cm_toolkit.sandbox.transport import SandboxAdapter
from cm_toolkit.scheduler.content import WorkspaceView
from cm_toolkit.scheduler.pacing import Pacer
from cm_toolkit.scheduler.publisher import Publisher, Step
from cm_toolkit.scheduler.runner import Runner, RunOptions

MARK = re.compile(r"(?:Bench|Direct) post ([pd]\d+) on ")
STEP = timedelta(milliseconds=25)


class Stopwatch(SandboxAdapter):
    """The sandbox transport, noting when each post's answer is back (both sides use it)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.answered: dict[str, float] = {}  # post mark -> time.time() of the answer

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, **kwargs)
        done = time.time()
        if request.body:
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            found = MARK.search(json.loads(body).get("text", ""))
            if found:
                self.answered[found.group(1)] = done
        return response


def direct_client(token: str, transport: Transport) -> tweepy.Client:
    client = tweepy.Client(bearer_token=token, return_type=dict)
    client.session = session_for(transport)
    return client


def scheduled(posts: int, accounts: int) -> tuple[list[float], list[float], dict[str, int]]:
    """Seconds from each instant to its answer: (cm, direct), and the ledger's states."""
    clock = SystemClock()
    lead = 8.0 + posts * 0.008  # load + apply + alarms before the first instant
    first = clock.now() + timedelta(seconds=lead)
    cm_dues = [Due(f"p{i:05d}", i % accounts, first + 2 * i * STEP) for i in range(posts)]
    direct_dues = [Due(f"d{i:05d}", i % accounts, first + (2 * i + 1) * STEP)
                   for i in range(posts)]
    with scratch("cm-overhead-") as folder:
        root = folder / "workspace"
        write_workspace(root, accounts, cm_dues, spacing="1s")
        workspace = load(root)
        ledger = open_ledger(None, root)
        sandbox = sandbox_for(accounts, clock)
        with sandbox.running():
            stopwatch = Stopwatch(sandbox.base_url)
            transport = Transport(requests_adapter=stopwatch, timeout=10.0)
            clients = {i: direct_client(token_of(i), transport) for i in range(accounts)}
            runner = Runner(root=root, ledger=ledger, clock=clock, load=lambda _root: workspace,
                            channels=channels_factory(transport, accounts),
                            options=RunOptions(resync_seconds=5.0))
            runner.start()
            if (first - clock.now()).total_seconds() < 1.0:
                runner.stop()
                raise SystemExit("setup overran the first instant: use fewer posts")

            def call_directly() -> None:
                for due in direct_dues:
                    time.sleep(max(0.0, due.at.timestamp() - time.time()))
                    text = f"Direct post {due.post_id} on {channel_id(due.account)}"
                    clients[due.account].create_tweet(text=text, user_auth=False)

            caller = threading.Thread(target=call_directly)
            caller.start()
            caller.join()
            deadline = time.monotonic() + 10
            while len(stopwatch.answered) < 2 * posts and time.monotonic() < deadline:
                time.sleep(0.1)
            runner.stop()
        with ledger.reading() as session:
            states: dict[str, int] = {}
            for (state,) in session.query(Delivery.state):
                states[state.value] = states.get(state.value, 0) + 1
        ledger.close()

    def late(dues: list[Due]) -> list[float]:
        return [stopwatch.answered[d.post_id] - d.at.timestamp()
                for d in dues if d.post_id in stopwatch.answered]

    return late(cm_dues), late(direct_dues), states


def work(posts: int, accounts: int, profile: cProfile.Profile | None) -> tuple[list[float], list[float]]:
    """Seconds per whole call for due deliveries: (Publisher.run, create_tweet)."""
    clock = SystemClock()
    total = accounts + posts  # warm-up round + measured
    due = clock.now() - timedelta(minutes=1)  # due already, within the grace window
    dues = [Due(f"p{i:05d}", i % accounts, due) for i in range(total)]
    with scratch("cm-overhead-") as folder:
        root = folder / "workspace"
        write_workspace(root, accounts, dues, spacing="1s")
        workspace = load(root)
        plan = plan_workspace(workspace)
        ledger = open_ledger(None, root)
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
                # spacing 0: posts on one account are `accounts` posts apart anyway
                pacer=Pacer(timedelta(0)),
            )
            clients = {i: direct_client(token_of(i), transport) for i in range(accounts)}
            cm_times: list[float] = []
            direct_times: list[float] = []
            for number, item in enumerate(dues):
                text = f"Direct post w{number:05d} on {channel_id(item.account)}"
                if profile is not None and number >= accounts:
                    profile.enable()
                started = time.perf_counter()
                attempt = publisher.run(ids[item.post_id])
                cm_elapsed = time.perf_counter() - started
                if profile is not None:
                    profile.disable()
                if attempt.step is not Step.PUBLISHED:
                    raise SystemExit(f"delivery {ids[item.post_id]}: {attempt}")
                started = time.perf_counter()
                answer = clients[item.account].create_tweet(text=text, user_auth=False)
                direct_elapsed = time.perf_counter() - started
                assert answer["data"]["id"]
                if number >= accounts:  # the first round builds clients and channels
                    cm_times.append(cm_elapsed)
                    direct_times.append(direct_elapsed)
        ledger.close()
    return cm_times, direct_times


def rows_for(label: str, cm: list[float], direct: list[float], cm_name: str,
             direct_name: str) -> tuple[list[list[str]], float]:
    cm_s, direct_s = summary_ms(cm), summary_ms(direct)
    cm_mean, direct_mean = statistics.mean(cm) * 1000, statistics.mean(direct) * 1000
    rows = [[label, "n", "mean ms", "median ms", "p90 ms", "p99 ms"]]
    for name, values, mean, s in ((cm_name, cm, cm_mean, cm_s),
                                  (direct_name, direct, direct_mean, direct_s)):
        rows.append([name, str(len(values)), f"{mean:.2f}", f"{s['median']:.2f}",
                     f"{s['p90']:.2f}", f"{s['p99']:.2f}"])
    rows.append(["ratio", "", f"{cm_mean / direct_mean:.2f}",
                 f"{cm_s['median'] / direct_s['median']:.2f}", "", ""])
    return rows, cm_mean / direct_mean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 posts each way")
    parser.add_argument("--posts", type=positive_int, help="measured posts each way, each measure")
    parser.add_argument("--accounts", type=positive_int, default=125)
    parser.add_argument("--profile", action="store_true", help="cProfile the work measure")
    args = parser.parse_args()
    posts = args.posts or (300 if args.quick else 2_000)
    accounts = args.accounts
    # the sandbox (like X) takes 100 posts per 15 minutes per account, 10,000 a day in all:
    # the scheduled measure posts 2 * posts, the work measure 2 * (accounts + posts)
    if 2 * posts / accounts > 100 or 2 * (accounts + posts) / accounts > 100:
        parser.error("too many posts for the sandbox's X limits: use more accounts")

    cm_late, direct_late, states = scheduled(posts, accounts)
    profile = cProfile.Profile() if args.profile else None
    cm_work, direct_work = work(posts, accounts, profile)

    print(f"overhead: {posts} posts each way for each measure, {accounts} X accounts, "
          "interleaved; ledger SQLite WAL synchronous=FULL")
    first, ratio = rows_for("scheduled: instant -> answer", cm_late, direct_late,
                            "cm-toolkit (cm run's Runner)", "tweepy create_tweet at the instant")
    print(table(first))
    print(f"ledger states after the scheduled run: {states}")
    second, work_ratio = rows_for("work: one whole call", cm_work, direct_work,
                                  "cm-toolkit Publisher.run", "tweepy create_tweet")
    print(table(second))
    complete = len(cm_late) == posts and len(direct_late) == posts
    met = complete and ratio < 1.2
    print(f"target: scheduled ratio (mean) < 1.2: {'met' if met else 'NOT met'}"
          f"{'' if complete else ' (answers missing)'}; work ratio {work_ratio:.2f} "
          "(two durable ledger commits a post: see bench/README.md)")
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
        print(out.getvalue())
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
