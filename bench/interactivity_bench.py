"""Interactivity metrics over a million inbox messages (``cm report activity``'s section).

    .venv/bin/python bench/interactivity_bench.py                      # SQLite, 1,000,000
    .venv/bin/python bench/interactivity_bench.py --messages 100000    # smaller
    .venv/bin/python bench/interactivity_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/interactivity_bench.py --keep DIR   # keep the SQLite ledger in DIR
    .venv/bin/python bench/interactivity_bench.py --keep DIR --reuse   # measure it again

A ledger made by the real migrations (SQLite in a temporary folder, or a fresh schema on the
PostgreSQL server given) gets ``--messages`` community messages (default 1,000,000) on four
networks over 26 weeks, 2,000 conversations, inserted with SQLAlchemy Core ``executemany`` in
batches: 60% answered (a third of those by an auto answer; delays from 1 minute to 3 days,
log-uniform), 15% closed, 5% ignored, 20% still new or open; 40% questions. Then
``build_interactivity`` (every week, every network, totals) is timed: median of ``--runs``
(default 3) after one warm-up, wall time and this process's CPU time (on SQLite the
queries run in this process, so CPU time is their cost whatever else shares the machine; on
PostgreSQL it is only the client's part). Target: under 5 s. Exit status 0 when it is met,
else 1.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench_args import positive_int

from cm_toolkit.growth.interactivity import build_interactivity, summary_lines
from cm_toolkit.ledger import open_ledger
from cm_toolkit.ledger.models import Conversation
from cm_toolkit.ledger.repository import Ledger

TARGET_S = 5.0
START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
WEEKS = 26
NETWORKS = ("facebook", "x", "linkedin", "youtube")
BATCH = 20_000


def fill(ledger: Ledger, count: int, rng: random.Random) -> float:
    started = time.perf_counter()
    span = WEEKS * 7 * 86400
    with ledger.write_engine.begin() as connection:
        connection.execute(sa.insert(Conversation), [
            {"id": i + 1, "channel_id": f"{NETWORKS[i % 4]}-channel", "network": NETWORKS[i % 4],
             "thread_remote_id": f"t{i}", "last_message_at": START, "created_at": START,
             "updated_at": START} for i in range(2000)])
    for offset in range(0, count, BATCH):
        rows = []
        for n in range(offset, min(offset + BATCH, count)):
            conversation = rng.randrange(2000)
            received = START + timedelta(seconds=rng.randrange(span))
            roll = rng.random()
            answered_at = None
            state = "new" if roll < 0.1 else "open" if roll < 0.2 else "ignored" if roll < 0.25 \
                else "closed" if roll < 0.4 else "answered"
            if state == "answered":
                answered_at = received + timedelta(seconds=math.exp(rng.uniform(4.1, 12.5)))
            rows.append({
                "conversation_id": conversation + 1, "channel_id": f"{NETWORKS[conversation % 4]}"
                "-channel", "network": NETWORKS[conversation % 4], "remote_id": f"m{n}",
                "kind": "comment", "source": "comments", "author_id": f"a{n % 5000}",
                "author_name": "Learner", "text": "Où est le lien du live ?",
                "is_question": rng.random() < 0.4, "from_us": False, "received_at": received,
                "synced_at": received, "state": state, "first_answered_at": answered_at,
                "auto_answered": answered_at is not None and rng.random() < 0.33,
                "created_at": received, "updated_at": answered_at or received, "version": 1,
            })
        _insert(ledger, rows)
    return time.perf_counter() - started


def _insert(ledger: Ledger, rows: list[dict[str, object]]) -> None:
    """The DBAPI's own executemany (SQLAlchemy's per-value type processing would take minutes
    for a million rows): SQLite gets the text form ``UtcDateTime`` stores."""
    columns = list(rows[0])
    if ledger.engine.dialect.name == "sqlite":
        def plain(value: object) -> object:
            if isinstance(value, datetime):
                return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            return value

        raw = ledger.write_engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("BEGIN")  # the engine's connections are in autocommit mode
            cursor.executemany(
                f"INSERT INTO inbox_messages ({', '.join(columns)}) VALUES "
                f"({', '.join('?' for _ in columns)})",
                [tuple(plain(row[c]) for c in columns) for row in rows])
            raw.commit()
        finally:
            raw.close()
        return
    with ledger.write_engine.begin() as connection:
        raw_connection = connection.connection.driver_connection
        assert raw_connection is not None
        with raw_connection.cursor().copy(
                f"COPY inbox_messages ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=positive_int, default=1_000_000)
    parser.add_argument("--runs", type=positive_int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="SQLite: the ledger's folder")
    parser.add_argument("--reuse", action="store_true", help="with --keep: do not fill again")
    args = parser.parse_args()
    rng = random.Random(7)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cm-interactivity-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{folder / 'ledger.db'}"
    schema = None
    if url.startswith("postgresql"):
        schema = f"cm_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(url)
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        url = sa.make_url(url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    ledger = open_ledger(url, folder)
    try:
        if not (args.reuse and args.keep):
            built = fill(ledger, args.messages, rng)
            print(f"{args.messages:,} messages inserted in {built:.1f} s "
                  f"({ledger.engine.dialect.name})")
        zone, now = ZoneInfo("Europe/Paris"), START + timedelta(weeks=WEEKS, days=3)
        build_interactivity(ledger, zone, now=now)  # warm-up (page cache)
        times, cpu = [], []
        for _ in range(args.runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            report = build_interactivity(ledger, zone, now=now)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        print(f"build_interactivity: {len(report.weeks)} week rows, {len(report.totals)} "
              f"networks; median {statistics.median(times):.2f} s wall, "
              f"{statistics.median(cpu):.2f} s CPU in this process; runs "
              + ", ".join(f"{t:.2f}" for t in times) + f" (target < {TARGET_S:.0f} s)")
        for line in summary_lines(report):
            print("  " + line)
        ok = statistics.median(times) < TARGET_S
        print("OK" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        ledger.close()
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
        if schema is not None and args.database_url:
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
