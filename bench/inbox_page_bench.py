"""The dashboard's Inbox page over a million inbox messages (SQLite, the default ledger).

    .venv/bin/python bench/inbox_page_bench.py                   # 1,000,000 messages
    .venv/bin/python bench/inbox_page_bench.py --messages 100000 --requests 20
    .venv/bin/python bench/inbox_page_bench.py --keep DIR        # keep the ledger

A SQLite ledger (created by the real migrations) in a temporary folder gets ``--messages``
messages (default 1,000,000) in ``--messages / 20`` conversations on five channels (Facebook,
X, LinkedIn page, YouTube, the manual LinkedIn group: 2 % of the messages), received over a
year in shuffled order (ids do not follow time), with FAQ suggestions on every third one.
States: 4 % new, 6 % open, the rest answered, closed or ignored. Rows are written with a bulk
insert on the models' tables (``insert(InboxMessage.__table__)`` with lists of rows, 20,000 per
statement: one executemany each; column types, enums and UTC times as the ORM binds them).

Then the dashboard (the real WSGI app on the real threading server, over HTTP on 127.0.0.1) is
asked ``--requests`` times (default 50, after 2 warm-up requests) for: the first page, the third
page (keyset ``?before=`` from the page's own "older" link), a network filter, the small manual
channel, one state of 700,000 rows (``answered``), a network without any message (Meet: the
worst case, every actionable row is examined) and a message's thread; p50 and p95 per URL.
Target: p95 under 300 ms. The query plans of the listing are printed (they must use the
``(state, received_at)`` index, no temporary sort). Last, the interactivity page
(``/inbox/metrics``): the time of its computation (once a minute) and of a served copy.
Exit status 0 when every target is met.
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench_args import positive_int
from sqlalchemy import Table, insert, text

from cm_toolkit.clock import ManualClock
from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.models import Conversation, InboxMessage
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import MessageState
from cm_toolkit.web.app import Dashboard
from cm_toolkit.web.server import serving

START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_SECONDS = 365 * 86400
NOW = START + timedelta(days=366)
TARGET_P95_MS = 300.0
BATCH = 20_000
CHANNELS = [("facebook-page", "facebook", 30), ("x-mooc", "x", 25),
            ("linkedin-page", "linkedin", 18), ("youtube", "youtube", 25),
            ("linkedin-group", "manual", 2)]  # weights in % of the messages
STATES = [(MessageState.NEW, 4), (MessageState.OPEN, 6), (MessageState.ANSWERED, 70),
          (MessageState.CLOSED, 15), (MessageState.IGNORED, 5)]
TEXTS = ["Bonjour, où trouver le lien du live de jeudi ?", "Merci pour la vidéo !",
         "How do I get the certificate at the end?", "Le module 3 ne s'ouvre pas chez moi.",
         "Combien d'heures par semaine faut-il prévoir ?", "Are there subtitles in English?"]
CONVERSATIONS = cast(Table, Conversation.__table__)
MESSAGES = cast(Table, InboxMessage.__table__)
SUGGESTIONS = {"faq": [["live-lien", 7.2, "Lien du live", False],
                       ["certificat", 3.1, "Certificat", True]]}


def _weighted(rng: random.Random, choices: list[tuple[Any, int]]) -> Any:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def build(folder: Path, messages: int) -> tuple[Path, float]:
    database = folder / "cm.db"
    ledger = open_ledger(f"sqlite:///{database}", folder)
    rng = random.Random(2026)
    started = time.perf_counter()
    conversations = max(1, messages // 20)
    threads = []  # (channel, network) of each conversation, in id order
    with ledger.writing() as session:
        rows = []
        for number in range(1, conversations + 1):
            channel, network, _ = _weighted(rng, [(c, c[2]) for c in CHANNELS])
            threads.append((channel, network))
            rows.append({"id": number, "channel_id": channel, "network": network,
                         "thread_remote_id": f"t{number}", "last_message_at": NOW,
                         "created_at": START, "updated_at": START})
        for begin in range(0, len(rows), BATCH):
            session.execute(insert(CONVERSATIONS), rows[begin:begin + BATCH])
        for begin in range(0, messages, BATCH):
            batch = []
            for number in range(begin + 1, min(messages, begin + BATCH) + 1):
                conversation = rng.randrange(conversations)
                channel, network = threads[conversation]
                state = _weighted(rng, STATES)
                received = START + timedelta(seconds=rng.randrange(YEAR_SECONDS))
                batch.append({
                    "id": number, "conversation_id": conversation + 1, "channel_id": channel,
                    "network": network, "remote_id": f"m{number}", "kind": "comment",
                    "source": "comments", "parent_remote_id": None, "author_id": f"u{number % 9973}",
                    "author_name": f"Learner {number % 9973}", "text": TEXTS[number % len(TEXTS)],
                    "language": "fr", "url": None, "is_question": number % 2 == 0,
                    "from_us": False, "received_at": received, "synced_at": received,
                    "state": state, "assignee": "instructor" if state is MessageState.OPEN else None,
                    "first_answered_at": received + timedelta(hours=3)
                    if state is MessageState.ANSWERED else None, "auto_answered": False,
                    "suggestions": SUGGESTIONS if number % 3 == 0 else None, "purged_at": None,
                    "created_at": received, "updated_at": received, "version": 1})
            session.execute(insert(MESSAGES), batch)
        session.execute(text("ANALYZE"))
    ledger.close()
    return database, time.perf_counter() - started


def get(base: str, path: str) -> tuple[int, str, float]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    started = time.perf_counter()
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read().decode("utf-8")
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    return answer.status, body, elapsed


def measure(base: str, path: str, count: int) -> list[float]:
    """Milliseconds of ``count`` GETs of ``path`` with its query (growth_bench's ``measure``
    asks the path alone)."""
    timings = []
    for _ in range(count):
        status, _, elapsed = get(base, path)
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status}")
        timings.append(elapsed)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def older_link(page: str) -> str:
    found = re.search(r'id="older" href="([^"]+)"', page)
    if found is None:
        raise SystemExit("the first page has no link to older messages")
    return found.group(1).replace("&amp;", "&")


def query_plans(ledger: Ledger) -> list[str]:
    """SQLite's plan of one state's page as the page asks it: first page, keyset page, and
    filtered by channel and by network."""
    plans = []
    keyset = "AND (received_at, id) < ('2026-06-01 00:00:00.000000', 500000) "
    with ledger.reading() as session:
        for where in ("", keyset, "AND channel_id = 'linkedin-group' ",
                      f"AND network = 'youtube' {keyset}"):
            rows = session.execute(text(
                "EXPLAIN QUERY PLAN SELECT * FROM inbox_messages WHERE state = 'new' "
                f"AND from_us = 0 {where}ORDER BY received_at DESC, id DESC LIMIT 51")).all()
            plans.append(f"{where.strip() or 'first page':<70} " + " / ".join(
                str(row[-1]) for row in rows))
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=positive_int, default=1_000_000)
    parser.add_argument("--requests", type=positive_int, default=50)
    parser.add_argument("--keep", type=Path, default=None)
    options = parser.parse_args()
    folder = options.keep or Path(tempfile.mkdtemp(prefix="cm-inbox-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        database, seconds = build(folder, options.messages)
        print(f"ledger: {database} ({database.stat().st_size / 1e6:.0f} MB), "
              f"{options.messages:,} messages in {max(1, options.messages // 20):,} "
              f"conversations; bulk insert in {seconds:.1f} s")
        ledger = open_ledger(f"sqlite:///{database}", folder)
        for plan in query_plans(ledger):
            print(f"plan: {plan}")
        context = GrowthContext(names={c: c for c, _, _ in CHANNELS})
        ok = True
        app = Dashboard(ledger, context, ManualClock(NOW), language="fr")
        with serving(app) as base:
            status, first, _ = get(base, "/inbox")
            third = older_link(get(base, older_link(first))[1])
            thread = re.search(r'href="(/inbox/message/\d+)"', first)
            assert status == 200 and thread is not None
            for path in ("/inbox", third, "/inbox?network=youtube",
                         "/inbox?channel=linkedin-group", "/inbox?state=answered",
                         "/inbox?network=meet",
                         thread.group(1)):
                measure(base, path, 2)  # warm up, as a running dashboard is
                timings = measure(base, path, options.requests)
                p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
                ok &= p95 < TARGET_P95_MS
                shown = path if len(path) < 44 else path[:41] + "..."
                print(f"GET {shown:<44} n={len(timings)}  p50 {p50:6.1f} ms  "
                      f"p95 {p95:6.1f} ms  (target p95 < {TARGET_P95_MS:.0f} ms)")
            # not a p95 target: the metrics read every message, so a background thread
            # computes them at most once a minute while the page serves the last table
            started = time.perf_counter()
            status, _, answered = get(base, "/inbox/metrics")
            app.inbox.metrics_computed.wait()
            computed = (time.perf_counter() - started) * 1000
            _, _, served = get(base, "/inbox/metrics")
            print(f"GET /inbox/metrics (interactivity of every message): answered in "
                  f"{answered:.0f} ms (HTTP {status}), computed in the background in "
                  f"{computed:.0f} ms, then served in {served:.1f} ms")
        ledger.close()
        return 0 if ok else 1
    finally:
        if options.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
