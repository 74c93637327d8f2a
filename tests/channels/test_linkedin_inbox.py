"""The LinkedIn adapter's inbox (comments on the page's posts) against the LinkedIn emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cm_toolkit.channels.base import ConversationQuery, MessageKind, RenderedPost, ReplyRequest
from cm_toolkit.channels.linkedin import LinkedInChannel
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.linkedin import LinkedInEmulator
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.test_linkedin import ORG, START, make


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=11, clock=clock, epoch=START, emulators=[LinkedInEmulator]).running() as sb:
        yield sb


@pytest.fixture
def channel(sandbox: Sandbox, clock: ManualClock) -> LinkedInChannel:
    return make(sandbox, clock)


def published(channel: LinkedInChannel, clock: ManualClock, hours: float = 60) -> list[str]:
    urns = [channel.publish(RenderedPost(text=f"Débat : le manager à distance, épisode {n}"))
            .remote_id for n in (1, 2)]
    clock.advance(timedelta(hours=hours))
    return urns


def test_comments_and_nested_comments_with_the_cursor(
    sandbox: Sandbox, clock: ManualClock, channel: LinkedInChannel
) -> None:
    posts = published(channel, clock)
    query = ConversationQuery("comments", post_remote_ids=tuple(posts), max_items=3)
    first = channel.conversations(query)
    assert channel.conversations(query) == first  # the same cursor, the same messages
    kinds = {m.kind for m in first.messages}
    assert kinds == {MessageKind.COMMENT, MessageKind.REPLY}
    assert {m.thread_remote_id for m in first.messages} == set(posts)
    assert len(first.messages) == len({m.remote_id for m in first.messages})
    gets = sandbox.journal.entries(method="GET", path=r"/rest/socialActions/.+/comments")
    assert any("urn%3Ali%3Acomment" in e.path for e in gets)  # nested ones read by their URN
    assert {int(dict(p.split("=") for p in e.query.split("&"))["count"]) for e in gets} == {3}
    later = channel.conversations(ConversationQuery("comments", cursor=first.cursor,
                                                    post_remote_ids=tuple(posts)))
    assert later.messages == ()
    clock.advance(timedelta(days=2))
    newer = channel.conversations(ConversationQuery("comments", cursor=first.cursor,
                                                    post_remote_ids=tuple(posts)))
    assert not {m.remote_id for m in newer.messages} & {m.remote_id for m in first.messages}


def test_reply_as_the_organization_reaches_linkedin_once(
    sandbox: Sandbox, clock: ManualClock, channel: LinkedInChannel
) -> None:
    posts = published(channel, clock)
    page = channel.conversations(ConversationQuery("comments", post_remote_ids=tuple(posts)))
    nested = next(m for m in page.messages if m.kind is MessageKind.REPLY)
    result = channel.reply(ReplyRequest("Merci pour ce retour !", nested.remote_id, nested.kind,
                                        nested.thread_remote_id))
    (create,) = sandbox.journal.entries(method="POST", path=r"/rest/socialActions/.+/comments")
    body = json.loads(create.body)
    assert body["actor"] == ORG and body["message"] == {"text": "Merci pour ce retour !"}
    assert body["parentComment"] == nested.parent_remote_id  # one level: under the top comment
    after = channel.conversations(ConversationQuery("comments", cursor=page.cursor,
                                                    post_remote_ids=tuple(posts)))
    (ours,) = after.messages
    assert ours.remote_id == result.remote_id and ours.from_us and ours.kind is MessageKind.REPLY
    written = sandbox.state()["networks"]["linkedin"]["comments"][nested.thread_remote_id]
    assert written == [{"urn": result.remote_id, "text": "Merci pour ce retour !",
                        "parent": nested.parent_remote_id}]
    with pytest.raises(Rejected) as too_long:
        channel.reply(ReplyRequest("x" * 1251, nested.remote_id, nested.kind, posts[0]))
    assert "1250" in str(too_long.value)


def test_errors_are_mapped(sandbox: Sandbox, clock: ManualClock, channel: LinkedInChannel) -> None:
    posts = published(channel, clock, hours=30)
    query = ConversationQuery("comments", post_remote_ids=tuple(posts))
    sandbox.faults.add("linkedin:429@once")
    with pytest.raises(RateLimited) as limited:
        channel.conversations(query)
    assert limited.value.reset_at is not None and limited.value.reset_at > START
    sandbox.faults.add("linkedin:500@once")
    with pytest.raises(TransientError):
        channel.conversations(query)
    sandbox.faults.add("linkedin:401@once")
    with pytest.raises(AuthExpired):
        make(sandbox, clock, refresh=False).conversations(query)
    target = channel.conversations(query).messages[0]
    sandbox.faults.add("linkedin:drop-after-commit@once/rest/socialActions")
    with pytest.raises(OutcomeUnknown):
        channel.reply(ReplyRequest("Bonjour", target.remote_id, MessageKind.COMMENT, posts[0]))
    creates = sandbox.journal.entries(method="POST", path=r"/rest/socialActions/.+/comments")
    assert len(creates) == 1
