"""Interactivity metrics from an inbox filled through the ledger's inbox API (SQLite and
PostgreSQL): weeks in the workspace zone (DST included), shares, percentiles, the backlog."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cm_toolkit.channels.base import IncomingMessage, MessageKind
from cm_toolkit.growth.interactivity import (
    InteractivityRow,
    build_interactivity,
    format_delay,
    summary_lines,
)
from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.inbox import Annotation, InboxLedger
from cm_toolkit.ledger.states import DeliveryState, MessageState
from cm_toolkit.workspace.models import Network

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 4, 1, 12, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Inbox:
    """Messages stored the way a sync stores them; answers the way people and cm run give them."""

    def __init__(self, ledger: Ledger) -> None:
        self.rows = InboxLedger(ledger)
        self.count = 0

    def receive(self, network: Network, at: str, *, question: bool = True,
                from_us: bool = False) -> int:
        self.count += 1
        message = IncomingMessage(
            remote_id=f"m{self.count}", kind=MessageKind.COMMENT, author_id="a1",
            author_name="Learner", text="Où est le lien ?", created_at=utc(at),
            thread_remote_id="post-1", from_us=from_us)
        result = self.rows.store_page(
            f"{network}-channel", network, "comments", [message], utc(at),
            annotate=lambda _m: Annotation(is_question=question))
        return result.new_ids[0] if result.new_ids else -1

    def answer(self, message_id: int, after: timedelta, received: str) -> None:
        self.rows.set_state(message_id, MessageState.ANSWERED, utc(received) + after, "cm")

    def auto_answer(self, message_id: int, after: timedelta, received: str) -> None:
        at = utc(received) + after
        reply = self.rows.create_reply(message_id, "Bonjour !", at, "auto", faq_id="live-lien",
                                       auto=True)
        assert self.rows.claim_reply(reply, "w1", at, timedelta(minutes=5))
        self.rows.record_reply_outcome(reply, "w1", DeliveryState.PUBLISHED, at,
                                       remote_id="r1")

    def ignore(self, message_id: int, at: str) -> None:
        self.rows.set_state(message_id, MessageState.IGNORED, utc(at), "cm")


@pytest.fixture
def filled(ledger: Ledger) -> Ledger:
    inbox = Inbox(ledger)
    # Facebook, week of Monday 2027-03-01 (Paris).
    m1 = inbox.receive("facebook", "2027-03-01 10:00")
    inbox.answer(m1, timedelta(minutes=30), "2027-03-01 10:00")
    m2 = inbox.receive("facebook", "2027-03-01 11:00")
    inbox.auto_answer(m2, timedelta(minutes=2), "2027-03-01 11:00")
    m3 = inbox.receive("facebook", "2027-03-02 09:00", question=False)
    inbox.ignore(m3, "2027-03-02 10:00")
    inbox.receive("facebook", "2027-03-03 08:00")  # never answered: the backlog
    inbox.receive("facebook", "2027-03-03 09:00", from_us=True)  # ours: not counted
    # Sunday 23:30 UTC is Monday 00:30 in Paris: the week of 2027-03-08.
    m5 = inbox.receive("facebook", "2027-03-07 23:30")
    inbox.answer(m5, timedelta(minutes=90), "2027-03-07 23:30")
    # X.
    m6 = inbox.receive("x", "2027-03-01 12:00")
    inbox.answer(m6, timedelta(hours=10), "2027-03-01 12:00")
    # After the change to summer time: Monday 2027-03-29 00:30 Paris is 22:30 UTC the day
    # before.
    inbox.receive("x", "2027-03-28 22:30", question=False)
    return ledger


def row(rows: list[InteractivityRow], network: Network, week: date | None) -> InteractivityRow:
    [found] = [r for r in rows if r.network == network and r.week == week]
    return found


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def test_weekly_metrics_per_network(filled: Ledger) -> None:
    report = build_interactivity(filled, PARIS, now=NOW)
    first = row(report.weeks, "facebook", date(2027, 3, 1))
    assert (first.received, first.questions, first.answered, first.ignored,
            first.auto_answered) == (4, 3, 2, 1, 1)
    assert first.answered_share == pytest.approx(2 / 3)
    assert first.auto_answered_share == pytest.approx(0.5)
    # Answers after 2 and 30 minutes: median 16 min, p90 2 + 0.9 * 28 = 27.2 min.
    assert first.median_first_answer == pytest.approx(minutes(16), abs=timedelta(seconds=1))
    assert first.p90_first_answer == pytest.approx(minutes(27.2), abs=timedelta(seconds=1))
    assert first.open_over_24h == 1  # the message of 03-03, still open on Sunday night

    second = row(report.weeks, "facebook", date(2027, 3, 8))
    assert (second.received, second.answered, second.open_over_24h) == (1, 1, 1)
    assert second.median_first_answer == pytest.approx(minutes(90), abs=timedelta(seconds=1))
    # Weeks with no message still show the backlog.
    quiet = row(report.weeks, "facebook", date(2027, 3, 22))
    assert (quiet.received, quiet.open_over_24h, quiet.answered_share) == (0, 1, None)

    x_first = row(report.weeks, "x", date(2027, 3, 1))
    assert (x_first.received, x_first.answered, x_first.open_over_24h) == (1, 1, 0)
    assert x_first.median_first_answer == x_first.p90_first_answer
    assert x_first.median_first_answer == pytest.approx(timedelta(hours=10),
                                                        abs=timedelta(seconds=1))
    summer = row(report.weeks, "x", date(2027, 3, 29))
    # The current week's backlog is counted now (04-01 12:00): the message is 3 days old.
    assert (summer.received, summer.questions, summer.open_over_24h) == (1, 0, 1)
    assert all(r.week != date(2027, 3, 22) for r in report.weeks if r.network == "x")


def test_totals_and_the_demo_summary(filled: Ledger) -> None:
    report = build_interactivity(filled, PARIS, now=NOW)
    facebook = row(report.totals, "facebook", None)
    assert (facebook.received, facebook.answered, facebook.ignored) == (5, 3, 1)
    assert facebook.answered_share == pytest.approx(0.75)
    # 2, 30 and 90 minutes: median 30, p90 30 + 0.8 * 60 = 78.
    assert facebook.median_first_answer == pytest.approx(minutes(30), abs=timedelta(seconds=1))
    assert facebook.p90_first_answer == pytest.approx(minutes(78), abs=timedelta(seconds=1))
    assert facebook.open_over_24h == 1
    assert summary_lines(report) == [
        "facebook: 5 message(s), 75% answered, median response 30 min",
        "x: 2 message(s), 50% answered, median response 10 h 00",
    ]


def test_period_bounds_the_counts_not_the_backlog(filled: Ledger) -> None:
    since, until = utc("2027-03-07 23:00"), utc("2027-03-14 22:59")  # the week of 03-08
    report = build_interactivity(filled, PARIS, since=since, until=until, now=NOW)
    assert [(r.network, r.week) for r in report.weeks] == [("facebook", date(2027, 3, 8))]
    [facebook] = report.totals
    assert (facebook.received, facebook.answered, facebook.open_over_24h) == (1, 1, 1)
    assert report.as_dict()["weeks"][0] == {
        "network": "facebook", "week": "2027-03-08", "received": 1, "questions": 1,
        "answered": 1, "ignored": 0, "answered_share_percent": 100.0,
        "median_first_answer_minutes": 90.0, "p90_first_answer_minutes": 90.0,
        "open_over_24h": 1, "auto_answered": 0, "auto_answered_share_percent": 0.0,
    }


def test_an_empty_inbox_has_no_rows(ledger: Ledger) -> None:
    report = build_interactivity(ledger, PARIS, now=NOW)
    assert report.weeks == [] and report.totals == [] and summary_lines(report) == []


@pytest.mark.parametrize(("seconds", "shown"), [
    (42, "42 s"), (60 * 12, "12 min"), (3600 * 3 + 300, "3 h 05"), (86400 * 2 + 3600 * 4, "2 d 4 h"),
])
def test_format_delay(seconds: int, shown: str) -> None:
    assert format_delay(timedelta(seconds=seconds)) == shown
