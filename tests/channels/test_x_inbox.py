"""The X adapter's inbox (mentions, replies in our conversations) against the X emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
import tweepy

from cm_toolkit.channels.base import ConversationQuery, MessageKind, RenderedPost, ReplyRequest
from cm_toolkit.channels.x import XChannel
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.test_x import START, Env


@pytest.fixture
def env() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=3, clock=clock).running() as sandbox:
        yield Env(sandbox, clock)


def season(env: Env, hours: float = 40) -> tuple[XChannel, list[str]]:
    x = env.channel()
    posts = [x.publish(RenderedPost(text=f"Vos questions sur le module {n} ?")).remote_id
             for n in (1, 2, 3)]
    env.clock.advance(timedelta(hours=hours))
    return x, posts


def read_all(x: XChannel, source: str, posts: list[str], cursor: str | None = None,
             max_items: int = 100) -> tuple[list[object], str | None, int, int]:
    messages, more, calls, billed = [], True, 0, 0
    while more:
        page = x.conversations(ConversationQuery(source, cursor=cursor,
                                                 post_remote_ids=tuple(posts),
                                                 max_items=max_items))
        messages += list(page.messages)
        cursor, more, calls, billed = page.cursor, page.more, calls + 1, billed + page.items_read
    return messages, cursor, calls, billed


def test_mentions_page_with_cursors_and_count_every_post_read(env: Env) -> None:
    x, _ = season(env)
    first = x.conversations(ConversationQuery("mentions", max_items=5))
    assert first.more and first.items_read == len(first.messages) == 5
    again = x.conversations(ConversationQuery("mentions", max_items=5))
    assert again.messages == first.messages
    rest, cursor, calls, billed = read_all(x, "mentions", [], first.cursor, 5)
    every = list(first.messages) + rest
    assert calls > 1 and billed + 5 == len(every) == len({m.remote_id for m in every})
    assert all(m.kind is MessageKind.MENTION and "@ManagerLeader20" in m.text for m in every)
    assert {m.language for m in every} <= {"fr", "en"} and len({m.language for m in every}) == 2
    # the author's @username travels with the display name: replies address it
    assert all(m.author_handle and m.url == f"https://x.com/{m.author_handle}/status/"
               f"{m.remote_id}" and m.author_name != m.author_handle for m in every)
    nothing = x.conversations(ConversationQuery("mentions", cursor=cursor))
    assert nothing.messages == () and nothing.items_read == 0
    reads = [e for e in env.sandbox.journal.entries(network="x", path=r"/2/users/\d+/mentions")
             if e.status == 200]  # the first call met the expired token, then it was refreshed
    assert [e.extra["billed"]["owned_reads"] for e in reads][:1] == [5]
    assert reads[0].extra["billed"]["usd"] == pytest.approx(0.005)  # 5 owned reads at $0.001


def test_replies_in_our_conversations_and_learners_answering_each_other(env: Env) -> None:
    x, posts = season(env)
    messages, cursor, _, billed = read_all(x, "replies", posts, max_items=10)
    assert messages and billed == len(messages) + len(posts)  # X bills the roots read too
    assert {m.thread_remote_id for m in messages} <= set(posts)  # type: ignore[attr-defined]
    assert not {m.remote_id for m in messages} & set(posts)  # type: ignore[attr-defined]
    kinds = {m.kind for m in messages}  # type: ignore[attr-defined]
    assert kinds == {MessageKind.MENTION, MessageKind.REPLY}  # answers between learners too
    searches = [e for e in env.sandbox.journal.entries(network="x", path=r"/2/tweets/search/recent")
                if e.status == 200]
    query = parse_qs(searches[0].query)["query"][0]
    assert query == " OR ".join(f"conversation_id:{p}" for p in sorted(posts, key=int))
    assert all(e.extra["billed"]["usd"] == pytest.approx(0.005 * e.extra["billed"]["post_reads"])
               for e in searches)
    again, _, _, _ = read_all(x, "replies", posts, max_items=10)
    assert again == messages
    assert read_all(x, "replies", posts, cursor)[0] == []
    env.clock.advance(timedelta(days=2))
    newer, _, _, _ = read_all(x, "replies", posts, cursor)
    assert newer and not {m.remote_id for m in newer} & {m.remote_id for m in messages}  # type: ignore[attr-defined]


def test_a_reply_reaches_x_once_and_the_reply_rule_is_enforced(env: Env) -> None:
    x, posts = season(env)
    messages, _, _, _ = read_all(x, "replies", posts)
    mention = next(m for m in messages if m.kind is MessageKind.MENTION)  # type: ignore[attr-defined]
    other = next(m for m in messages if m.kind is MessageKind.REPLY and not m.from_us)  # type: ignore[attr-defined]
    result = x.reply(ReplyRequest("Bonne question : l'attestation arrive en fin de session.",
                                  mention.remote_id, mention.kind, mention.thread_remote_id))  # type: ignore[attr-defined]
    creates = env.creates()
    assert len(creates) == 4  # three posts, one reply
    assert json.loads(creates[-1].body)["reply"] == {"in_reply_to_tweet_id": mention.remote_id}  # type: ignore[attr-defined]
    assert creates[-1].extra["billed"] == {"posts_created": 1, "usd": 0.010}
    assert result.url and result.url.endswith(result.remote_id)
    request = ReplyRequest("Merci !", other.remote_id, other.kind, other.thread_remote_id)  # type: ignore[attr-defined]
    (problem,) = x.validate_reply(request)
    assert "mention or quote" in problem.message and "on X itself" in problem.fix
    with pytest.raises(Rejected):
        x.reply(request)
    assert len(env.creates()) == 4  # refused before sending
    # sent anyway (as a mention it is not), X refuses it in its own words
    with pytest.raises(Rejected) as caught:
        x.reply(ReplyRequest("Merci !", other.remote_id, MessageKind.MENTION,  # type: ignore[attr-defined]
                             other.thread_remote_id))  # type: ignore[attr-defined]
    assert caught.value.info.status == 403 and "mention or quote" in str(caught.value)
    assert "not been mentioned" in (caught.value.info.network_message or "")
    refused = env.creates()[-1]
    assert refused.status == 403 and refused.extra["refused"] == "reply_rule"
    body = json.loads(refused.response)
    assert body["type"] == "about:blank" and body["status"] == 403 and body["title"] == "Forbidden"


def test_errors_are_mapped(env: Env) -> None:
    x, posts = season(env)
    env.sandbox.faults.add("x:429@once")
    with pytest.raises(RateLimited) as limited:
        x.conversations(ConversationQuery("mentions"))
    assert limited.value.reset_at is not None and limited.value.reset_at > START
    env.sandbox.faults.add("x:500@once")
    with pytest.raises(TransientError):
        x.conversations(ConversationQuery("replies", post_remote_ids=tuple(posts)))
    with pytest.raises(AuthExpired):
        env.channel(access_token="x-revoked").conversations(ConversationQuery("mentions"))
    mention = x.conversations(ConversationQuery("mentions")).messages[0]
    env.sandbox.faults.add("x:drop-after-commit@once/2/tweets$")
    with pytest.raises(OutcomeUnknown):
        x.reply(ReplyRequest("Merci !", mention.remote_id, mention.kind, mention.thread_remote_id))
    assert len(env.creates()) == 4


def test_search_is_validated_against_xs_definition_and_covers_seven_days(env: Env) -> None:
    x, posts = season(env)
    cursor = x.conversations(ConversationQuery("replies", post_remote_ids=tuple(posts))).cursor
    client = x.client  # its token refreshed by the read above

    with pytest.raises(tweepy.BadRequest) as bad:
        client.search_recent_tweets(f"conversation_id:{posts[0]}", max_results=5, user_auth=False)
    assert "max_results" in str(bad.value)
    with pytest.raises(tweepy.BadRequest) as operator:
        client.search_recent_tweets("place_country:FR", user_auth=False)
    assert "invalid operator" in str(operator.value)
    env.clock.advance(timedelta(days=9))
    x = env.channel()
    page = x.conversations(ConversationQuery("replies", cursor=cursor, post_remote_ids=tuple(posts)))
    assert page.messages == () and not page.more  # nothing newer, the old since_id dropped
    statuses = [e.status for e in env.sandbox.journal.entries(path=r"/2/tweets/search/recent")]
    assert statuses[-2:] == [400, 200]
