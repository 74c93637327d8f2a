"""Sync and replies end to end: the real Facebook adapter against the Graph emulator."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from cm_toolkit.errors import InboxError
from cm_toolkit.inbox.replies import ReplyService
from cm_toolkit.inbox.sync import InboxSync, is_question
from cm_toolkit.ledger.inbox import InboxFilter, InboxLedger
from cm_toolkit.ledger.models import InboxMessage
from cm_toolkit.ledger.states import DeliveryState, MessageState
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import START, Rig
from tests.scheduler.workspace import post

FB = "facebook-page"


def commented(rig: Rig, hours: float = 30) -> tuple[InboxLedger, InboxSync]:
    """A published Facebook post, ``hours`` of audience, and the inbox's sync."""
    runner = rig.apply([post("p1", START + timedelta(minutes=1), [FB])])
    rig.clock.advance(timedelta(minutes=1))
    assert rig.run("p1", FB).step is Step.PUBLISHED
    rig.clock.advance(timedelta(hours=hours))
    inbox = InboxLedger(rig.ledger)
    sync = InboxSync(inbox=inbox, channels=runner, clock=rig.clock,
                     workspace=runner.current_view().workspace)
    return inbox, sync


def service(rig: Rig, inbox: InboxLedger, worker: str = "testhost/1/abc") -> ReplyService:
    assert rig.runner is not None
    return ReplyService(ledger=inbox, channels=rig.runner, clock=rig.clock, worker_id=worker)


def first_facebook(inbox: InboxLedger) -> InboxMessage:
    return inbox.listing(InboxFilter(networks=frozenset({"facebook"})))[0].messages[0]


def replies_posted(rig: Rig, comment_id: str) -> list[str]:
    """Replies that reached the network: refused requests (429) do not count."""
    entries = rig.sandbox.journal.entries(method="POST", path=rf"/v[0-9.]+/{comment_id}/comments")
    return [parse_qs(e.body)["message"][0] for e in entries
            if e.status is None or e.status < 400]


def test_a_sync_run_twice_stores_nothing_twice(rig: Rig) -> None:
    inbox, sync = commented(rig)
    first = [r for r in sync.sync() if r.channel_id == FB]
    assert first and first[0].new > 0 and first[0].error is None
    again = [r for r in sync.sync() if r.channel_id == FB]
    assert again[0].new == 0
    groups = inbox.listing(InboxFilter(networks=frozenset({"facebook"})))
    listed = [m for g in groups for m in g.messages]
    assert len(listed) == first[0].new  # every learner's message, once, all new
    delivery = rig.row("p1", FB)
    conversation = inbox.conversation(groups[0].conversation_id)
    assert conversation is not None and conversation.delivery_id == delivery.id
    assert all(m.state is MessageState.NEW for m in listed)
    assert any(m.is_question for m in listed)


def test_only_due_sources_are_read_by_the_cadence(rig: Rig) -> None:
    _inbox, sync = commented(rig)
    sync.sync()
    # each list is the Facebook channel's sources: non-empty, so all() cannot pass vacuously
    early = [r.skipped for r in sync.sync(only_due=True) if r.channel_id == FB]
    assert early and set(early) == {"not due"}, early
    rig.clock.advance(timedelta(minutes=16))
    due = [r.skipped for r in sync.sync(only_due=True) if r.channel_id == FB]
    assert due and set(due) == {None}, due


def test_a_reply_reaches_the_network_once_and_answers_the_message(rig: Rig) -> None:
    inbox, sync = commented(rig)
    sync.sync()
    message = first_facebook(inbox)
    replies = service(rig, inbox)
    outcome = replies.reply_now(message.id, text="Bonjour ! Tout est sur la page du cours.",
                                actor="cli")
    assert outcome.state is DeliveryState.PUBLISHED
    assert replies_posted(rig, message.remote_id) == ["Bonjour ! Tout est sur la page du cours."]
    answered = inbox.message(message.id)
    assert answered.state is MessageState.ANSWERED and answered.first_answered_at == rig.clock.now()
    with pytest.raises(InboxError, match="already answered"):
        replies.reply_now(message.id, text="Encore", actor="cli")
    assert len(replies_posted(rig, message.remote_id)) == 1
    # our reply comes back on the next sync as ours, not as a message to handle
    rig.clock.advance(timedelta(minutes=20))
    sync.sync()
    ours = [m for g in inbox.listing(InboxFilter(states=frozenset(MessageState)))
            for m in g.messages if m.from_us]
    assert ours == []  # listed never


def test_no_answer_leaves_the_reply_unknown_and_never_sends_it_again(rig: Rig) -> None:
    inbox, sync = commented(rig)
    sync.sync()
    message = first_facebook(inbox)
    replies = service(rig, inbox)
    rig.sandbox.faults.add("facebook:drop-after-commit@once")
    outcome = replies.reply_now(message.id, text="Merci !", actor="cli")
    assert outcome.state is DeliveryState.UNKNOWN
    assert replies.send(outcome.reply_id).state is None  # not claimable: never resent
    with pytest.raises(InboxError, match="unknown"):
        replies.request(message.id, text="Merci !", actor="cli")
    assert len(replies_posted(rig, message.remote_id)) == 1
    assert [r.id for r in inbox.replies_for_review()] == [outcome.reply_id]


def test_a_throttled_reply_waits_for_its_retry_time(rig: Rig) -> None:
    inbox, sync = commented(rig)
    sync.sync()
    message = first_facebook(inbox)
    replies = service(rig, inbox)
    rig.sandbox.faults.reset_after = 600
    rig.sandbox.faults.add("facebook:429@once")
    outcome = replies.reply_now(message.id, text="Merci !", actor="cli")
    assert outcome.state is DeliveryState.RETRY_WAIT
    assert outcome.retry_at is not None and outcome.retry_at > rig.clock.now()
    assert replies.send(outcome.reply_id).state is None  # not before its time
    rig.clock.advance(outcome.retry_at - rig.clock.now())
    assert inbox.replies_waiting(rig.clock.now()) == [outcome.reply_id]
    assert replies.send(outcome.reply_id).state is DeliveryState.PUBLISHED
    assert len(replies_posted(rig, message.remote_id)) == 1


def test_a_rate_limited_sync_waits_and_other_channels_go_on(rig: Rig) -> None:
    _inbox, sync = commented(rig)
    rig.sandbox.faults.reset_after = 600
    rig.sandbox.faults.add("facebook:429@once")
    [report] = [r for r in sync.sync() if r.channel_id == FB]
    assert report.error is not None and "rate limited" in report.error
    cursor = InboxLedger(rig.ledger).cursor(FB, "comments")
    assert cursor is not None and cursor.next_sync_at is not None  # the reset, kept
    if cursor.next_sync_at > rig.clock.now():
        [waiting] = [r for r in sync.sync() if r.channel_id == FB]
        assert waiting.skipped is not None and waiting.skipped.startswith("waiting until")
        rig.clock.advance(cursor.next_sync_at - rig.clock.now())
    [done] = [r for r in sync.sync() if r.channel_id == FB]
    assert done.error is None and done.new > 0


def test_a_reply_too_long_is_refused_before_anything_is_sent(rig: Rig) -> None:
    inbox, sync = commented(rig)
    sync.sync()
    message = first_facebook(inbox)
    with pytest.raises(InboxError, match="takes"):
        service(rig, inbox).request(message.id, text="x" * 9000, actor="cli")
    assert inbox.replies_of(message.id) == []
    with pytest.raises(InboxError, match="exactly one"):
        service(rig, inbox).request(message.id, actor="cli")


@pytest.mark.parametrize(("text", "question"), [
    ("Comment obtenir le certificat", True), ("Merci pour ce module !", False),
    ("est-ce que le live est enregistré", True), ("How long per week", True),
    ("@mooc where is the replay", True), ("Great course", False),
])
def test_questions_in_french_and_english(text: str, question: bool) -> None:
    assert is_question(text) is question


def x_mentions(inbox: InboxLedger) -> list[InboxMessage]:
    groups = inbox.listing(InboxFilter(networks=frozenset({"x"}), limit=1000))
    return [m for g in groups for m in g.messages if m.kind == "mention"]


def test_x_replies_address_their_author_and_a_repeated_text_is_refused_before_sending(
    rig: Rig,
) -> None:
    inbox, sync = commented(rig, hours=24 * 10)
    sync.sync()
    mentions = x_mentions(inbox)
    by_handle: dict[str, list[InboxMessage]] = {}
    for m in mentions:
        assert m.author_handle and m.author_name and m.author_handle != m.author_name
        by_handle.setdefault(m.author_handle, []).append(m)
    first, again = next(ms for ms in by_handle.values() if len(ms) > 1)[:2]
    other = next(ms[0] for h, ms in by_handle.items() if h != first.author_handle)
    replies = service(rig, inbox)
    sent = len(rig.creates("x"))
    for message in (first, other):  # the same answer to two learners: two texts
        outcome = replies.reply_now(message.id, text="Le replay est en ligne.", actor="cli")
        assert outcome.state is DeliveryState.PUBLISHED, outcome.detail
    bodies = [json.loads(e.body)["text"] for e in rig.creates("x")[sent:]]
    assert bodies == [f"@{first.author_handle} Le replay est en ligne.",
                      f"@{other.author_handle} Le replay est en ligne."]
    # the same learner, the same answer: X would refuse it (403): refused before sending
    with pytest.raises(InboxError) as refused:
        replies.reply_now(again.id, text="Le replay est en ligne.", actor="cli")
    assert "already has this text" in str(refused.value)
    assert len(rig.creates("x")) == sent + 2
    assert inbox.replies_of(again.id) == []
    # a text that names its reader already is not addressed twice
    outcome = replies.reply_now(again.id, text=f"@{again.author_handle} à jeudi !", actor="cli")
    assert outcome.state is DeliveryState.PUBLISHED
    assert json.loads(rig.creates("x")[-1].body)["text"] == f"@{again.author_handle} à jeudi !"

