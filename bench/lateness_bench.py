"""Lateness: how long after its instant does a delivery's request reach the network?

    .venv/bin/python bench/lateness_bench.py              # 10,000 deliveries over 300 s
    .venv/bin/python bench/lateness_bench.py --spread 100 # 100 a second: past saturation
    .venv/bin/python bench/lateness_bench.py --quick      # 250 deliveries over 10 s

The default offers 33 deliveries a second, a third of what one process sustains with the
sandbox in it (about 100 a second, see the burst benchmark): the lateness is then the engine's
own, not a queue's. At 100 a second the queue grows for as long as the offer lasts.

The real ``Runner`` (APScheduler alarms at ``clock.wall_time(due)``, the publisher's
compare-and-set claim in a SQLite ledger, the X adapter, tweepy) publishes to the in-process
sandbox over loopback HTTP, everything on ``SystemClock``. Lateness of one delivery = the
sandbox journal's ``at`` of its ``POST /2/tweets`` (the sandbox clock read when the request has
been read, before the emulator processes it) minus its ``due_at``.

Setup (so that no pacing rule delays a delivery, and the lateness is the engine's alone):
``--accounts`` X accounts (channels ``xb-000``...), deliveries ``--spread / --deliveries`` apart
in round robin over the accounts, so two deliveries on one account are
``accounts * spread / deliveries`` apart (3.75 s in the full run); spacing 0.5 s (every check
still runs); X's default budget (95 posts per 15 minutes per account) against 80 posts per
account; the sandbox's own X limits (100 posts per 15 minutes per account, 10,000 per day per
app) are never reached. The due instants are written into ``schedules.yaml`` ahead of a setup
(load, plan, apply of the workspace, one alarm per delivery) that takes about a minute for
10,000 posts; the bench fails if the setup overran the first instant.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_args import positive_int, positive_seconds
from x_workspace import (
    Due,
    channels_factory,
    load,
    sandbox_for,
    scratch,
    summary_ms,
    table,
    write_workspace,
)

from cm_toolkit.cli.scheduler import JsonLogFormatter
from cm_toolkit.clock import SystemClock
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.scheduler.runner import Runner, RunOptions

POST_ID = re.compile(r"Bench post (p\d+) on ")


def log_like_cm_run(log_file: Path) -> logging.Handler:
    """``cm run`` logs one JSON line per outcome to a file: so does the bench (it is work too)."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(JsonLogFormatter())
    for name, level in (("cm", logging.INFO), ("apscheduler", logging.WARNING)):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        logger.addHandler(handler)
    return handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="250 deliveries over 10 s")
    parser.add_argument("--deliveries", type=positive_int)
    parser.add_argument("--accounts", type=positive_int)
    parser.add_argument("--spread", type=positive_seconds, help="seconds the due instants cover")
    parser.add_argument("--threads", type=positive_int, default=8, help="RunOptions.threads")
    args = parser.parse_args()
    deliveries = args.deliveries or (250 if args.quick else 10_000)
    accounts = args.accounts or (25 if args.quick else 125)
    spread = args.spread or (10.0 if args.quick else 300.0)
    # setup measured at ~4 ms per delivery (load ~1.6, apply ~2.1): twice that, plus margin
    lead = 8.0 + deliveries * 0.008

    clock = SystemClock()
    first = clock.now() + timedelta(seconds=lead)
    step = spread / deliveries
    dues = [
        Due(f"p{i:05d}", i % accounts, first + timedelta(seconds=i * step))
        for i in range(deliveries)
    ]
    due_of = {d.post_id: d.at for d in dues}
    with scratch("cm-lateness-") as folder:
        root = folder / "workspace"
        write_workspace(root, accounts, dues, spacing="1s")
        handler = log_like_cm_run(folder / "cm.log")
        ledger = open_ledger(None, root)
        sandbox = sandbox_for(accounts, clock)
        setup_started = time.monotonic()
        workspace = load(root)  # once: the files do not change during the run
        with sandbox.running():
            runner = Runner(
                root=root, ledger=ledger, clock=clock, load=lambda _root: workspace,
                channels=channels_factory(sandbox.transport(), accounts),
                options=RunOptions(threads=args.threads, spacing=timedelta(milliseconds=500),
                                   resync_seconds=5.0),
            )
            runner.start()  # apply (10,000 rows) + one alarm per delivery
            setup = time.monotonic() - setup_started
            margin = (first - clock.now()).total_seconds()
            if margin < 1.0:
                runner.stop()
                print(f"setup took {setup:.1f} s and overran the first due instant "
                      f"(margin {margin:.1f} s): lateness would be wrong", file=sys.stderr)
                return 2
            last = dues[-1].at
            seen, progress = 0, time.monotonic()
            # until every request arrived, or none for 15 s after the last instant
            while len(sandbox.journal) < deliveries:
                # len() only: copying the journal every poll would compete with the run
                if len(sandbox.journal) > seen:
                    seen, progress = len(sandbox.journal), time.monotonic()
                elif clock.now() > last and time.monotonic() - progress > 15:
                    break
                time.sleep(0.5)
            runner.stop()
            entries = sandbox.journal.entries(network="x", method="POST", path="/2/tweets")
        with ledger.reading() as session:
            claims = {
                row.post_key: row.claimed_at
                for row in session.query(Delivery.post_key, Delivery.claimed_at)
            }
            states: dict[str, int] = {}
            for (state,) in session.query(Delivery.state):
                states[state.value] = states.get(state.value, 0) + 1
        ledger.close()
        handler.close()

    statuses: dict[int | None, int] = {}
    arrival: list[float] = []
    alarm: list[float] = []
    for entry in entries:
        statuses[entry.status] = statuses.get(entry.status, 0) + 1
        found = POST_ID.search(entry.json_body()["text"])
        assert found, entry.body
        post_id = found.group(1)
        arrival.append((entry.at - due_of[post_id]).total_seconds())
        claimed = claims.get(post_id)
        if claimed is not None:
            alarm.append((claimed - due_of[post_id]).total_seconds())
    print(f"lateness: {deliveries} deliveries on {accounts} X accounts, due {step * 1000:.0f} ms "
          f"apart over {spread:.0f} s; {args.threads} threads; setup {setup:.1f} s")
    print(f"requests received: {len(entries)} (status {dict(sorted(statuses.items(), key=str))});"
          f" ledger states: {states}")
    rows = [["measured from due_at to", "n", "min ms", "median ms", "p90 ms", "p99 ms",
             "max ms"]]
    for label, values in (("publisher start (claimed_at)", alarm),
                          ("request at the sandbox", arrival)):
        s = summary_ms(values)
        rows.append([label, str(len(values))] + [f"{s[k]:.1f}" for k in
                                                  ("min", "median", "p90", "p99", "max")])
    print(table(rows))
    median, p99 = summary_ms(arrival)["median"], summary_ms(arrival)["p99"]
    ok = len(arrival) == deliveries and median < 5.0 and p99 < 50.0
    print(f"target median < 5 ms and p99 < 50 ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
