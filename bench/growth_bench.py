"""Growth reads at scale: the dashboard and ``cm growth report`` over 1.1 million snapshots.

    .venv/bin/python bench/growth_bench.py                  # build, measure, report
    .venv/bin/python bench/growth_bench.py --channels 200   # smaller
    .venv/bin/python bench/growth_bench.py --keep DIR       # keep the workspace and ledger

A SQLite ledger in a temporary folder gets ``--channels`` channels (default 1,000) with three
years of daily follower snapshots (1,096 days: about 1.1 million rows), and ``--posts`` published
deliveries per channel (default 30) with an engagement measure each, inserted with DBAPI
``executemany`` in large batches. The ledger is created by the real migrations.

Then:
- the growth table of every channel is computed in process (median of 5);
- the dashboard (the real WSGI app on the real threading server, over HTTP on 127.0.0.1) gets one
  first request for the overview (it computes every card), then is asked ``--requests`` times
  (default 25, after 2 warm-up requests) for the overview page, the overview chart's JSON, one
  channel's page and that channel's growth chart JSON; p50 and p95 per URL
  (target: p95 under 300 ms). The cards and the overview chart are recomputed whenever the
  ledger changes (see docs/dashboard.md), so the first request is what a visitor waits for
  after each new snapshot;
- ``cm growth report --format csv`` for all channels runs as a subprocess (the real CLI, a cold
  interpreter; its workspace has one channel file, the ledger's 1,000 channels are all reported;
  target: under 2 s).
Exit status 0 when every target is met, else 1.
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench_args import positive_int

from cm_toolkit.clock import ManualClock
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.metrics import growth_table
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.server import serving

DAYS = 1096
START = datetime(2024, 1, 1, 5, 0, tzinfo=UTC)
NETWORKS = ("facebook", "x", "linkedin", "youtube")
TARGET_P95_MS = 300.0
TARGET_REPORT_S = 2.0
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite dialect stores a DateTime

SCHEDULES = """\
version: 1
timezone: Europe/Paris
growth:
  snapshot: "0 6 * * *"
  reference: "2025-01-01 00:00"
campaigns: []
"""
CHANNEL = """\
network: manual
name: "A manual channel"
account:
  url: "https://example.org/group"
"""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(SQLITE_TIME)


def build(folder: Path, channels: int, posts: int) -> tuple[Path, float, int]:
    (folder / "channels").mkdir(parents=True)
    (folder / "schedules.yaml").write_text(SCHEDULES, encoding="utf-8")
    (folder / "channels" / "group.yaml").write_text(CHANNEL, encoding="utf-8")
    database = folder / "cm.db"
    ledger = open_ledger(f"sqlite:///{database}", folder)
    ledger.close()
    started = time.perf_counter()
    import sqlite3

    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = OFF")
    rows = 0
    now = _stamp(START + timedelta(days=DAYS))
    connection.execute("INSERT INTO campaigns VALUES ('bench', 'Bench', ?, 1, ?, ?)",
                       (_stamp(START), now, now))
    delivery_id = 0
    for index in range(channels):
        cid = f"channel-{index:04d}"
        network = NETWORKS[index % len(NETWORKS)]
        base, slope = 1_000 + 37 * index, 1 + index % 9
        connection.executemany(
            "INSERT INTO follower_snapshots (channel_id, network, taken_at, followers) "
            "VALUES (?, ?, ?, ?)",
            [(cid, network, _stamp(START + timedelta(days=day)), base + slope * day + day % 7)
             for day in range(DAYS)])
        rows += DAYS
        for number in range(posts):
            delivery_id += 1
            key = f"post-{index:04d}-{number:03d}"
            due = START + timedelta(days=(number * DAYS) // max(posts, 1), hours=4)
            connection.execute("INSERT INTO posts VALUES (?, 'post', 'bench', ?, NULL, 'bench', "
                               "1, ?, ?)", (key, key, now, now))
            connection.execute(
                "INSERT INTO deliveries (id, post_key, channel_id, network, occurrence, due_at, "
                "state, attempts, remote_id, remote_url, fingerprint, grace_seconds, created_at,"
                " updated_at, version, held) VALUES (?, ?, ?, ?, 0, ?, 'published', 1, ?, ?, "
                "'f', 7200, ?, ?, 3, 0)",
                (delivery_id, key, cid, network, _stamp(due), f"r{delivery_id}",
                 f"https://example.org/{delivery_id}", now, _stamp(due + timedelta(minutes=2))))
            connection.execute(
                "INSERT INTO engagement (delivery_id, reactions, comments, shares, views, "
                "measured_at) VALUES (?, ?, ?, ?, NULL, ?)",
                (delivery_id, 10 + number, 2, 1, _stamp(due + timedelta(days=1))))
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()
    return database, time.perf_counter() - started, rows


def measure(url: str, count: int) -> list[float]:
    parts = urlsplit(url)
    timings: list[float] = []
    for _ in range(count):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        started = time.perf_counter()
        connection.request("GET", parts.path)
        answer = connection.getresponse()
        answer.read()
        timings.append((time.perf_counter() - started) * 1000)
        connection.close()
        if answer.status != 200:
            raise SystemExit(f"{url}: HTTP {answer.status}")
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=positive_int, default=1000)
    parser.add_argument("--posts", type=positive_int, default=30)
    parser.add_argument("--requests", type=positive_int, default=25)
    parser.add_argument("--keep", type=Path, default=None)
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="cm-growth-bench-"))
    try:
        database, seconds, rows = build(folder, options.channels, options.posts)
        print(f"ledger: {database} ({database.stat().st_size / 1e6:.0f} MB), {rows:,} snapshots "
              f"of {options.channels:,} channels, {options.channels * options.posts:,} published "
              f"deliveries; inserted in {seconds:.1f} s")
        ledger = open_ledger(f"sqlite:///{database}", folder)
        context = GrowthContext.bare(ledger)
        clock = ManualClock(START + timedelta(days=DAYS - 30))
        ok = True
        table_ms = []
        for _ in range(5):
            started = time.perf_counter()
            growth_table(ledger, context)
            table_ms.append((time.perf_counter() - started) * 1000)
        print(f"growth table of {options.channels:,} channels, in process: "
              f"median {statistics.median(table_ms):.0f} ms of 5")
        with serving(Dashboard(ledger, context, clock)) as base:
            middle = f"channel-{options.channels // 2:04d}"
            [cold] = measure(base + "/", 1)
            print(f"GET / first request (computes every card): {cold:.0f} ms")
            for path in ("/", "/api/overview/growth.json", f"/channel/{middle}",
                         f"/api/channel/{middle}/growth.json"):
                measure(base + path, 2)  # warm up, as a running dashboard is
                timings = measure(base + path, options.requests)
                p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
                ok &= p95 < TARGET_P95_MS
                print(f"GET {path:<42} n={len(timings)}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms"
                      f"  (target p95 < {TARGET_P95_MS:.0f} ms)")
        ledger.close()
        started = time.perf_counter()
        done = subprocess.run(
            [str(REPO / ".venv" / "bin" / "cm"), "growth", "report", "--workspace", str(folder),
             "--database-url", f"sqlite:///{database}", "--format", "csv"],
            capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        lines = done.stdout.count("\n") - 1
        ok &= done.returncode == 0 and elapsed < TARGET_REPORT_S and lines == options.channels
        print(f"cm growth report --format csv: {lines:,} channels in {elapsed:.2f} s "
              f"(exit {done.returncode}; target < {TARGET_REPORT_S:.0f} s, cold interpreter)")
        if done.returncode:
            print(done.stderr)
        return 0 if ok else 1
    finally:
        if options.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
