"""The YouTube adapter's inbox (comment threads, live chat) against the YouTube emulator."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from cm_toolkit.channels.base import (
    ConversationQuery,
    LiveSessionRequest,
    Media,
    MessageKind,
    RenderedPost,
    ReplyRequest,
)
from cm_toolkit.channels.youtube import YouTubeChannel
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.google.youtube import YouTubeEmulator
from cm_toolkit.sandbox.server import Sandbox
from tests.channels.cases.youtube import tiny_video
from tests.channels.youtube_fixtures import (  # noqa: F401 (fixtures)
    START,
    youtube_channel_fixture,
    youtube_clock,
    youtube_credentials,
    youtube_sandbox,
)


def units(sandbox: Sandbox) -> int:
    return int(sandbox.emulator_of(YouTubeEmulator).quota.used)


def uploaded(
    channel: YouTubeChannel, clock: ManualClock, tmp_path: Path, hours: float, count: int = 1
) -> list[str]:
    videos = []
    for n in range(count):
        post = RenderedPost(text=f"Le replay du module {n}", title=f"Replay — module {n}",
                            media=(Media(tiny_video(tmp_path), "video/mp4"),))
        videos.append(channel.publish(post).remote_id)
    clock.advance(timedelta(hours=hours))
    return videos


def test_comment_threads_with_cursor_units_and_a_reply(
    sandbox: Sandbox, channel: YouTubeChannel, clock: ManualClock, tmp_path: Path
) -> None:
    videos = uploaded(channel, clock, tmp_path, hours=80, count=3)
    before = units(sandbox)
    pages, cursor, more = [], None, True
    while more:
        query = ConversationQuery("comments", cursor=cursor, post_remote_ids=tuple(videos),
                                  max_items=5)
        page = channel.conversations(query)
        assert channel.conversations(query) == page  # the same cursor, the same page
        pages.append(page)
        cursor, more = page.cursor, page.more
    messages = [m for p in pages for m in p.messages]
    assert len(pages) > 1 and len(messages) == len({m.remote_id for m in messages}) > 5
    assert units(sandbox) - before == 2 * sum(p.units for p in pages)  # 1 unit a page, twice
    assert {m.thread_remote_id for m in messages} == set(videos)
    replies = [m for m in messages if m.kind is MessageKind.REPLY]
    assert replies and all(m.remote_id.startswith(f"{m.parent_remote_id}.") for m in replies)
    assert channel.conversations(ConversationQuery("comments", cursor=cursor)).messages == ()
    target = replies[0]  # an answer to a reply goes under the top-level comment
    before = units(sandbox)
    result = channel.reply(ReplyRequest("Merci ! Les sous-titres arrivent.", target.remote_id,
                                        target.kind, target.thread_remote_id))
    assert result.units == 50 and units(sandbox) - before == 50
    inserts = sandbox.journal.entries(method="POST", path=r"/youtube/v3/comments")
    assert len(inserts) == 1
    assert json.loads(inserts[0].body)["snippet"]["parentId"] == target.parent_remote_id
    (ours,) = channel.conversations(ConversationQuery("comments", cursor=cursor)).messages
    assert ours.remote_id == result.remote_id and ours.from_us
    replies_state = sandbox.state()["networks"]["youtube"]["replies"]
    assert replies_state == {target.parent_remote_id: ["Merci ! Les sous-titres arrivent."]}


def test_live_chat_honours_polling_and_its_page_token(
    sandbox: Sandbox, channel: YouTubeChannel, clock: ManualClock
) -> None:
    session = LiveSessionRequest("live-3", "Live Q&A — module 3", "Vos questions",
                                 START + timedelta(days=1), timedelta(minutes=90))
    chat_id = channel.schedule_live(session).extra["live_chat_id"]
    assert chat_id and str(chat_id).startswith("KicKGFVD")
    query = ConversationQuery("live_chat", live_chat_id=str(chat_id))
    early = channel.conversations(query)
    assert early.messages == () and early.poll_after == timedelta(seconds=30)
    clock.advance(timedelta(days=1, minutes=20))
    on_air = channel.conversations(replace_cursor(query, early.cursor))
    assert on_air.messages and on_air.poll_after == timedelta(seconds=10)
    assert all(m.kind is MessageKind.LIVE_CHAT and m.thread_remote_id == chat_id
               for m in on_air.messages)
    before = units(sandbox)  # (the quota's day turned at midnight Pacific on the way)
    assert channel.conversations(replace_cursor(query, early.cursor)) == on_air
    assert on_air.units == 5 and units(sandbox) - before == 5
    clock.advance(timedelta(minutes=30))
    later = channel.conversations(replace_cursor(query, on_air.cursor))
    assert later.messages
    assert min(m.created_at for m in later.messages) >= max(m.created_at for m in on_air.messages)
    line = on_air.messages[0]
    answer = channel.reply(ReplyRequest("Oui, le replay sera en ligne ce soir.", line.remote_id,
                                        line.kind, str(chat_id), live_chat_id=str(chat_id)))
    assert answer.units == 50
    (mine,) = [m for m in channel.conversations(replace_cursor(query, later.cursor)).messages
               if m.from_us]
    assert mine.remote_id == answer.remote_id
    too_long = ReplyRequest("x" * 201, line.remote_id, line.kind, str(chat_id),
                            live_chat_id=str(chat_id))
    assert channel.validate_reply(too_long)
    clock.advance(timedelta(hours=3))
    with pytest.raises(Rejected) as ended:
        channel.conversations(query)
    assert ended.value.info.code == "liveChatEnded"


def replace_cursor(query: ConversationQuery, cursor: str | None) -> ConversationQuery:
    return ConversationQuery(query.source, cursor=cursor, live_chat_id=query.live_chat_id)


def test_errors_are_mapped(
    sandbox: Sandbox, channel: YouTubeChannel, clock: ManualClock, tmp_path: Path
) -> None:
    (video,) = uploaded(channel, clock, tmp_path, hours=30)
    query = ConversationQuery("comments", post_remote_ids=(video,))
    sandbox.faults.add("youtube:429@once")
    with pytest.raises(RateLimited) as limited:
        channel.conversations(query)
    assert limited.value.reset_at is not None
    sandbox.faults.add("youtube:500@once")
    with pytest.raises(TransientError):
        channel.conversations(query)
    first = channel.conversations(query).messages[0]
    sandbox.faults.add("youtube:drop-after-commit@once/youtube/v3/comments")
    with pytest.raises(OutcomeUnknown):
        channel.reply(ReplyRequest("Merci", first.remote_id, first.kind, video))
    assert len(sandbox.journal.entries(method="POST", path=r"/youtube/v3/comments")) == 1
    sandbox.emulator_of(YouTubeEmulator).quota.daily_units = units(sandbox)
    with pytest.raises(RateLimited) as quota:
        channel.conversations(query)
    assert "quota" in (quota.value.info.network_message or "")
    sandbox.ctx.tokens.expire("youtube")
    sandbox.ctx.tokens._refresh.clear()  # the refresh token is gone too: cm auth again
    with pytest.raises(AuthExpired):
        channel.conversations(query)
