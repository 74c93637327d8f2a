"""The inbox tables through ``InboxLedger``, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from cm_toolkit.channels.base import IncomingMessage, MessageKind
from cm_toolkit.errors import InboxError
from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.inbox import Annotation, InboxFilter, InboxLedger, ReadCost
from cm_toolkit.ledger.states import DeliveryState, InboxEventKind, MessageState

T0 = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


def message(n: int, thread: str = "post-1", *, author: str = "Léa", minutes: int | None = None,
            from_us: bool = False) -> IncomingMessage:
    return IncomingMessage(
        remote_id=f"c{n}", kind=MessageKind.COMMENT, author_id=f"u-{author}",
        author_name=author, text=f"question {n} ?", thread_remote_id=thread,
        created_at=T0 + timedelta(minutes=n if minutes is None else minutes),
        post_remote_id=thread, from_us=from_us)


def store(inbox: InboxLedger, *messages: IncomingMessage, cursor: str | None = "k1",
          channel: str = "facebook-page") -> list[int]:
    result = inbox.store_page(channel, "facebook", "comments", messages, T0,
                              cursor=cursor, read=ReadCost(items=len(messages)),
                              annotate=lambda m: Annotation(True, {"faq": [["certificat", 2.0]]}))
    return result.new_ids


def test_a_page_stored_twice_is_stored_once_with_its_cursor(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    first = store(inbox, message(1), message(2), message(3, "post-2"))
    again = store(inbox, message(1), message(2), message(3, "post-2"), message(4),
                  cursor="k2")
    assert len(first) == 3 and len(again) == 1
    cursor = inbox.cursor("facebook-page", "comments")
    assert cursor is not None and cursor.cursor == "k2"
    groups = inbox.listing(InboxFilter())
    assert [g.thread_remote_id for g in groups] == ["post-1", "post-2"]  # newest first
    assert [m.remote_id for m in groups[0].messages] == ["c4", "c2", "c1"]
    row = inbox.message(first[0])
    assert row.state is MessageState.NEW and row.is_question
    assert row.suggestions == {"faq": [["certificat", 2.0]]}
    assert [e.kind for e in inbox.events(first[0])] == [InboxEventKind.RECEIVED]
    assert inbox.read_spend("facebook", T0).items == 7


def test_listing_filters_and_skips_our_own_messages(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [a] = store(inbox, message(1))
    store(inbox, message(2, "x-conv"), channel="x-mooc")
    store(inbox, message(3, from_us=True))
    inbox.set_state(a, MessageState.CLOSED, T0, "cli")
    assert [g.channel_id for g in inbox.listing(InboxFilter())] == ["x-mooc"]
    closed = inbox.listing(InboxFilter(states=frozenset({MessageState.CLOSED})))
    assert [m.id for g in closed for m in g.messages] == [a]
    assert inbox.listing(InboxFilter(networks=frozenset({"youtube"}))) == []
    assert [g.channel_id for g in inbox.listing(InboxFilter(channels=frozenset({"x-mooc"})))] \
        == ["x-mooc"]


def test_state_changes_are_checked_and_journaled(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [a] = store(inbox, message(1))
    assert inbox.assign(a, "instructor", T0, "cli").state is MessageState.OPEN
    inbox.set_state(a, MessageState.IGNORED, T0, "cli")
    with pytest.raises(InboxError, match="cannot become closed"):
        inbox.set_state(a, MessageState.CLOSED, T0, "cli")
    assert inbox.set_state(a, MessageState.OPEN, T0, "cli").state is MessageState.OPEN
    with pytest.raises(InboxError, match="changed meanwhile"):
        inbox.set_state(a, MessageState.CLOSED, T0, "cli", expected_version=1)
    kinds = [e.kind for e in inbox.events(a)]
    assert kinds == [InboxEventKind.RECEIVED, InboxEventKind.ASSIGNED, InboxEventKind.STATE,
                     InboxEventKind.STATE]


def test_a_reply_is_claimed_once_and_answers_the_message(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [a] = store(inbox, message(1))
    reply = inbox.create_reply(a, "Bonjour", T0, "cli", faq_id="certificat", auto=True)
    with pytest.raises(InboxError, match="already has reply"):
        inbox.create_reply(a, "Encore", T0, "cli")
    wins: list[bool] = []
    barrier = threading.Barrier(4)

    def claim(worker: str) -> None:
        barrier.wait()
        wins.append(inbox.claim_reply(reply, worker, T0, timedelta(minutes=5)))

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False, False, False, True]
    winner = inbox.reply(reply).claimed_by
    assert winner is not None
    with pytest.raises(InboxError, match="not being sent by"):
        inbox.record_reply_outcome(reply, "someone-else", DeliveryState.PUBLISHED, T0)
    inbox.record_reply_outcome(reply, winner, DeliveryState.PUBLISHED, T0 + timedelta(hours=1),
                               remote_id="r1", remote_url="https://example/r1")
    row = inbox.message(a)
    assert row.state is MessageState.ANSWERED and row.auto_answered
    assert row.first_answered_at == T0 + timedelta(hours=1)
    with pytest.raises(InboxError, match="--again"):
        inbox.create_reply(a, "Encore", T0, "cli")
    second = inbox.create_reply(a, "Encore", T0, "cli", again=True)
    assert inbox.reply(second).state is DeliveryState.PLANNED


def test_unknown_replies_are_resolved_by_a_person(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [a, b] = store(inbox, message(1), message(2))
    ra = inbox.create_reply(a, "A", T0, "cli")
    rb = inbox.create_reply(b, "B", T0, "cli")
    for reply in (ra, rb):
        assert inbox.claim_reply(reply, "w", T0, timedelta(minutes=5))
    assert inbox.expire_reply_leases(T0 + timedelta(minutes=6)) == [ra, rb]
    assert [r.id for r in inbox.replies_for_review()] == [ra, rb]
    with pytest.raises(InboxError, match="already has reply"):
        inbox.create_reply(a, "A again", T0, "cli")
    inbox.resolve_reply(ra, "published", T0, "cli", url="https://example/a")
    assert inbox.message(a).state is MessageState.ANSWERED
    inbox.resolve_reply(rb, "resend", T0, "cli")
    assert inbox.replies_waiting(T0) == [rb]
    with pytest.raises(InboxError, match="nothing to decide"):
        inbox.resolve_reply(rb, "drop", T0, "cli")


def test_a_claim_whose_request_never_left_goes_back(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [a] = store(inbox, message(1))
    reply = inbox.create_reply(a, "A", T0, "cli")
    assert inbox.claim_reply(reply, "dead", T0, timedelta(minutes=5))
    assert inbox.sending_replies() == [(reply, "dead")]
    assert not inbox.release_unsent_reply(reply, "other", T0, "test")
    assert inbox.release_unsent_reply(reply, "dead", T0, "test")
    row = inbox.reply(reply)
    assert row.state is DeliveryState.PLANNED and row.attempts == 0


def test_purge_and_export(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [old] = store(inbox, message(1, author="Ana", minutes=-60 * 24 * 200))
    [recent] = store(inbox, message(2, author="Ana"))
    exported = inbox.export_author("Ana")
    assert [m["id"] for m in exported] == [old, recent]
    assert inbox.purge(T0 - timedelta(days=180), T0) == 1
    assert inbox.purge(T0 - timedelta(days=180), T0) == 0
    row = inbox.message(old)
    assert row.text is None and row.author_name is None and row.purged_at == T0
    assert [m["id"] for m in inbox.export_author("Ana")] == [recent]
    with pytest.raises(InboxError, match="purged"):
        inbox.create_reply(old, "late", T0, "cli")


def test_a_reply_held_for_its_requester_is_left_alone_by_others(ledger: Ledger) -> None:
    inbox = InboxLedger(ledger)
    [a] = store(inbox, message(1))
    reply = inbox.create_reply(a, "A", T0, "cli", hold=timedelta(minutes=1))
    assert inbox.replies_waiting(T0) == []
    assert not inbox.claim_reply(reply, "cm-run", T0, timedelta(minutes=5))
    assert inbox.claim_reply(reply, "requester", T0, timedelta(minutes=5), early=True)
    other = store(inbox, message(2))[0]
    left = inbox.create_reply(other, "B", T0, "cli", hold=timedelta(minutes=1))
    later = T0 + timedelta(minutes=1)  # the requester died: cm run sends it after the hold
    assert inbox.replies_waiting(later) == [left]
    assert inbox.claim_reply(left, "cm-run", later, timedelta(minutes=5))
