"""The Bluesky adapter's inbox (listNotifications: mentions, replies, quotes; replies with
strong refs and a mention facet) against the Bluesky emulator, over real HTTP: the atproto SDK,
the sandbox transport, no patch."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from cm_toolkit.channels.base import (
    ConversationQuery,
    IncomingMessage,
    MessageKind,
    RenderedPost,
    ReplyRequest,
)
from cm_toolkit.channels.bluesky import BlueskyChannel
from cm_toolkit.channels.bluesky.inbox import FACTS, SOURCE
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, TransientError
from cm_toolkit.sandbox.bluesky import BlueskyEmulator
from cm_toolkit.sandbox.bluesky.audience import LEARNER_DOMAIN
from cm_toolkit.sandbox.bluesky.base import MOOC_HANDLE
from cm_toolkit.sandbox.faults import FaultKind
from tests.channels import test_bluesky
from tests.channels.test_bluesky import CREATE, Env, record_of

LIST = "app.bsky.notification.listNotifications"
env = test_bluesky.env  # the same sandbox and account as the publishing tests


def season(env: Env, hours: float = 40) -> tuple[BlueskyChannel, list[str]]:
    channel = env.channel(langs=("fr",))
    posts = [channel.publish(RenderedPost(text=f"Vos questions sur le module {n} ?",
                                          idempotency_key=f"season-{n}")).remote_id
             for n in (1, 2)]
    env.clock.advance(timedelta(hours=hours))
    return channel, posts


def read_all(channel: BlueskyChannel, posts: list[str], cursor: str | None = None,
             max_items: int = 100) -> tuple[list[IncomingMessage], str | None, int]:
    messages: list[IncomingMessage] = []
    more, calls = True, 0
    while more:
        page = channel.conversations(ConversationQuery(SOURCE, cursor=cursor, max_items=max_items,
                                                       post_remote_ids=tuple(posts)))
        messages += page.messages
        cursor, more, calls = page.cursor, page.more, calls + 1
        assert calls < 50
    return messages, cursor, calls


def test_notifications_are_read_page_by_page_and_the_cursor_reads_only_what_is_new(
        env: Env) -> None:
    channel, posts = season(env)
    first = channel.conversations(ConversationQuery(SOURCE, post_remote_ids=tuple(posts),
                                                    max_items=5))
    assert first.more and len(first.messages) == first.items_read == 5
    again = channel.conversations(ConversationQuery(SOURCE, post_remote_ids=tuple(posts),
                                                    max_items=5))
    assert again.messages == first.messages and again.cursor == first.cursor
    rest, cursor, calls = read_all(channel, posts, first.cursor, 5)
    every = list(first.messages) + rest
    ids = [m.remote_id for m in every]
    assert calls > 1 and len(ids) == len(set(ids)) > 5
    reads = env.calls(LIST)
    queries = [parse_qs(e.query) for e in reads]
    assert all(sorted(q["reasons"]) == ["mention", "quote", "reply"] for q in queries)
    assert any("cursor" in q for q in queries[1:])  # pages followed Bluesky's cursor
    assert {m.kind for m in every} == {MessageKind.REPLY, MessageKind.MENTION}
    for message in every:
        assert message.author_handle and message.author_handle.endswith(LEARNER_DOMAIN)
        assert message.url and message.url.startswith(
            f"https://bsky.app/profile/{message.author_handle}/post/")
        assert message.created_at.tzinfo is not None and not message.from_us and message.text
        if message.kind is MessageKind.REPLY:  # under one of our posts: its thread
            assert message.thread_remote_id in posts and message.post_remote_id in posts
    quotes = [m for m in every if m.kind is MessageKind.MENTION and m.parent_remote_id]
    assert quotes and all(m.post_remote_id in posts for m in quotes)
    nothing = channel.conversations(ConversationQuery(SOURCE, cursor=cursor))
    assert nothing.messages == () and not nothing.more and nothing.cursor == cursor
    env.clock.advance(timedelta(hours=30))
    later, _, _ = read_all(channel, posts, cursor)
    assert later and not {m.remote_id for m in later} & set(ids)


def test_a_first_read_starts_at_since(env: Env) -> None:
    channel, _ = season(env, hours=60)
    since = env.clock.now() - timedelta(hours=12)
    page = channel.conversations(ConversationQuery(SOURCE, since=since, max_items=100))
    everything, _, _ = read_all(channel, [])
    assert page.messages and all(m.created_at >= since for m in page.messages)
    assert len(page.messages) < len(everything) and not page.more


def _one_reply(env: Env) -> tuple[BlueskyChannel, IncomingMessage]:
    channel, posts = season(env, hours=20)
    messages, _, _ = read_all(channel, posts)
    answers = [m for m in messages if m.kind is MessageKind.REPLY]
    return channel, answers[0]


def _request(message: IncomingMessage, key: str = "reply-7") -> ReplyRequest:
    text = FACTS.addressed("Merci, la réponse est dans la FAQ 🙂", message.author_handle)
    return ReplyRequest(text, message.remote_id, message.kind, message.thread_remote_id,
                        idempotency_key=key)


def test_a_reply_has_strong_refs_and_a_mention_facet(env: Env) -> None:
    channel, message = _one_reply(env)
    result = channel.reply(_request(message))
    record = record_of(env.calls("com.atproto.repo.createRecord")[-1])
    assert record["reply"]["parent"]["uri"] == message.remote_id
    assert record["reply"]["root"]["uri"] == message.thread_remote_id
    assert record["reply"]["root"]["cid"] and record["reply"]["parent"]["cid"]
    handle = f"@{message.author_handle}"
    assert record["text"].startswith(handle + " Merci")
    (facet,) = record["facets"]
    assert (facet["index"]["byteStart"], facet["index"]["byteEnd"]) == (0, len(handle.encode()))
    assert facet["features"][0]["did"] == message.author_id
    assert result.remote_id.startswith("at://") and result.url


def test_a_lost_answer_is_settled_by_the_record_key_and_posts_once(env: Env) -> None:
    channel, message = _one_reply(env)
    before = len(env.posts())
    env.sandbox.journal.clear()
    env.fault(FaultKind.DROP_AFTER_COMMIT, CREATE)
    result = channel.reply(_request(message, "reply-8"))
    assert len(env.calls("com.atproto.repo.createRecord")) == 1
    assert len(env.calls("com.atproto.repo.getRecord")) == 1  # found at its key
    assert len(env.posts()) == before + 1 and result.remote_id in {p["uri"] for p in env.posts()}
    # the same reply sent again (`cm inbox resolve --resend`): the same record key, which the
    # PDS refuses (500) and the adapter finds taken by this very reply: nothing new
    again = channel.reply(_request(message, "reply-8"))
    assert again.remote_id == result.remote_id and len(env.posts()) == before + 1


def test_a_reply_whose_answer_and_settling_are_lost_is_unknown(env: Env) -> None:
    channel, message = _one_reply(env)
    before = len(env.posts())
    env.fault(FaultKind.DROP_AFTER_COMMIT, CREATE)
    env.fault(FaultKind.DROP_AFTER_COMMIT, r"/xrpc/com\.atproto\.repo\.getRecord")
    with pytest.raises(OutcomeUnknown) as lost:
        channel.reply(_request(message, "reply-9"))
    assert "reply" in str(lost.value) and "never sent twice" in lost.value.fix
    assert len(env.posts()) == before + 1


def test_read_errors_are_mapped(env: Env) -> None:
    channel, _ = season(env, hours=1)
    query = ConversationQuery(SOURCE)
    env.fault(FaultKind.RATE_LIMIT, LIST)
    with pytest.raises(RateLimited) as limited:
        channel.conversations(query)
    assert limited.value.reset_at is not None
    env.fault(FaultKind.SERVER_500, LIST)
    with pytest.raises(TransientError):
        channel.conversations(query)
    # an expired access token is refreshed once, and the read goes on
    env.fault(FaultKind.UNAUTHORIZED, LIST)
    channel.conversations(query)
    assert len(env.calls("com.atproto.server.refreshSession")) == 1
    # a revoked session whose app password was revoked too: one line saying what to do
    found = env.sandbox.emulator_of(BlueskyEmulator).by_handle(MOOC_HANDLE)
    assert found is not None
    found.app_passwords.clear()
    env.sandbox.faults.add("bluesky:expire@once")
    env.clock.advance(timedelta(days=91))  # the refresh JWT is spent as well
    with pytest.raises(AuthExpired) as expired:
        channel.conversations(query)
    assert "app password" in expired.value.fix


def test_an_overlong_reply_is_refused_before_sending(env: Env) -> None:
    channel, message = _one_reply(env)
    request = ReplyRequest("é" * 301, message.remote_id, message.kind, message.thread_remote_id)
    assert channel.validate_reply(request)
    env.sandbox.journal.clear()
    with pytest.raises(Rejected) as refused:
        channel.reply(request)
    assert "300" in str(refused.value) and not env.calls("com.atproto.repo.createRecord")
