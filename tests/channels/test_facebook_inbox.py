"""The Facebook adapter's inbox (comments on the Page's posts) against the Graph emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from cm_toolkit.channels.base import (
    ConversationQuery,
    MemoryCredentials,
    MessageKind,
    RenderedPost,
    ReplyRequest,
)
from cm_toolkit.channels.facebook import FacebookChannel, FacebookSettings
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
PAGE = "104857600123456"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=5, clock=ManualClock(START), epoch=START).running() as running:
        yield running


def channel(sandbox: Sandbox) -> FacebookChannel:
    return FacebookChannel(
        "facebook-page",
        FacebookSettings(page_id=PAGE),
        MemoryCredentials("facebook-page", {"page_token": sandbox.env()["CM_FACEBOOK_PAGE_TOKEN"]}),
        sandbox.transport(timeout=5),
        clock=sandbox.clock,
    )


def published(sandbox: Sandbox, fb: FacebookChannel, hours: float = 30) -> str:
    post_id = fb.publish(RenderedPost(text="Le module 3 est en ligne")).remote_id
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(timedelta(hours=hours))
    return post_id


def test_comments_are_read_once_with_the_cursor_and_again_from_the_same_cursor(
    sandbox: Sandbox,
) -> None:
    fb = channel(sandbox)
    post_id = published(sandbox, fb)
    first = fb.conversations(ConversationQuery("comments", post_remote_ids=(post_id,)))
    assert first.messages and not first.more
    assert [m.created_at for m in first.messages] == sorted(m.created_at for m in first.messages)
    assert {m.thread_remote_id for m in first.messages} == {post_id}
    assert all(not m.from_us and m.author_name and m.text for m in first.messages)
    replies = [m for m in first.messages if m.kind is MessageKind.REPLY]
    for reply in replies:  # a learner answering another learner: its parent is that comment
        assert reply.parent_remote_id in {m.remote_id for m in first.messages}
    again = fb.conversations(ConversationQuery("comments", post_remote_ids=(post_id,)))
    assert again.messages == first.messages
    nothing = fb.conversations(
        ConversationQuery("comments", cursor=first.cursor, post_remote_ids=(post_id,))
    )
    assert nothing.messages == ()
    calls = sandbox.journal.entries(method="GET", path=rf"/v\d+\.0/{post_id}/comments")
    assert {"stream"} == {parse_qs(e.query)["filter"][0] for e in calls}
    assert {"reverse_chronological"} == {parse_qs(e.query)["order"][0] for e in calls}
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(timedelta(days=3))
    later = fb.conversations(
        ConversationQuery("comments", cursor=first.cursor, post_remote_ids=(post_id,))
    )
    seen = {m.remote_id for m in first.messages}
    assert later.messages and not seen & {m.remote_id for m in later.messages}
    assert min(m.created_at for m in later.messages) > max(m.created_at for m in first.messages)


def test_a_small_page_stops_midway_and_goes_on_from_its_cursor(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    post_id = published(sandbox, fb, hours=80)
    whole = fb.conversations(ConversationQuery("comments", post_remote_ids=(post_id,)))
    assert len(whole.messages) > 3
    pages, cursor, more = [], None, True
    while more:  # Graph pages of two comments (limit=2), the read stopping after each
        query = ConversationQuery("comments", cursor=cursor, post_remote_ids=(post_id,),
                                  max_items=2)
        page = fb.conversations(query)
        assert fb.conversations(query) == page  # the same cursor reads the same page again
        pages.append(page)
        cursor, more = page.cursor, page.more
    assert len(pages) > 1 and json.loads(pages[0].cursor or "{}").get("walk")
    got = sorted(m.remote_id for p in pages for m in p.messages)
    assert got == sorted(m.remote_id for m in whole.messages)


def test_reply_goes_to_the_comment_once_as_the_page(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    post_id = published(sandbox, fb)
    page = fb.conversations(ConversationQuery("comments", post_remote_ids=(post_id,)))
    target = page.messages[0]
    result = fb.reply(
        ReplyRequest("Bonjour ! L'attestation arrive par mail.", target.remote_id,
                     target.kind, post_id, idempotency_key="reply-1")
    )
    posts = sandbox.journal.entries(method="POST", path=rf"/v\d+\.0/{target.remote_id}/comments")
    assert len(posts) == 1 and parse_qs(posts[0].body)["message"] == [
        "Bonjour ! L'attestation arrive par mail."
    ]
    after = fb.conversations(
        ConversationQuery("comments", cursor=page.cursor, post_remote_ids=(post_id,))
    )
    (ours,) = after.messages
    assert ours.remote_id == result.remote_id and ours.from_us
    assert ours.kind is MessageKind.REPLY and ours.parent_remote_id == target.remote_id


def test_reply_too_long_is_refused_before_sending(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    request = ReplyRequest("x" * 8001, "1_2", MessageKind.COMMENT, "1")
    assert fb.validate_reply(request)
    with pytest.raises(Rejected):
        fb.reply(request)
    assert not sandbox.journal.entries(method="POST")


def test_errors_are_mapped(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    post_id = published(sandbox, fb)
    query = ConversationQuery("comments", post_remote_ids=(post_id,))
    sandbox.faults.reset_after = 600
    sandbox.faults.add("facebook:429@once")
    with pytest.raises(RateLimited) as limited:
        fb.conversations(query)
    assert limited.value.reset_at == sandbox.clock.now() + timedelta(minutes=10)
    sandbox.faults.add("facebook:500@once")
    with pytest.raises(TransientError):
        fb.conversations(query)
    sandbox.faults.add("facebook:401@once")
    with pytest.raises(AuthExpired):
        fb.conversations(query)
    target = fb.conversations(query).messages[0]
    sandbox.faults.add("facebook:drop-after-commit@once")
    with pytest.raises(OutcomeUnknown):
        fb.reply(ReplyRequest("Merci !", target.remote_id, target.kind, post_id))
    assert len(sandbox.journal.entries(method="POST", path=rf".*/{target.remote_id}/comments")) == 1


def test_graph_refuses_an_unknown_order(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    post_id = published(sandbox, fb)
    with pytest.raises(Rejected) as caught:
        fb._call("reading", lambda g: g.get_connections(post_id, "comments", order="newest"),
                 creates=False)
    assert "param order must be one of" in str(caught.value)
