"""Scale-out: 10,000 deliveries due at one instant on 125 accounts, ``cm run`` on 1, 2, 4 workers.

    CM_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/cluster_bench.py [--workers 1 2 4] [--quick] [--profile]

For each number of workers, in one run: a fresh schema in the PostgreSQL database, the bench
workspace (``x_workspace.py``: one X channel per account, every post due at the same instant
``T``), the sandbox's X emulator seeding 125 accounts **in its own process**, and N ``cm run``
processes (the real command, as ``cm run --workers N`` starts them) on that ledger. ``T`` is
``--margin`` seconds after the start, so that the leader has applied the workspace and every
worker is fetching jobs when it comes; a run whose workers were not all ready by ``T`` says so.

Measured from the sandbox's journal (the arrival of each ``POST /2/tweets``, the account read
from the post's text): throughput (posts from ``T`` to the last arrival), lateness (arrival -
``T``: median, p99) and budget adherence per account: the workspace's spacing (0.5 s) between two
posts of one account, and X's 100 posts per 15 minutes per account. ``--profile`` samples the
1-worker run's process with py-spy (``pip install py-spy``) while it sends and prints where its
time goes. The inbox's X reads are off (``x_read_budget_usd: 0``) unless ``--inbox``: they
would share the sandbox's process with the sends being measured. Exit status 1: a delivery not
published, or a pacing rule broken.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sqlalchemy as sa
from bench_args import positive_int, positive_seconds
from x_workspace import Due, fallback_env, percentile, sandbox_for, scratch, table, write_workspace

from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Delivery
from cm_toolkit.ledger.states import DeliveryState

SPACING = 0.5  # seconds: the workspace's defaults.spacing
X_LIMIT, X_WINDOW = 100, timedelta(minutes=15)  # X: posts per account per window (API_FACTS)
CM = [sys.executable, "-c", "from cm_toolkit.cli import entry; entry()"]
# where a sampled stack spends its time: the first pattern found in it, innermost first
CATEGORIES = (
    ("waiting for the instant / pacing", ("_wait_until", "_wait_turn", "time.sleep")),
    ("the sandbox's answer (HTTP read)", ("_read_status", "readinto", "recv_into")),
    ("HTTP and the SDK (requests, tweepy)", ("requests/", "urllib3/", "http/client", "tweepy/")),
    ("the ledger (SQLAlchemy, psycopg)", ("sqlalchemy/", "psycopg/")),
    ("the queue (Procrastinate)", ("procrastinate/",)),
    ("rendering (Jinja)", ("jinja2/", "render")),
)


# -- the sandbox's process ------------------------------------------------------------------

def serve_sandbox(accounts: int, journal_out: Path) -> int:
    """Serve the sandbox until stdin closes, then write the create calls' journal."""
    with sandbox_for(accounts).running() as running:
        print(running.base_url, flush=True)
        sys.stdin.read()
        entries = running.journal.entries(network="x", method="POST", path="/2/tweets")
        journal_out.write_text(json.dumps([
            {"at": e.at.isoformat(), "status": e.status,
             "text": (e.json_body() or {}).get("text", "")} for e in entries]), encoding="utf-8")
    return 0


# -- one run --------------------------------------------------------------------------------

@dataclass
class Result:
    workers: int
    arrivals: dict[str, list[datetime]]
    statuses: Counter[int | None]
    states: Counter[str]
    instant: datetime
    ready_after: float  # seconds from T until the last worker said it started (< 0: before)
    ready_in: float  # seconds from the workers' start until the last said it started (the apply)
    profile: str = ""


def fresh_schema(admin_url: str) -> tuple[str, str]:
    schema = f"cm_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    url = sa.make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def drop_schema(admin_url: str, schema: str) -> None:
    engine = sa.create_engine(admin_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    engine.dispose()


def finished(database_url: str, root: Path, deliveries: int) -> Counter[str]:
    ledger = open_ledger(database_url, root)
    try:
        with ledger.reading() as session:
            rows = session.execute(sa.select(Delivery.state, sa.func.count())
                                   .group_by(Delivery.state)).all()
    finally:
        ledger.close()
    return Counter({state.value: int(count) for state, count in rows})


def run_once(args: argparse.Namespace, workers: int, profile: bool) -> Result:
    schema, database_url = fresh_schema(args.database_url)
    try:
        with scratch("cm-cluster-bench-") as folder:
            return _run(args, workers, profile, folder, database_url)
    finally:
        drop_schema(args.database_url, schema)


def _run(args: argparse.Namespace, workers: int, profile: bool, folder: Path,
         database_url: str) -> Result:
    root = folder / "workspace"
    instant = (datetime.now(UTC) + timedelta(seconds=args.margin)).replace(microsecond=0)
    dues = [Due(f"p{i:05d}", i % args.accounts, instant) for i in range(args.deliveries)]
    write_workspace(root, args.accounts, dues, spacing="PT0.5S", inbox_reads=args.inbox)
    journal = folder / "journal.json"
    sandbox = subprocess.Popen(
        [sys.executable, __file__, "--serve-sandbox", str(args.accounts), str(journal)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sandbox.stdout is not None and sandbox.stdin is not None
    base_url = sandbox.stdout.readline().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CM_")}
    env.update(fallback_env(args.accounts), CM_TOKEN_DIR=str(folder / "tokens"))
    processes = []
    started = time.monotonic()
    for index in range(workers):
        with (folder / f"worker-{index}.err").open("wb") as err:
            processes.append(subprocess.Popen(
                [*CM, "run", "--quiet", "--workspace", str(root), "--sandbox", base_url,
                 "--database-url", database_url, "--log-file", str(folder / "cm.log")],
                stdout=subprocess.DEVNULL, stderr=err, env=env))
    sampler = None
    try:
        while not all("cm run started" in (folder / f"worker-{i}.err").read_text()
                      for i in range(workers)):
            assert all(p.poll() is None for p in processes), "a worker exited at start"
            time.sleep(0.2)
        ready_after = (datetime.now(UTC) - instant).total_seconds()
        ready_in = time.monotonic() - started
        if profile:
            while datetime.now(UTC) < instant:
                time.sleep(0.05)
            sampler = subprocess.Popen(
                [py_spy(), "record", "--nonblocking", "--format",
                 "raw", "--rate", "50", "--duration", str(args.profile_seconds), "--pid",
                 str(processes[0].pid), "--output", str(folder / "profile.txt")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + args.margin + args.within
        states: Counter[str] = Counter()
        while time.monotonic() < deadline:
            states = finished(database_url, root, args.deliveries)
            waiting = sum(states[s.value] for s in (DeliveryState.PLANNED,
                                                    DeliveryState.RETRY_WAIT,
                                                    DeliveryState.SENDING))
            if states.total() == args.deliveries and not waiting:
                break
            time.sleep(0.5)
        if sampler is not None:
            sampler.wait(timeout=args.profile_seconds + 60)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
        sandbox.stdin.close()
        sandbox.wait(timeout=60)
    calls = json.loads(journal.read_text(encoding="utf-8"))
    arrivals: dict[str, list[datetime]] = defaultdict(list)
    statuses: Counter[int | None] = Counter()
    for call in calls:
        statuses[call["status"]] += 1
        if call["status"] == 201:
            arrivals[call["text"].rsplit(" on ", 1)[-1]].append(
                datetime.fromisoformat(call["at"]))
    summary = summarise_profile(folder / "profile.txt") if profile else ""
    return Result(workers, arrivals, statuses, states, instant, ready_after, ready_in, summary)


# -- figures --------------------------------------------------------------------------------

def pacing(arrivals: dict[str, list[datetime]]) -> tuple[float, int, int]:
    """(smallest gap between two posts of one account, gaps under the spacing, largest count
    of one account's posts in any X window)."""
    smallest, close, largest = float("inf"), 0, 0
    for values in arrivals.values():
        values = sorted(values)
        for a, b in pairwise(values):
            gap = (b - a).total_seconds()
            smallest = min(smallest, gap)
            close += gap < SPACING
        start = 0
        for end, instant in enumerate(values):
            while values[start] <= instant - X_WINDOW:
                start += 1
            largest = max(largest, end - start + 1)
    return smallest, close, largest


def py_spy() -> str:
    """py-spy beside this Python (a virtualenv's bin/ is not always on PATH), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy") or "py-spy"


def summarise_profile(path: Path) -> str:
    """py-spy's collapsed stacks -> the share of samples per category and the top functions."""
    if not path.exists():
        return "no profile (is py-spy installed, and may it attach?)"
    categories: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaves[frames[-1]] += count
        for name, needles in CATEGORIES:
            if any(needle in frame for frame in reversed(frames) for needle in needles):
                categories[name] += count
                break
        else:
            categories["other (Python of cm-toolkit, threads, the loop)"] += count
    lines = [f"{total} samples of active threads"]
    lines += [f"  {share * 100 / total:5.1f} %  {name}" for name, share in
              categories.most_common()]
    lines.append("top functions (self):")
    lines += [f"  {count * 100 / total:5.1f} %  {frame}" for frame, count in
              leaves.most_common(12)]
    return "\n".join(lines)


HEADER = ["workers", "published", "throughput /s", "last post after T", "lateness median",
          "lateness p99", "min gap s", f"gaps < {SPACING:g} s", f"max in 15 min (X: {X_LIMIT})",
          "ready before T"]


def row(result: Result, deliveries: int) -> tuple[list[str], bool]:
    """One run's line of the table, and whether it published everything within the rules."""
    late = sorted((at - result.instant).total_seconds()
                  for values in result.arrivals.values() for at in values)
    published = len(late)
    smallest, close, largest = pacing(result.arrivals)
    last = late[-1] if late else float("nan")
    line = [
        str(result.workers), f"{published}/{deliveries}",
        f"{published / last:.1f}" if late else "-", f"{last:.1f} s",
        f"{percentile(late, 0.5):.1f} s" if late else "-",
        f"{percentile(late, 0.99):.1f} s" if late else "-",
        f"{smallest:.3f}", str(close), str(largest),
        "yes" if result.ready_after <= 0 else f"NO (+{result.ready_after:.1f} s)"]
    return line, published == deliveries and close == 0 and largest <= X_LIMIT


def report(results: list[Result], deliveries: int) -> bool:
    rows = [HEADER]
    ok = True
    for result in results:
        line, good = row(result, deliveries)
        rows.append(line)
        ok = ok and good
        print(f"{result.workers} worker(s): ledger {dict(result.states)}; sandbox answers "
              f"{dict(result.statuses)}; all started (the leader applied) "
              f"{result.ready_in:.1f} s after launch")
    print(table(rows))
    for result in results:
        if result.profile:
            print(f"\nwhere the time goes ({result.workers} worker, py-spy):\n{result.profile}")
    return ok


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-sandbox":
        return serve_sandbox(int(sys.argv[2]), Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--quick", action="store_true", help="1,000 deliveries on 25 accounts")
    parser.add_argument("--deliveries", type=positive_int, help="instead of 10,000")
    parser.add_argument("--accounts", type=positive_int, help="instead of 125")
    parser.add_argument("--margin", type=positive_seconds, default=75.0,
                        help="seconds from the start to the instant (the leader applies first)")
    parser.add_argument("--within", type=positive_seconds, default=600.0,
                        help="seconds after the instant to wait for the last delivery")
    parser.add_argument("--inbox", action="store_true",
                        help="let cm run's inbox job read X meanwhile (off: the publishing alone)")
    parser.add_argument("--profile", action="store_true", help="py-spy on the 1-worker run")
    parser.add_argument("--profile-seconds", type=positive_int, default=30)
    parser.add_argument("--database-url", default=os.environ.get("CM_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("a PostgreSQL database: --database-url or CM_BENCH_POSTGRES_URL")
    args.deliveries = args.deliveries or (1_000 if args.quick else 10_000)
    args.accounts = args.accounts or (25 if args.quick else 125)
    print(f"{args.deliveries} deliveries due at one instant on {args.accounts} X accounts "
          f"({args.deliveries // args.accounts} each), spacing {SPACING:g} s; workers "
          f"{args.workers}; load average before: {os.getloadavg()[0]:.1f}")
    results = []
    for workers in args.workers:
        # the machine may be shared: its load when each run starts, beside the run's figures
        print(f"  {workers} worker(s): starting; load average {os.getloadavg()[0]:.1f}",
              flush=True)
        results.append(run_once(args, workers, args.profile and workers == 1))
        # each run's line at once: a long run stopped later still leaves the finished ones
        print(f"  {workers} worker(s) done; load average {os.getloadavg()[0]:.1f}; "
              f"{' | '.join(row(results[-1], args.deliveries)[0])}; started "
              f"{results[-1].ready_in:.1f} s after launch", flush=True)
    return 0 if report(results, args.deliveries) else 1


if __name__ == "__main__":
    sys.exit(main())
