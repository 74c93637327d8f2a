"""The interactivity metrics against a plain-Python reference, on SQLite and PostgreSQL.

``build_interactivity`` aggregates in SQL, per network and range of ``received_at``; here the
same definitions (docs/inbox.md, "Interactivity metrics") are applied row by row to random
messages, many of them exactly on a week's start, on a "24 h before the week's end" instant or
settled exactly at a week's end, across the change to summer time. Every figure must agree.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from cm_toolkit.growth.interactivity import build_interactivity
from cm_toolkit.growth.interactivity_weeks import frame_of
from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.interactivity_reads import OPEN_AFTER
from cm_toolkit.ledger.models import Conversation, InboxMessage

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
NOW = datetime(2027, 4, 14, 9, 30, tzinfo=UTC)
NETWORKS = ("facebook", "x", "youtube")
STATES = ("new", "open", "answered", "answered", "closed", "ignored")


def messages(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    frame = frame_of(PARIS, START, NOW, None, None, NOW)
    edges = [*frame.bounds, *[c - OPEN_AFTER for c in frame.cutoffs]]
    rows = []
    for n in range(400):
        if rng.random() < 0.3:  # on an edge, or a second off it
            received = rng.choice(edges) + timedelta(seconds=rng.choice([-1, 0, 0, 1]))
        else:
            received = START - timedelta(days=3) + timedelta(seconds=rng.randrange(48 * 86400))
        state = rng.choice(STATES)
        answered_at = None
        updated = received + timedelta(seconds=rng.randrange(0, 9 * 86400))
        if state in ("answered", "closed") and rng.random() < 0.3:
            updated = max(received, rng.choice(frame.cutoffs))  # settled at a week's end
        if state == "answered":
            answered_at = updated if rng.random() < 0.9 else None
        rows.append({
            "conversation_id": 1, "channel_id": "c", "network": rng.choice(NETWORKS),
            "remote_id": f"m{n}", "kind": "comment", "source": "comments",
            "is_question": rng.random() < 0.5, "from_us": rng.random() < 0.05,
            "received_at": received, "synced_at": received, "state": state,
            "first_answered_at": answered_at,
            "auto_answered": answered_at is not None and rng.random() < 0.4,
            "created_at": received, "updated_at": updated, "version": 1})
    return rows


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def reference(rows: list[dict[str, Any]], since: datetime | None, until: datetime | None,
              ) -> dict[tuple[str, date | None], dict[str, Any]]:
    """(network, local Monday) and (network, None) for the period -> the expected figures."""
    community = [r for r in rows if not r["from_us"]]
    period = [r["received_at"] for r in community
              if (since is None or r["received_at"] >= since)
              and (until is None or r["received_at"] <= until)]
    frame = frame_of(PARIS, min(period), max(period), since, until, NOW)
    weeks = len(frame.weeks)
    dues = [c - OPEN_AFTER for c in frame.cutoffs]
    found: dict[tuple[str, date | None], dict[str, Any]] = {}

    def cell(network: str, week: int | None) -> dict[str, Any]:
        day = None if week is None else frame.weeks[week]
        return found.setdefault((network, day), {
            "received": 0, "questions": 0, "answered": 0, "ignored": 0, "auto": 0,
            "delays": [], "open": 0})

    for r in community:
        if r["received_at"] >= frame.bounds[-1]:
            continue
        week = bisect_right(frame.bounds, r["received_at"]) - 1
        answered = r["state"] == "answered"
        if 0 <= week < weeks:
            for target in (cell(r["network"], week), cell(r["network"], None)):
                target["received"] += 1
                target["questions"] += r["is_question"]
                target["answered"] += answered
                target["ignored"] += r["state"] == "ignored"
                target["auto"] += answered and r["auto_answered"]
                if answered and r["first_answered_at"] is not None:
                    target["delays"].append(
                        (r["first_answered_at"] - r["received_at"]).total_seconds())
        if r["state"] == "ignored":
            continue
        settled = weeks  # new, open: never
        if answered:
            settled = bisect_left(frame.cutoffs, r["first_answered_at"] or r["updated_at"])
        elif r["state"] == "closed":
            settled = bisect_left(frame.cutoffs, r["updated_at"])
        for j in range(bisect_left(dues, r["received_at"]), min(settled, weeks)):
            cell(r["network"], j)["open"] += 1
            if j == weeks - 1:  # the totals' backlog is the period's end's
                cell(r["network"], None)["open"] += 1
    return found


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("bounded", [False, True])
def test_every_figure_agrees_with_the_row_by_row_reference(
    ledger: Ledger, seed: int, bounded: bool
) -> None:
    rows = messages(seed)
    with ledger.write_engine.begin() as connection:
        connection.execute(insert(Conversation).values(
            id=1, channel_id="c", network="facebook", thread_remote_id="t",
            last_message_at=START, created_at=START, updated_at=START))
        connection.execute(insert(InboxMessage), rows)
    since = datetime(2027, 3, 9, 13, 0, tzinfo=UTC) if bounded else None
    until = datetime(2027, 4, 2, 7, 0, tzinfo=UTC) if bounded else None
    report = build_interactivity(ledger, PARIS, since=since, until=until, now=NOW)
    expected = reference(rows, since, until)
    got: dict[tuple[str, date | None], dict[str, Any]] = {}
    for row in [*report.weeks, *report.totals]:
        figures = row.as_dict()
        got[(figures["network"], row.week)] = {
            "received": row.received, "questions": row.questions, "answered": row.answered,
            "ignored": row.ignored, "auto": row.auto_answered, "open": row.open_over_24h,
            "median": row.median_first_answer, "p90": row.p90_first_answer}
    want = {}
    for key, v in expected.items():
        if key[1] is not None and not v["received"] and not v["open"]:
            continue  # a week without messages nor backlog has no row
        delays = v["delays"]
        want[key] = {
            "received": v["received"], "questions": v["questions"], "answered": v["answered"],
            "ignored": v["ignored"], "auto": v["auto"], "open": v["open"],
            "median": timedelta(seconds=percentile(delays, 0.5)) if delays else None,
            "p90": timedelta(seconds=round(percentile(delays, 0.9), 3)) if delays else None}
    assert got == want
    assert sum(v["open"] for k, v in want.items() if k[1] is not None) > 20  # edges were hit
