"""The Bluesky adapter through the atproto SDK against the sandbox: graphemes, facets in UTF-8
bytes, the link card, images, threads, the stored session, and record keys that settle a lost
answer (the sandbox's drop-after-commit fault) without a second post."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.bluesky import BlueskyChannel, BlueskySettings
from cm_toolkit.channels.bluesky import text as rich
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited
from cm_toolkit.sandbox.bluesky.base import MOOC_HANDLE
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.faults import FaultKind, FaultRule
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
IMAGE = Path(__file__).resolve().parents[2] / "assets" / "visuel-leadership.png"
CREATE = r"/xrpc/com\.atproto\.repo\.createRecord"


@dataclass
class Env:
    sandbox: Sandbox
    clock: ManualClock
    credentials: MemoryCredentials

    def channel(self, **settings: Any) -> BlueskyChannel:
        return BlueskyChannel("bluesky-mooc", BlueskySettings(handle=MOOC_HANDLE, **settings),
                              self.credentials, self.sandbox.transport(timeout=5))

    def calls(self, name: str) -> list[Any]:
        return self.sandbox.journal.entries(path=rf"/xrpc/{re.escape(name)}")

    def fault(self, kind: FaultKind, path: str, times: int = 1) -> None:
        self.sandbox.faults.rules.append(FaultRule("bluesky", kind, times=times,
                                                   path=re.compile(path)))

    def posts(self) -> list[dict[str, Any]]:
        return list(self.sandbox.state()["networks"]["bluesky"]["accounts"][MOOC_HANDLE]["posts"])


@pytest.fixture
def env() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=5, clock=clock).running() as sandbox:
        password = sandbox.env()["CM_BLUESKY_APP_PASSWORD"]
        yield Env(sandbox, clock, MemoryCredentials("bluesky-mooc", {"app_password": password}))


def record_of(entry: Any) -> dict[str, Any]:
    return dict(entry.json_body()["record"])


# -- text ------------------------------------------------------------------------------------

def test_length_is_in_graphemes() -> None:
    assert BlueskyChannel.text_length("👍🏽🇫🇷é") == 3  # skin tone, flag, e + combining accent
    assert BlueskyChannel.text_length("a" * 300) == 300
    assert BlueskyChannel.limits.text_max == 300 and BlueskyChannel.limits.text_unit == "graphemes"


def test_record_keys_are_tids_derived_from_the_delivery() -> None:
    key = rich.record_key("bluesky-mooc", "cm-delivery-7", "0", "texte")
    assert re.fullmatch(r"[234567a-j][234567a-z]{12}", key)
    assert key == rich.record_key("bluesky-mooc", "cm-delivery-7", "0", "texte")
    assert key != rich.record_key("bluesky-mooc", "cm-delivery-8", "0", "texte")


def test_facets_are_utf8_byte_ranges_and_mentions_are_dids(env: Env) -> None:
    text = "Merci 🇫🇷 @mooc-leader20.bsky.social et @personne.example.org ! " \
           "Lisez https://mooc.example.org/a?b=1. #MOOC2027"
    env.channel().publish(RenderedPost(text=text, idempotency_key="cm-delivery-1"))
    (create,) = env.calls("com.atproto.repo.createRecord")
    record = record_of(create)
    raw = record["text"].encode("utf-8")
    found = {raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode():
             f["features"][0] for f in record["facets"]}
    did = env.sandbox.state()["networks"]["bluesky"]["accounts"][MOOC_HANDLE]["did"]
    assert found == {
        "@mooc-leader20.bsky.social": {"$type": "app.bsky.richtext.facet#mention", "did": did},
        "https://mooc.example.org/a?b=1": {"$type": "app.bsky.richtext.facet#link",
                                           "uri": "https://mooc.example.org/a?b=1"},
        "#MOOC2027": {"$type": "app.bsky.richtext.facet#tag", "tag": "MOOC2027"},
    }  # the handle nobody has stays plain text
    assert "langs" not in record  # none set for this channel


def test_a_link_becomes_a_card_and_images_carry_their_alt_text(env: Env) -> None:
    channel = env.channel(langs=("fr",))
    channel.publish(RenderedPost(text="Nouvel article", link="https://mooc.example.org/art",
                                 title="Le feedback", idempotency_key="cm-delivery-2"))
    channel.publish(RenderedPost(
        text="Le visuel", link="https://mooc.example.org/v", idempotency_key="cm-delivery-3",
        media=(Media(IMAGE, "image/png", "Un visuel bleu"), Media(IMAGE, "image/png", "Bis"))))
    card, images = (record_of(e) for e in env.calls("com.atproto.repo.createRecord"))
    assert card["embed"]["$type"] == "app.bsky.embed.external"
    external = {k: v for k, v in card["embed"]["external"].items() if k != "$type"}
    assert external == {"uri": "https://mooc.example.org/art", "title": "Le feedback",
                        "description": ""}
    assert card["text"] == "Nouvel article" and card["langs"] == ["fr"]
    assert [i["alt"] for i in images["embed"]["images"]] == ["Un visuel bleu", "Bis"]
    assert images["text"] == "Le visuel\nhttps://mooc.example.org/v"  # no card beside images
    assert len(env.calls("com.atproto.repo.uploadBlob")) == 2


def test_a_thread_replies_to_its_root_and_parent(env: Env) -> None:
    result = env.channel().publish(RenderedPost(text="mot " * 200, thread=True,
                                                idempotency_key="cm-delivery-4"))
    records = [record_of(e) for e in env.calls("com.atproto.repo.createRecord")]
    uris = result.extra["thread_ids"]
    assert len(records) == len(uris) == 3
    assert [r["text"][-3:] for r in records] == ["1/3", "2/3", "3/3"]
    assert "reply" not in records[0]
    assert records[2]["reply"]["root"]["uri"] == uris[0]
    assert records[2]["reply"]["parent"]["uri"] == uris[1]


def test_validate_counts_graphemes_images_and_their_size(env: Env, tmp_path: Path) -> None:
    channel = env.channel()
    assert channel.validate(RenderedPost(text="🇫🇷" * 300)) == []
    (too_long,) = channel.validate(RenderedPost(text="🇫🇷" * 301))
    assert "301 graphemes" in too_long.message and "threads: true" in too_long.fix
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + b"0" * 2_000_000)
    problems = channel.validate(RenderedPost(text="x", media=(Media(IMAGE, "image/png"),) * 4
                                             + (Media(big, "image/png"),)))
    assert [p.message for p in problems] == [
        "5 images, Bluesky takes 4 at most",
        "big.png is 2,000,004 bytes, Bluesky takes images up to 2,000,000"]


# -- the session -----------------------------------------------------------------------------

def test_the_session_is_stored_and_reused_then_refreshed(env: Env) -> None:
    env.channel().publish(RenderedPost(text="un", idempotency_key="cm-delivery-5"))
    stored = env.credentials.find("session")
    assert stored and stored.startswith(f"{MOOC_HANDLE}:::did:plc:")
    env.channel().publish(RenderedPost(text="deux", idempotency_key="cm-delivery-6"))
    assert len(env.calls("com.atproto.server.createSession")) == 1  # a new run: no sign-in
    env.clock.advance(timedelta(hours=3))  # the access JWT (2 hours) has expired
    env.channel().publish(RenderedPost(text="trois", idempotency_key="cm-delivery-7"))
    assert len(env.calls("com.atproto.server.refreshSession")) == 1
    assert len(env.calls("com.atproto.server.createSession")) == 1
    assert env.credentials.find("session") != stored
    assert [p["text"] for p in env.posts()] == ["un", "deux", "trois"]


def test_a_spent_refresh_token_signs_in_again_once(env: Env) -> None:
    env.channel().followers()
    env.clock.advance(timedelta(days=91))  # past the refresh JWT's 90 days
    assert env.channel().followers() > 0
    assert len(env.calls("com.atproto.server.createSession")) == 2


def test_a_wrong_app_password_says_how_to_make_one(env: Env) -> None:
    env.credentials = MemoryCredentials("bluesky-mooc", {"app_password": "wrong"})
    with pytest.raises(AuthExpired) as caught:
        env.channel().followers()
    assert "app password" in caught.value.fix and "bluesky-mooc.yaml" in caught.value.fix
    assert "wrong" not in str(caught.value)


def test_429_is_rate_limited_at_the_reset_bluesky_gives(env: Env) -> None:
    env.channel().followers()
    env.fault(FaultKind.RATE_LIMIT, CREATE)
    with pytest.raises(RateLimited) as caught:
        env.channel().publish(RenderedPost(text="x", idempotency_key="cm-delivery-8"))
    assert caught.value.reset_at is not None and caught.value.reset_at > START


# -- never twice -----------------------------------------------------------------------------

def test_drop_after_commit_is_settled_by_reading_the_key_back(env: Env) -> None:
    env.channel().followers()
    env.fault(FaultKind.DROP_AFTER_COMMIT, CREATE)
    result = env.channel().publish(RenderedPost(text="perdue ?", idempotency_key="cm-delivery-9"))
    (create,) = env.calls("com.atproto.repo.createRecord")
    assert create.fault == "drop-after-commit" and create.status is None
    (lookup,) = env.calls("com.atproto.repo.getRecord")
    assert lookup.status == 200 and result.remote_id.endswith(create.json_body()["rkey"])
    assert [p["text"] for p in env.posts()] == ["perdue ?"]


def test_a_request_dropped_before_the_pds_is_sent_again_under_the_same_key(env: Env) -> None:
    env.channel().followers()
    env.fault(FaultKind.DROP, CREATE)
    env.channel().publish(RenderedPost(text="encore", idempotency_key="cm-delivery-10"))
    first, second = env.calls("com.atproto.repo.createRecord")
    assert first.status is None and second.status == 200
    assert first.json_body()["rkey"] == second.json_body()["rkey"]
    assert [p["text"] for p in env.posts()] == ["encore"]


def test_an_unsettled_answer_is_unknown_and_sending_it_again_makes_no_second_post(
    env: Env,
) -> None:
    env.channel().followers()
    env.fault(FaultKind.DROP_AFTER_COMMIT, CREATE)
    env.fault(FaultKind.SERVER_500, r"/xrpc/com\.atproto\.repo\.getRecord")
    post = RenderedPost(text="une seule fois", idempotency_key="cm-delivery-11")
    with pytest.raises(OutcomeUnknown) as caught:
        env.channel().publish(post)
    assert "record key" in str(caught.value)
    again = env.channel().publish(post)  # e.g. a person sends it again from cm review
    assert env.calls("com.atproto.repo.createRecord")[-1].status == 500  # the key is taken
    assert [p["text"] for p in env.posts()] == ["une seule fois"]
    assert again.remote_id == env.posts()[0]["uri"]


def test_delete_then_delete_again(env: Env) -> None:
    channel = env.channel()
    result = channel.publish(RenderedPost(text="à effacer", idempotency_key="cm-delivery-12"))
    channel.delete(result.remote_id)
    channel.delete(result.remote_id)  # already gone: what we wanted
    assert env.posts() == []
    assert [e.status for e in env.calls("com.atproto.repo.deleteRecord")] == [200, 200]


def test_engagement_reads_25_posts_a_call(env: Env) -> None:
    channel = env.channel()
    uris = [channel.publish(RenderedPost(text=f"post {n}", idempotency_key=f"cm-delivery-e{n}"))
            .remote_id for n in range(27)]
    env.clock.advance(timedelta(hours=20))
    env.clock.advance(timedelta(minutes=1))
    env.sandbox.ctx.tokens.expire("bluesky")  # the 2-hour token: refreshed on the way
    found = channel.engagement(uris)
    assert [e.remote_id for e in found] == uris
    assert len(env.calls("app.bsky.feed.getPosts")) == 3  # 25 + 2, the first answered 400
    assert any(e.reactions > 0 for e in found)
