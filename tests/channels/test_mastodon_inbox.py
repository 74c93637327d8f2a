"""The Mastodon adapter's inbox (mention notifications, replies) against the Mastodon emulator,
over real HTTP: Mastodon.py, the sandbox transport, no patch."""

from __future__ import annotations

import re
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
from cm_toolkit.channels.mastodon import MastodonChannel
from cm_toolkit.channels.mastodon.inbox import FACTS
from cm_toolkit.channels.mastodon.text import plain_text
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.faults import FaultKind, FaultRule
from cm_toolkit.sandbox.mastodon.audience import LEARNER_INSTANCE
from cm_toolkit.sandbox.mastodon.base import SAMPLE_INSTANCE
from tests.channels import test_mastodon
from tests.channels.test_mastodon import Env

NOTIFICATIONS = r"/api/v1/notifications"
env = test_mastodon.env  # the same sandbox and channel as the publishing tests


def season(env: Env, hours: float = 40) -> list[str]:
    posts = [env.channel.publish(RenderedPost(text=f"Vos questions sur le module {n} ?")).remote_id
             for n in (1, 2)]
    clock = env.sandbox.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=hours))
    return posts


def read_all(channel: MastodonChannel, posts: list[str], cursor: str | None = None,
             max_items: int = 80) -> tuple[list[IncomingMessage], str | None, int]:
    messages: list[IncomingMessage] = []
    more, calls = True, 0
    while more:
        page = channel.conversations(ConversationQuery("mentions", cursor=cursor,
                                                       post_remote_ids=tuple(posts),
                                                       max_items=max_items))
        messages += page.messages
        cursor, more, calls = page.cursor, page.more, calls + 1
        assert calls < 50
    return messages, cursor, calls


def test_mentions_are_read_page_by_page_and_the_cursor_reads_only_what_is_new(env: Env) -> None:
    posts = season(env)
    first = env.channel.conversations(ConversationQuery("mentions", post_remote_ids=tuple(posts),
                                                        max_items=5))
    assert first.more and len(first.messages) == first.items_read == 5
    again = env.channel.conversations(ConversationQuery("mentions", post_remote_ids=tuple(posts),
                                                        max_items=5))
    assert again.messages == first.messages and again.cursor == first.cursor
    rest, cursor, calls = read_all(env.channel, posts, first.cursor, 5)
    every = list(first.messages) + rest
    ids = [m.remote_id for m in every]
    assert calls > 1 and len(ids) == len(set(ids)) > 5
    # the pages followed the Link header: each call after the first names the last max_id
    reads = env.sandbox.journal.entries(network="mastodon", path=NOTIFICATIONS)
    queries = [parse_qs(e.query) for e in reads]
    assert all(q["types[]"] == ["mention"] for q in queries)
    assert any("max_id" in q for q in queries[1:])
    assert {m.kind for m in every} == {MessageKind.REPLY, MessageKind.MENTION}
    for message in every:
        assert message.author_handle and message.author_handle.endswith(f"@{LEARNER_INSTANCE}")
        assert message.text.startswith("@ManagerLeader20") and "<" not in message.text
        assert message.url and message.url.startswith(f"https://{LEARNER_INSTANCE}/@")
        assert message.created_at.tzinfo is not None and not message.from_us
        if message.kind is MessageKind.REPLY:  # under one of our posts: its thread
            assert message.post_remote_id in posts and message.thread_remote_id in posts
            assert message.parent_remote_id == message.post_remote_id
    # nothing new: the cursor reads nothing; new mentions later: only those
    nothing = env.channel.conversations(ConversationQuery("mentions", cursor=cursor))
    assert nothing.messages == () and nothing.items_read == 0 and not nothing.more
    clock = env.sandbox.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=30))
    later, _, _ = read_all(env.channel, posts, cursor)
    assert later and not {m.remote_id for m in later} & set(ids)


def test_a_first_read_starts_at_since(env: Env) -> None:
    season(env, hours=60)
    since = env.sandbox.clock.now() - timedelta(hours=12)
    page = env.channel.conversations(ConversationQuery("mentions", since=since, max_items=80))
    everything, _, _ = read_all(env.channel, [])
    assert page.messages and all(m.created_at >= since for m in page.messages)
    assert len(page.messages) < len(everything) and not page.more


def test_html_content_becomes_plain_text_safely() -> None:
    content = ('<p><span class="h-card"><a href="https://a.example/@bob" class="u-url mention">'
               '@<span>bob</span></a></span> Merci &amp; <b>bravo</b><br />ligne 2</p>'
               '<p>&lt;script&gt; reste du texte</p><script>alert(1)</script>')
    assert plain_text(content) == "@bob Merci & bravo\nligne 2\n\n<script> reste du texte"


def _one_mention(env: Env) -> IncomingMessage:
    posts = season(env, hours=20)
    messages, _, _ = read_all(env.channel, posts)
    return messages[0]


def _request(message: IncomingMessage, key: str = "reply-7") -> ReplyRequest:
    text = FACTS.addressed("Merci, la réponse est dans la FAQ !", message.author_handle)
    return ReplyRequest(text, message.remote_id, message.kind, message.thread_remote_id,
                        idempotency_key=key)


def test_a_reply_names_the_author_and_answers_the_status(env: Env) -> None:
    message = _one_mention(env)
    result = env.channel.reply(_request(message))
    (sent,) = env.creates()[-1:]
    assert sent["in_reply_to_id"] == [message.remote_id]
    assert sent["status"][0].startswith(f"@{message.author_handle} Merci")
    posted = [e for e in env.sandbox.journal.entries(path="/api/v1/statuses")
              if e.method == "POST"][-1]
    assert posted.headers.get("idempotency-key") == "reply-7"
    state = env.sandbox.state()["networks"]["mastodon"]["statuses"]
    mine = [s for s in state if s["id"] == result.remote_id]
    assert mine and mine[0]["in_reply_to_id"] == message.remote_id
    assert result.url and result.url.startswith(f"https://{SAMPLE_INSTANCE}/@ManagerLeader20/")


def test_a_lost_answer_is_sent_again_under_the_same_key_and_posts_once(env: Env) -> None:
    message = _one_mention(env)
    before = len(env.sandbox.state()["networks"]["mastodon"]["statuses"])
    env.sandbox.journal.clear()
    env.sandbox.faults.rules.append(FaultRule(
        "mastodon", FaultKind.DROP_AFTER_COMMIT, times=1,
        path=re.compile("/api/v1/statuses"), method="POST"))
    result = env.channel.reply(_request(message, "reply-8"))
    posts = [e for e in env.sandbox.journal.entries(path="/api/v1/statuses") if e.method == "POST"]
    assert len(posts) == 2 and posts[1].extra.get("idempotent_replay") == result.remote_id
    assert len(env.sandbox.state()["networks"]["mastodon"]["statuses"]) == before + 1


def test_a_reply_whose_answers_are_both_lost_is_unknown_in_the_inbox_words(env: Env) -> None:
    message = _one_mention(env)
    env.sandbox.faults.rules.append(FaultRule(
        "mastodon", FaultKind.DROP_AFTER_COMMIT, times=2,
        path=re.compile("/api/v1/statuses"), method="POST"))
    with pytest.raises(OutcomeUnknown) as lost:
        env.channel.reply(_request(message, "reply-9"))
    assert "reply" in str(lost.value) and "never sent twice" in lost.value.fix
    statuses = env.sandbox.state()["networks"]["mastodon"]["statuses"]
    assert sum(1 for s in statuses if s["idempotency_key"] == "reply-9") == 1


def test_read_errors_are_mapped(env: Env) -> None:
    season(env, hours=2)
    query = ConversationQuery("mentions")
    env.sandbox.faults.add("mastodon:429@once")
    with pytest.raises(RateLimited) as limited:
        env.channel.conversations(query)
    assert limited.value.reset_at is not None
    env.sandbox.faults.add("mastodon:500@once")
    with pytest.raises(TransientError):
        env.channel.conversations(query)
    env.sandbox.faults.add("mastodon:expire@once")
    with pytest.raises(AuthExpired) as expired:
        env.channel.conversations(query)
    assert "cm auth mastodon-mooc" in expired.value.fix


def test_an_overlong_reply_is_refused_before_sending(env: Env) -> None:
    message = _one_mention(env)
    request = ReplyRequest("a" * 501, message.remote_id, message.kind, message.thread_remote_id)
    assert env.channel.validate_reply(request)
    env.sandbox.journal.clear()
    with pytest.raises(Exception) as refused:
        env.channel.reply(request)
    assert "500" in str(refused.value) and not env.creates()
