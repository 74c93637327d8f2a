"""The simulated audience: deterministic from the seed, moved by what is published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cm_toolkit.sandbox.audience import Audience as _Audience
from cm_toolkit.sandbox.audience import GrowthProfile, Publication
from cm_toolkit.sandbox.facebook import FacebookEmulator
from cm_toolkit.sandbox.google.youtube import YouTubeEmulator
from cm_toolkit.sandbox.linkedin import LinkedInEmulator
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.x import XEmulator

EPOCH = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
DAYS = [EPOCH + timedelta(days=d, hours=3) for d in range(0, 120, 3)]
# each emulator declares how its audience grows (``Emulator.growth``)
PROFILES: dict[str, GrowthProfile] = {
    cls.network: cls.growth
    for cls in (XEmulator, FacebookEmulator, LinkedInEmulator, YouTubeEmulator)
}


def Audience(seed: int, epoch: datetime) -> _Audience:
    return _Audience(seed, epoch, PROFILES)


def _run(seed: int) -> dict[str, list[int]]:
    audience = Audience(seed, EPOCH)
    for day, (network, account, kind) in enumerate(
        [("x", "u1", "article"), ("facebook", "p1", "visual"), ("linkedin", "o1", "debate")] * 5
    ):
        audience.published(
            Publication(network, account, f"{network}-{day}", kind, EPOCH + timedelta(days=day * 7))
        )
    return {
        network: [audience.followers(network, account, at) for at in DAYS]
        for network, account in (("x", "u1"), ("facebook", "p1"), ("linkedin", "o1"), ("youtube", "c1"))
    }


def test_same_seed_same_history() -> None:
    assert _run(11) == _run(11)


def test_another_seed_another_wobble() -> None:
    assert _run(11) != _run(12)


def test_followers_grow_and_publications_add_a_bump() -> None:
    quiet = Audience(3, EPOCH)
    busy = Audience(3, EPOCH)
    busy.published(Publication("x", "u1", "t1", "article", EPOCH + timedelta(days=1)))
    history = [quiet.followers("x", "u1", at) for at in DAYS]
    assert history[-1] > history[0] > 0
    before, after = EPOCH + timedelta(hours=12), EPOCH + timedelta(days=3)
    assert busy.followers("x", "u1", before) == quiet.followers("x", "u1", before)
    gained = busy.followers("x", "u1", after) - quiet.followers("x", "u1", after)
    assert 70 * 0.75 - 1 <= gained <= 70 * 1.25 + 1  # the "article" bump of the X profile
    busy.unpublished("x", "t1")
    assert busy.followers("x", "u1", after) == quiet.followers("x", "u1", after)


def test_engagement_and_comments_are_deterministic_and_saturate() -> None:
    first, second = Audience(5, EPOCH), Audience(5, EPOCH)
    at = [EPOCH + timedelta(hours=h) for h in (1, 12, 48, 200)]
    views = [first.engagement("facebook", "p_1", EPOCH, t)["views"] for t in at]
    assert views == [second.engagement("facebook", "p_1", EPOCH, t)["views"] for t in at]
    assert views == sorted(views) and views[0] < views[-1]
    later = EPOCH + timedelta(days=3)
    comments = first.comments("facebook", "p_1", EPOCH, later)
    assert comments == second.comments("facebook", "p_1", EPOCH, later)
    assert len(comments) == min(25, first.engagement("facebook", "p_1", EPOCH, later)["comments"])
    assert comments and all(c["id"].startswith("p_1-c") for c in comments)


def test_unknown_network_has_no_followers() -> None:
    assert Audience(1, EPOCH).followers("myspace", "a", EPOCH + timedelta(days=1)) == 0


def test_comments_only_grow_and_never_arrive_backdated() -> None:
    audience = Audience(5, EPOCH)
    seen: dict[str, str] = {}
    newest = ""
    for hours in range(0, 80, 3):
        at = EPOCH + timedelta(hours=hours)
        comments = audience.comments("x", "t_9", EPOCH, at)
        assert [c["created_at"] for c in comments] == sorted(c["created_at"] for c in comments)
        assert all(c["created_at"] <= at.isoformat() for c in comments)
        new = [c for c in comments if c["id"] not in seen]
        assert all(c["created_at"] > newest for c in new)  # a newest-seen cursor misses nothing
        assert all(seen[c["id"]] == c["text"] for c in comments if c["id"] in seen)
        seen.update({c["id"]: c["text"] for c in comments})
        newest = max([newest, *(c["created_at"] for c in comments)])
        ids = {c["id"] for c in comments}
        assert all(c["reply_to"] in ids for c in comments if c["reply_to"])


def test_messages_are_learners_questions_and_more_in_french_and_english() -> None:
    audience = Audience(8, EPOCH)
    said = [c for n in range(40) for c in
            audience.comments("facebook", f"p_{n}", EPOCH, EPOCH + timedelta(days=4))]
    said += audience.mentions("x", "u1", EPOCH + timedelta(days=10))
    assert {c["language"] for c in said} == {"fr", "en"}
    faq = {"certificat", "inscription", "live-lien", "acces-module", "duree", "langue", "forum"}
    assert faq <= {c["topic"] for c in said}
    assert {"merci", "critique", "hors-sujet"} <= {c["topic"] for c in said}
    assert any(c["reply_to"] for c in said if "reply_to" in c)
    mentions = audience.mentions("x", "u1", EPOCH + timedelta(days=10))
    assert 15 <= len(mentions) <= 50  # about three a day
    assert mentions == Audience(8, EPOCH).mentions("x", "u1", EPOCH + timedelta(days=10))


def test_live_chat_is_a_burst_while_on_air() -> None:
    audience = Audience(3, EPOCH)
    start, end = EPOCH + timedelta(days=1), EPOCH + timedelta(days=1, minutes=90)
    assert audience.live_chat("chat-1", start, end, start - timedelta(minutes=1)) == []
    whole = audience.live_chat("chat-1", start, end, end + timedelta(hours=2))
    assert 30 <= len(whole) <= 60
    assert all(start.isoformat() <= line["created_at"] <= end.isoformat() for line in whole)
    first_half = audience.live_chat("chat-1", start, end, start + timedelta(minutes=45))
    assert len(first_half) > len(whole) / 2  # denser at the start
    assert whole[: len(first_half)] == first_half


def test_each_emulator_brings_its_growth_and_a_plugin_one_a_neutral_default() -> None:
    sandbox = Sandbox(seed=1, epoch=EPOCH)
    profiles = sandbox.audience.profiles
    for emulator in sandbox.emulators:
        assert emulator.network in profiles
    assert profiles["x"] == XEmulator.growth
    mastodon, bluesky = sandbox.emulator("mastodon"), sandbox.emulator("bluesky")
    assert profiles["mastodon"] == type(mastodon).growth and profiles["mastodon"].base > 0
    assert profiles["bluesky"] == type(bluesky).growth and profiles["bluesky"].base > 0
    assert profiles["meet"].base == 0  # the Calendar emulator declares none: the neutral one
    given = Sandbox(seed=1, epoch=EPOCH, profiles={"x": GrowthProfile(7, 0.0)})
    assert given.audience.profiles["x"].base == 7  # a profile given to the sandbox wins
