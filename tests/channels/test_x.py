"""The X adapter against the sandbox: tweepy and its session unmodified, only the transport."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cm_toolkit.channels.base import Media, MemoryCredentials, PostPart, RenderedPost, Transport
from cm_toolkit.channels.x import XChannel, XSettings
from cm_toolkit.channels.x.text import x_weighted_length
from cm_toolkit.errors import (
    AuthExpired,
    OutcomeUnknown,
    PartiallyPublished,
    RateLimited,
    Rejected,
    TransientError,
)
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.transport import SandboxAdapter
from cm_toolkit.sandbox.x import XEmulator
from cm_toolkit.sandbox.x.base import MOOC_USER_ID
from tests.sandbox.test_x import OAUTH1, png
from tests.sandbox.test_x_gif import GIF, big_gif
from tests.waiting import faulted

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
LONG = " ".join(
    f"Phrase {n} du retour sur le module « Manager à distance », merci pour vos critiques."
    for n in range(1, 9)
)


class Env:
    def __init__(self, sandbox: Sandbox, clock: ManualClock) -> None:
        self.sandbox, self.clock = sandbox, clock
        env = sandbox.env()
        self.credentials = MemoryCredentials(
            "x-mooc",
            {
                "access_token": env["CM_X_ACCESS_TOKEN"],
                "refresh_token": env["CM_X_REFRESH_TOKEN"],
                "client_id": env["CM_X_CLIENT_ID"],
            },
        )

    def channel(self, timeout: float = 5, threads: bool = False, **secrets: str) -> XChannel:
        credentials = MemoryCredentials("x-mooc", secrets) if secrets else self.credentials
        settings = XSettings(username="ManagerLeader20", threads=threads)
        return XChannel("x-mooc", settings, credentials, self.sandbox.transport(timeout=timeout))

    def creates(self) -> list[Any]:
        return self.sandbox.journal.entries(network="x", method="POST", path="/2/tweets")


@pytest.fixture
def env() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=3, clock=clock).running() as sandbox:
        yield Env(sandbox, clock)


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    for n in range(5):
        path = tmp_path / f"visuel-{n}.png"
        path.write_bytes(png(4 + n, 3))
        paths.append(path)
    return paths


# -- publishing -------------------------------------------------------------------------------


def test_publish_text_with_link(env: Env) -> None:
    post = RenderedPost(
        text="Nouvel article « rituels » & 🎯", link="https://mooc.example.org/a?x=1&y=2"
    )
    result = env.channel().publish(post)
    [entry] = env.creates()
    assert entry.json_body() == {
        "text": "Nouvel article « rituels » & 🎯\nhttps://mooc.example.org/a?x=1&y=2"
    }
    assert entry.headers["authorization"] == "***" and entry.host == "api.twitter.com"
    assert json.loads(entry.response)["data"]["id"] == result.remote_id
    assert result.url == f"https://x.com/ManagerLeader20/status/{result.remote_id}"
    assert result.extra == {"thread_ids": [result.remote_id]}
    assert (
        env.sandbox.state()["networks"]["x"]["accounts"]["ManagerLeader20"]["tweets"][0]["id"]
        == result.remote_id
    )


def test_publish_images_uploads_over_the_client_session_then_attaches(
    env: Env, images: list[Path]
) -> None:
    media = tuple(
        Media(p, "image/png", f"Visuel {n}" if n == 0 else None) for n, p in enumerate(images[:2])
    )
    result = env.channel().publish(RenderedPost(text="Deux visuels", media=media))
    uploads = env.sandbox.journal.entries(network="x", method="POST", path="/2/media/upload")
    assert [e.status for e in uploads] == [200, 200] and uploads[0].host == "api.x.com"
    assert (
        'name="media_category"' in uploads[0].body and 'filename="visuel-0.png"' in uploads[0].body
    )
    [alt] = env.sandbox.journal.entries(network="x", path="/2/media/metadata")
    assert alt.json_body()["metadata"] == {"alt_text": {"text": "Visuel 0"}}
    sent = env.creates()[0].json_body()
    assert len(sent["media"]["media_ids"]) == 2
    tweet = env.sandbox.emulator_of(XEmulator).tweets[result.remote_id]
    assert len(tweet.media_keys) == 2


def test_long_text_becomes_a_numbered_thread_when_allowed(env: Env) -> None:
    result = env.channel(threads=True).publish(RenderedPost(text=LONG))
    bodies = [e.json_body() for e in env.creates()]
    assert len(bodies) == len(result.extra["thread_ids"]) >= 2
    total = len(bodies)
    for index, body in enumerate(bodies, start=1):
        assert body["text"].endswith(f" {index}/{total}") and x_weighted_length(body["text"]) <= 280
    ids = result.extra["thread_ids"]
    assert "reply" not in bodies[0]
    assert [b["reply"]["in_reply_to_tweet_id"] for b in bodies[1:]] == ids[:-1]
    assert result.remote_id == ids[0]


def test_a_thread_cut_midway_carries_the_published_ids(env: Env) -> None:
    channel = env.channel(threads=True)
    second = channel.parts(RenderedPost(text=LONG))[1]
    channel.publish(RenderedPost(text=second))  # X will refuse part 2 as a duplicate
    with pytest.raises(PartiallyPublished) as caught:
        channel.publish(RenderedPost(text=LONG))
    error = caught.value
    assert error.retryable is False and isinstance(error, OutcomeUnknown)
    assert len(error.published_ids) == 1 and error.remote_id == error.published_ids[0]
    assert error.url == f"https://x.com/ManagerLeader20/status/{error.remote_id}"
    assert (
        error.info.network_message
        == "You are not allowed to create a Tweet with duplicate content."
    )
    assert isinstance(error.cause, Rejected)
    assert error.info.details["published_ids"] == error.published_ids


def test_validate_reports_every_problem_at_once(
    env: Env, images: list[Path], tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(png() + b"\x00" * (5 * 1024 * 1024))
    media = tuple(Media(p, "image/png") for p in images) + (
        Media(tmp_path / "clip.mp4", "video/mp4"),
        Media(big, "image/png"),
    )
    problems = env.channel().validate(RenderedPost(text="é" * 281, media=media))
    messages = [p.message for p in problems]
    assert len(problems) == 5 and all(p.file == "x-mooc" and p.line is None for p in problems)
    assert "281 weighted characters" in messages[0] and "threads: true" in problems[0].fix
    assert "7 images" in messages[1]
    assert "a video cannot share its post" in messages[2]  # 4 images, or 1 GIF, or 1 video
    assert "video/mp4" in messages[3] and "5 MB" in messages[4]
    assert env.channel(threads=True).validate(RenderedPost(text="é" * 281)) == []
    assert XChannel.text_length("🎉 https://example.org/" + "x" * 100) == 2 + 1 + 23
    with pytest.raises(Rejected):
        env.channel().publish(RenderedPost(text="é" * 281))
    assert env.creates() == []


# -- reads and delete -------------------------------------------------------------------------


def test_followers_check_engagement_and_delete(env: Env) -> None:
    channel = env.channel()
    first = channel.publish(
        RenderedPost(text="Article", link="https://mooc.example.org/b")
    ).remote_id
    second = channel.publish(RenderedPost(text="Un autre")).remote_id
    env.clock.advance(timedelta(hours=1))
    expected = env.sandbox.audience.followers("x", MOOC_USER_ID, START + timedelta(hours=1))
    assert channel.followers() == expected
    assert channel.check() == f"@ManagerLeader20, {expected} followers"
    metrics = {e.remote_id: e for e in channel.engagement([first, second])}
    seen = env.sandbox.audience.engagement("x", first, START, START + timedelta(hours=1))
    assert (
        metrics[first].impressions == seen["views"]
        and metrics[first].reactions == seen["reactions"]
    )
    channel.delete(first)
    channel.delete(first)  # already gone: nothing to do
    assert [e.remote_id for e in channel.engagement([first, second])] == [second]
    query = env.sandbox.journal.entries(network="x", method="GET", path="/2/tweets")[0].query
    assert "tweet.fields=public_metrics" in query


def test_oauth1_keys_sign_every_call(env: Env, images: list[Path]) -> None:
    channel = env.channel(**OAUTH1)
    result = channel.publish(RenderedPost(text="Signé", media=(Media(images[0], "image/png"),)))
    assert result.remote_id and channel.followers() > 0
    assert all(e.status in (200, 201) for e in env.sandbox.journal.entries(network="x"))


# -- errors -----------------------------------------------------------------------------------


def test_429_is_rate_limited_with_x_reset(env: Env) -> None:
    env.sandbox.faults.add("x:429@once")
    with pytest.raises(RateLimited) as caught:
        env.channel().publish(RenderedPost(text="trop tôt"))
    assert caught.value.reset_at == START + timedelta(seconds=60)
    assert caught.value.retryable


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_are_transient(env: Env, kind: str) -> None:
    env.sandbox.faults.add(f"x:{kind}@once")
    with pytest.raises(TransientError) as caught:
        env.channel().publish(RenderedPost(text="erreur serveur"))
    assert caught.value.info.status == int(kind)


def test_timeout_on_a_post_is_unknown_but_on_a_read_transient(env: Env) -> None:
    env.sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    env.sandbox.faults.add("x:timeout@once/2/tweets")
    with pytest.raises(OutcomeUnknown):
        env.channel(timeout=0.2).publish(RenderedPost(text="sans réponse"))
    faulted(env.sandbox)  # processed (the client gives up first, on a busy machine)
    assert len(env.sandbox.state()["networks"]["x"]["accounts"]["ManagerLeader20"]["tweets"]) == 1
    env.sandbox.faults.add("x:timeout@once")
    with pytest.raises(TransientError):
        env.channel(timeout=0.2).followers()


def test_the_session_timeout_is_what_cuts_a_slow_answer(env: Env) -> None:
    env.sandbox.faults.timeout_delay = 0.2
    env.sandbox.faults.add("x:timeout@once")
    assert env.channel(timeout=30).followers() > 0  # a slow answer within the timeout arrives


def test_drop_after_commit_is_unknown_and_drop_on_read_transient(env: Env) -> None:
    env.sandbox.faults.add("x:drop-after-commit@once/2/tweets")
    with pytest.raises(OutcomeUnknown):
        env.channel().publish(RenderedPost(text="publié sans réponse"))
    assert [e.status for e in env.creates()] == [None]
    env.sandbox.faults.add("x:drop@once")
    with pytest.raises(TransientError):
        env.channel().followers()


def test_connection_refused_is_transient_even_for_a_post() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = Transport(requests_adapter=SandboxAdapter(f"http://127.0.0.1:{port}"), timeout=1)
    credentials = MemoryCredentials("x-mooc", {"access_token": "x-sandbox-access-managerleader20"})
    channel = XChannel("x-mooc", XSettings(username="ManagerLeader20"), credentials, transport)
    with pytest.raises(TransientError):
        channel.publish(RenderedPost(text="personne"))


def test_duplicate_is_rejected_in_x_words(env: Env) -> None:
    channel = env.channel()
    channel.publish(RenderedPost(text="deux fois"))
    with pytest.raises(Rejected) as caught:
        channel.publish(RenderedPost(text="deux fois"))
    assert (
        caught.value.info.network_message
        == "You are not allowed to create a Tweet with duplicate content."
    )
    assert caught.value.info.status == 403 and not caught.value.retryable


def test_expired_token_is_refreshed_once_and_persisted(env: Env) -> None:
    env.clock.advance(timedelta(hours=2, minutes=1))  # the seeded access token has expired
    channel = env.channel()
    result = channel.publish(RenderedPost(text="après expiration"))
    assert result.remote_id
    access = env.credentials.find("access_token") or ""
    assert access.startswith("x-sandbox-access-managerleader20-")
    assert (env.credentials.find("refresh_token") or "").startswith(
        "x-sandbox-refresh-managerleader20-"
    )
    [refresh] = env.sandbox.journal.entries(network="x", path="/2/oauth2/token")
    assert (
        "grant_type=refresh_token" in refresh.body
        and "client_id=x-sandbox-client-id" in refresh.body
    )
    assert "refresh_token=***" in refresh.body
    assert [e.status for e in env.creates()] == [401, 201]


def test_401_without_a_refresh_token_says_which_cm_auth_to_run(env: Env) -> None:
    channel = env.channel(access_token="revoked-token")
    with pytest.raises(AuthExpired) as caught:
        channel.followers()
    assert caught.value.fix == "run `cm auth x-mooc`" and "revoked-token" not in str(caught.value)
    env.sandbox.faults.add("x:expire@once")
    refusing = env.channel(
        access_token="x", refresh_token="not-a-refresh-token", client_id="x-sandbox-client-id"
    )
    with pytest.raises(AuthExpired) as refused:
        refusing.followers()
    assert refused.value.info.network_message == "Value passed for the token was invalid."
    assert not re.search(r"x-sandbox-(access|refresh)", str(refused.value))


# -- GIFs: uploaded as tweet_gif, alone in their post (4 images, or 1 GIF, or 1 video) ----------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"gif": tmp_path / "anime.gif", "gif2": tmp_path / "autre.gif",
             "png": tmp_path / "visuel.png"}
    paths["gif"].write_bytes(GIF)
    paths["gif2"].write_bytes(GIF)
    paths["png"].write_bytes(png())
    return paths


def _uploads(env: Env) -> list[str]:
    entries = env.sandbox.journal.entries(network="x", method="POST", path="/2/media/upload")
    return [entry.body for entry in entries]


def test_a_gif_alone_is_uploaded_as_tweet_gif_and_posted(
    env: Env, files: dict[str, Path]
) -> None:
    post = RenderedPost(text="Le module 2 en une image", media=(Media(files["gif"], "image/gif"),))
    result = env.channel().publish(post)
    [body] = _uploads(env)
    assert 'name="media_category"' in body and "tweet_gif" in body and "tweet_image" not in body
    tweet = env.sandbox.emulator_of(XEmulator).tweets[result.remote_id]
    assert len(tweet.media_keys) == 1


def test_a_gif_over_5_mb_is_published_and_one_over_15_mb_refused_before_upload(
    env: Env, tmp_path: Path
) -> None:
    """X takes animated GIFs up to 15 MB, other images up to 5 MB (API_FACTS.md)."""
    gif = tmp_path / "gros.gif"
    gif.write_bytes(big_gif(6))
    post = RenderedPost(text="Le module 2 en grand", media=(Media(gif, "image/gif"),))
    result = env.channel().publish(post)
    tweet = env.sandbox.emulator_of(XEmulator).tweets[result.remote_id]
    assert len(tweet.media_keys) == 1 and len(_uploads(env)) == 1
    gif.write_bytes(big_gif(15) + b"\x00")
    [problem] = env.channel().validate(post)
    assert problem.message == "gros.gif is 15.0 MB, X takes GIFs up to 15 MB"
    with pytest.raises(Rejected):
        env.channel().publish(post)
    assert len(_uploads(env)) == 1  # the second one never left


def test_images_stay_tweet_image(env: Env, files: dict[str, Path]) -> None:
    env.channel().publish(RenderedPost(text="Visuel", media=(Media(files["png"], "image/png"),)))
    [body] = _uploads(env)
    assert "tweet_image" in body and "tweet_gif" not in body


@pytest.mark.parametrize("other", ["png", "gif2"])
def test_a_gif_with_other_media_is_refused_before_any_upload(
    env: Env, files: dict[str, Path], other: str
) -> None:
    kind = "image/png" if other == "png" else "image/gif"
    post = RenderedPost(text="Mélange", media=(Media(files["gif"], "image/gif"),
                                               Media(files[other], kind)))
    [problem] = env.channel().validate(post)
    assert "X takes up to 4 images, or 1 GIF, or 1 video per post" in problem.message
    assert problem.fix.startswith("keep the GIF alone in its post")
    with pytest.raises(Rejected):
        env.channel().publish(post)
    assert _uploads(env) == [] and env.creates() == []  # nothing was sent


def test_the_plan_check_hook_says_the_same(files: dict[str, Path]) -> None:
    post = RenderedPost(text="Mélange", media=(Media(files["gif"], "image/gif"),
                                               Media(files["png"], "image/png")))
    [problem] = XChannel.plan_problems(post)
    assert problem.part is PostPart.MEDIA and "1 GIF" in problem.message
    assert XChannel.plan_problems(RenderedPost(text="Seul", media=post.media[:1])) == []
