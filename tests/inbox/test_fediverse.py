"""Mastodon and Bluesky through the inbox, end to end: our post published by the scheduler, the
sandbox's learners answering it, ``InboxSync`` reading them into the ledger (linked to our
delivery), and ``ReplyService`` answering one, a lost answer included: never twice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest

from cm_toolkit.inbox.replies import ReplyService
from cm_toolkit.inbox.sync import InboxSync
from cm_toolkit.ledger.inbox import InboxFilter, InboxLedger
from cm_toolkit.ledger.states import DeliveryState, MessageState
from cm_toolkit.scheduler.publisher import Step
from tests.scheduler.conftest import START, Rig
from tests.scheduler.workspace import post

CASES = [("mastodon-mooc", "mastodon", r"/api/v1/statuses$"),
         ("bluesky-mooc", "bluesky", r"/xrpc/com\.atproto\.repo\.createRecord")]


def _text(body: Any) -> str:
    """The text of a create: Mastodon.py sends a form (``status``), atproto JSON (``record``)."""
    raw = body.decode() if isinstance(body, bytes) else str(body)
    if raw.startswith("{"):
        return str(json.loads(raw)["record"]["text"])
    return parse_qs(raw)["status"][0]


def synced(rig: Rig, channel: str) -> tuple[InboxLedger, InboxSync]:
    runner = rig.apply([post("p1", START + timedelta(minutes=1), [channel])])
    rig.clock.advance(timedelta(minutes=1))
    assert rig.run("p1", channel).step is Step.PUBLISHED
    rig.clock.advance(timedelta(hours=30))
    inbox = InboxLedger(rig.ledger)
    sync = InboxSync(inbox=inbox, channels=runner, clock=rig.clock,
                     workspace=runner.current_view().workspace)
    return inbox, sync


@pytest.mark.parametrize(("channel", "network", "create"), CASES)
def test_sync_reads_once_and_a_lost_reply_answer_is_settled_without_a_second_post(
        rig: Rig, channel: str, network: str, create: str) -> None:
    inbox, sync = synced(rig, channel)
    [first] = [r for r in sync.sync() if r.channel_id == channel]
    assert first.error is None and first.new > 0 and first.pages >= 1
    [again] = [r for r in sync.sync() if r.channel_id == channel]
    assert again.error is None and again.new == 0  # the cursor read only what is new
    groups = inbox.listing(InboxFilter(networks=frozenset({network})))
    listed = [m for g in groups for m in g.messages]
    assert len(listed) == first.new and all(m.state is MessageState.NEW for m in listed)
    delivery = rig.row("p1", channel)
    linked = [g for g in groups
              if (c := inbox.conversation(g.conversation_id)) and c.delivery_id == delivery.id]
    assert linked, "the replies under our post belong to its delivery"
    message = linked[0].messages[0]
    rig.sandbox.journal.clear()
    rig.sandbox.faults.add(f"{network}:drop-after-commit@once{create}")
    assert rig.runner is not None
    replies = ReplyService(ledger=inbox, channels=rig.runner, clock=rig.clock,
                           worker_id="testhost/1/abc")
    outcome = replies.reply_now(message.id, text="Merci ! Tout est sur la page du cours.",
                                actor="cli")
    assert outcome.state is DeliveryState.PUBLISHED  # settled by the adapter: online once
    sent = rig.sandbox.journal.entries(network=network, method="POST", path=create)
    assert 1 <= len(sent) <= 2 and sent[0].fault == "drop-after-commit"
    handle = inbox.message(message.id).author_handle
    wanted = f"@{handle} Merci ! Tout est sur la page du cours."  # addressed to its author
    assert handle and all(_text(e.body) == wanted for e in sent)
    online = json.dumps(rig.sandbox.state()["networks"][network], ensure_ascii=False)
    assert online.count(wanted) == 1  # one reply online, never two
    answered = inbox.message(message.id)
    assert answered.state is MessageState.ANSWERED
