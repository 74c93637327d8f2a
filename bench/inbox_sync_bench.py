"""Benchmark: storing synced messages into the ledger, and the inbox listing on a large ledger.

1. ``InboxLedger.store_page`` with pages of 100 messages (what a sync does per read call: a
   look-up of known ids, insert-or-ignore per message, conversations upserted, a RECEIVED event
   per new message, the read's cost and the cursor, in one transaction) until ``--messages``
   are stored; then the same pages again (a sync run twice: nothing stored).
2. ``--listing N``: grows the ledger to N messages (bulk rows, 2% still to handle, the rest
   answered/closed/ignored), then times ``InboxLedger.listing`` (``cm inbox``) with and
   without filters, median and p95 of 20 runs each.

    .venv/bin/python bench/inbox_sync_bench.py                          # 100,000, SQLite
    .venv/bin/python bench/inbox_sync_bench.py --database-url postgresql+psycopg://...
    .venv/bin/python bench/inbox_sync_bench.py --messages 20000 --listing 1000000

Exits 1 when a target is missed: 100,000 messages stored in under 120 s, the listing p95 under
300 ms. Figures in bench/README.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from cm_toolkit.channels.base import IncomingMessage, MessageKind
from cm_toolkit.ledger.engine import open_ledger
from cm_toolkit.ledger.inbox import Annotation, InboxFilter, InboxLedger, ReadCost
from cm_toolkit.ledger.models import Conversation, InboxMessage
from cm_toolkit.ledger.states import MessageState

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_args import count_or_zero, positive_int

START = datetime(2027, 1, 4, 8, tzinfo=UTC)
PAGE = 100
NETWORKS = [("facebook-page", "facebook"), ("x-mooc", "x"),
            ("youtube", "youtube"), ("linkedin-page", "linkedin")]


def page(n: int, channel: str) -> list[IncomingMessage]:
    return [IncomingMessage(
        remote_id=f"{channel}-{i}", kind=MessageKind.COMMENT, author_id=f"u{i % 5000}",
        author_name=f"Learner {i % 5000}", text=f"Question {i} sur le module {i % 9} ?",
        created_at=START + timedelta(seconds=30 * i), thread_remote_id=f"post-{i // 40}",
        post_remote_id=f"post-{i // 40}") for i in range(n, n + PAGE)]


def store(inbox: InboxLedger, total: int) -> float:
    note = Annotation(True, {"faq": [["certificat", 0.8, "Attestation", False]]})
    begun = time.perf_counter()
    for n in range(0, total, PAGE):
        channel, network = NETWORKS[(n // PAGE) % len(NETWORKS)]
        inbox.store_page(channel, network, "comments", page(n, channel), datetime.now(UTC),
                         cursor=f"c{n}", read=ReadCost(items=PAGE),
                         annotate=lambda _m: note)
    return time.perf_counter() - begun


def grow(inbox: InboxLedger, total: int, already: int) -> None:
    """Bulk rows up to ``total`` messages (not through store_page: it is the listing we time)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    with inbox.ledger.write_engine.begin() as connection:
        conversation_ids = []
        for c in range(total // 40 + 1):
            channel, network = NETWORKS[c % len(NETWORKS)]
            conversation_ids.append(connection.execute(insert(Conversation).values(
                channel_id=channel, network=network, thread_remote_id=f"bulk-{c}",
                last_message_at=now, created_at=now, updated_at=now)
                .returning(Conversation.id)).scalar_one())
        rows = []
        for i in range(already, total):
            channel, network = NETWORKS[i % len(NETWORKS)]
            state = MessageState.NEW if rng.random() < 0.02 else rng.choice(
                [MessageState.ANSWERED, MessageState.CLOSED, MessageState.IGNORED])
            rows.append({
                "conversation_id": conversation_ids[i // 40], "channel_id": channel,
                "network": network, "remote_id": f"bulk-{i}", "kind": "comment",
                "source": "comments", "author_id": f"u{i % 5000}", "author_name": "L",
                "text": f"message {i}", "is_question": True, "from_us": False,
                "received_at": START + timedelta(seconds=20 * i), "synced_at": now,
                "state": state, "auto_answered": False, "created_at": now, "updated_at": now,
                "version": 1})
            if len(rows) == 10_000:
                connection.execute(insert(InboxMessage), rows)
                rows = []
        if rows:
            connection.execute(insert(InboxMessage), rows)


def timed(run: object, times: int = 20) -> tuple[float, float]:
    assert callable(run)
    samples = []
    for _ in range(times):
        begun = time.perf_counter()
        run()
        samples.append((time.perf_counter() - begun) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=positive_int, default=100_000)
    parser.add_argument("--listing", type=count_or_zero, default=0, help="grow to N messages and time it")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        ledger = open_ledger(url, Path(folder))
        inbox = InboxLedger(ledger)
        ok = True
        try:
            took = store(inbox, args.messages)
            print(f"stored {args.messages:,} messages in pages of {PAGE}: {took:.1f} s "
                  f"({args.messages / took:,.0f} messages/s)")
            ok &= args.messages < 100_000 or took < 120
            again = store(inbox, min(args.messages, 10_000))
            print(f"the first {min(args.messages, 10_000):,} again (nothing new): {again:.1f} s")
            if args.listing > args.messages:
                grow(inbox, args.listing, args.messages)
                print(f"ledger grown to {args.listing:,} messages")
                for label, wanted in (
                        ("cm inbox", InboxFilter()),
                        ("cm inbox --network x", InboxFilter(networks=frozenset({"x"}))),
                        ("cm inbox --state all", InboxFilter(states=frozenset(MessageState)))):
                    median, p95 = timed(lambda w=wanted: inbox.listing(w))
                    print(f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms")
                    ok &= p95 < 300
        finally:
            ledger.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
