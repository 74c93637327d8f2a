"""The Mastodon adapter against the sandbox: Mastodon.py, the sandbox transport, no patch."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.mastodon import MastodonChannel, MastodonSettings
from cm_toolkit.channels.registry import channel_class
from cm_toolkit.errors import Rejected
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.mastodon import MastodonEmulator
from cm_toolkit.sandbox.mastodon.base import SAMPLE_INSTANCE
from cm_toolkit.sandbox.server import Sandbox

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
IMAGE = Path(__file__).resolve().parents[2] / "assets" / "visuel-leadership.png"


@dataclass
class Env:
    sandbox: Sandbox
    channel: MastodonChannel

    def creates(self) -> list[dict[str, list[str]]]:
        return [parse_qs(e.body) for e in self.sandbox.journal.entries(path="/api/v1/statuses")
                if e.method == "POST"]


@pytest.fixture
def env() -> Iterator[Env]:
    with Sandbox(seed=3, clock=ManualClock(START), epoch=START,
                 emulators=[MastodonEmulator]).running() as sandbox:
        token = sandbox.env()["CM_MASTODON_ACCESS_TOKEN"]
        channel = MastodonChannel(
            "mastodon-mooc", MastodonSettings(instance=SAMPLE_INSTANCE, username="ManagerLeader20"),
            MemoryCredentials("mastodon-mooc", {"access_token": token}), sandbox.transport(5))
        yield Env(sandbox, channel)


def test_mastodon_is_a_built_in_network_with_its_facts() -> None:
    cls = channel_class("mastodon")
    assert cls is MastodonChannel
    assert cls.limits.text_max == 500 and cls.limits.media_max == 4
    assert cls.oauth is not None and "{instance}" in cls.oauth.authorize_url
    assert cls.emulators == ("cm_toolkit.sandbox.mastodon:MastodonEmulator",)


@pytest.mark.parametrize(("text", "length"), [
    ("Bonjour", 7),
    ("Lien : https://mooc-leader20.fr/blog/un-tres-long-chemin-qui-depasse-23", 7 + 23),
    ("mooc-leader20.fr sans schéma", 28),  # only links with their scheme count 23
    ("Merci @ManagerLeader20@social.univ-campus.fr !", len("Merci @ManagerLeader20 !")),
    ("👍🏽 🇫🇷 👨‍👩‍👧 é", 7),  # graphemes: a modifier, a flag, a family, a combining accent
])
def test_text_length_counts_as_mastodon_does(text: str, length: int) -> None:
    assert MastodonChannel.text_length(text) == length


def test_the_link_is_appended_once_and_the_key_is_sent(env: Env) -> None:
    post = RenderedPost(text="Nouvel article", link="https://mooc-leader20.fr/a",
                        idempotency_key="cm-delivery-41")
    result = env.channel.publish(post)
    (create,) = env.creates()
    assert create["status"] == ["Nouvel article\n\nhttps://mooc-leader20.fr/a"]
    (entry,) = [e for e in env.sandbox.journal.entries(path="/api/v1/statuses")]
    assert entry.headers["idempotency-key"] == "cm-delivery-41"
    assert result.url == f"https://{SAMPLE_INSTANCE}/@ManagerLeader20/{result.remote_id}"


def test_the_instance_limit_is_read_from_the_instance(env: Env) -> None:
    text = "mot " * 160  # 640 characters
    with pytest.raises(Rejected, match="more than the 500"):
        env.channel.publish(RenderedPost(text=text))
    assert env.creates() == []  # refused before anything was sent
    emulator = env.sandbox.emulator_of(MastodonEmulator)
    emulator.instances[SAMPLE_INSTANCE].max_characters = 1000
    fresh = MastodonChannel(env.channel.channel_id, env.channel.settings,
                            env.channel.credentials, env.sandbox.transport(5))
    assert fresh.publish(RenderedPost(text=text)).remote_id
    assert "1000 characters a post" in fresh.check()


def test_a_thread_is_a_chain_of_replies_with_a_key_per_part(env: Env) -> None:
    text = " ".join(f"Phrase {n} du retour sur le module, assez longue pour remplir." for n in
                    range(20))
    result = env.channel.publish(RenderedPost(text=text, thread=True, idempotency_key="k"))
    ids = list(result.extra["thread_ids"])
    creates = env.creates()
    assert len(ids) == len(creates) >= 2
    assert [c.get("in_reply_to_id") for c in creates] == [None] + [[i] for i in ids[:-1]]
    keys = [e.headers["idempotency-key"] for e in
            env.sandbox.journal.entries(path="/api/v1/statuses")]
    assert keys == ["k"] + [f"k-part-{n}" for n in range(2, len(ids) + 1)]


def test_images_carry_their_alt_text(env: Env) -> None:
    post = RenderedPost(text="Le visuel", media=(Media(IMAGE, "image/png", "Un escalier"),))
    env.channel.publish(post)
    (media,) = env.sandbox.state()["networks"]["mastodon"]["media"]
    assert media["description"] == "Un escalier" and media["status_id"]


def test_validate_names_every_problem(env: Env) -> None:
    five = tuple(Media(IMAGE, "image/png") for _ in range(5))
    problems = env.channel.validate(RenderedPost(text="", media=five))
    assert [p.message for p in problems] == ["5 images, Mastodon takes at most 4"]
    pdf = env.channel.validate(RenderedPost(text="x", media=(Media(IMAGE, "application/pdf"),)))
    assert "images only" in pdf[0].message and pdf[0].file == "mastodon-mooc"


def test_followers_and_engagement_come_from_the_instance(env: Env) -> None:
    result = env.channel.publish(RenderedPost(text="Compte"))
    assert env.channel.followers() > 0
    (engagement,) = env.channel.engagement([result.remote_id])
    assert engagement.remote_id == result.remote_id
    env.channel.delete(result.remote_id)
    env.channel.delete(result.remote_id)  # already gone: nothing to do
    assert env.sandbox.state()["networks"]["mastodon"]["statuses"] == []


def test_a_lost_create_is_sent_once_more_under_the_same_key(env: Env) -> None:
    """How Mastodon settles a lost answer (the contract's ``settles_lost_creates``): the same
    Idempotency-Key again, which the instance answers with the status it already made."""
    env.channel.publish(RenderedPost(text="Échauffement", idempotency_key="cm-delivery-50"))
    env.sandbox.journal.clear()
    env.sandbox.faults.add("mastodon:drop-after-commit@once/api/v1/statuses")
    result = env.channel.publish(RenderedPost(text="Perdue ?", idempotency_key="cm-delivery-51"))
    first, second = env.sandbox.journal.entries(path="/api/v1/statuses")
    assert first.fault == "drop-after-commit" and second.status == 200
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "cm-delivery-51"
    statuses = env.sandbox.state()["networks"]["mastodon"]["statuses"]
    assert [s["id"] for s in statuses if s["text"] == "Perdue ?"] == [result.remote_id]
