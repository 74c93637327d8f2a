"""The X emulator refuses, over HTTP, a post whose media break X's rule: up to 4 images, or
1 GIF, or 1 video (API_FACTS.md). The answer is X's: 400, "Your media IDs are invalid."."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from tests.sandbox.test_x import API, START, Env, png

GIF = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


@pytest.fixture
def env() -> Iterator[Env]:
    clock = ManualClock(START)
    with Sandbox(seed=7, clock=clock).running() as sandbox:
        yield Env(sandbox, clock)


def _upload(session: requests.Session, name: str, data: bytes, kind: str, category: str) -> str:
    response = session.post(f"{API}/2/media/upload", files={"media": (name, data, kind)},
                            data={"media_category": category})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["id"])


def _create(session: requests.Session, text: str, media_ids: list[str]) -> requests.Response:
    return session.post(f"{API}/2/tweets", json={"text": text, "media": {"media_ids": media_ids}})


def _refusal(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_gif_beside_an_image_or_a_second_gif_is_refused(env: Env) -> None:
    session = env.session()
    gif = _upload(session, "anime.gif", GIF, "image/gif", "tweet_gif")
    other_gif = _upload(session, "autre.gif", GIF, "image/gif", "tweet_gif")
    image = _upload(session, "visuel.png", png(), "image/png", "tweet_image")
    mixed = _refusal(_create(session, "Un GIF et une image", [gif, image]))
    assert mixed["errors"][0]["message"] == "Your media IDs are invalid."
    assert mixed["errors"][0]["parameters"] == {"media_ids": [gif, image]}
    two = _refusal(_create(session, "Deux GIF", [gif, other_gif]))
    assert two["errors"][0]["message"] == "Your media IDs are invalid."
    assert env.x.tweets == {}  # nothing was posted


def test_a_gif_uploaded_as_an_image_is_still_a_gif(env: Env) -> None:
    session = env.session()
    gif = _upload(session, "anime.gif", GIF, "image/gif", "tweet_image")
    image = _upload(session, "visuel.png", png(), "image/png", "tweet_image")
    _refusal(_create(session, "Un GIF et une image", [gif, image]))


def test_one_gif_alone_and_four_images_are_posted(env: Env) -> None:
    session = env.session()
    gif = _upload(session, "anime.gif", GIF, "image/gif", "tweet_gif")
    assert _create(session, "Un GIF", [gif]).status_code == 201
    images = [_upload(session, f"v{n}.png", png(3 + n), "image/png", "tweet_image")
              for n in range(4)]
    assert _create(session, "Quatre images", images).status_code == 201
    assert len(env.x.tweets) == 2


def big_gif(megabytes: float) -> bytes:
    """A GIF of about ``megabytes`` MB (X sniffs the header; the padding is past its trailer)."""
    return GIF + b"\x00" * (int(megabytes * 1024 * 1024) - len(GIF))


def test_a_gif_may_weigh_15_mb_where_an_image_stops_at_5(env: Env) -> None:
    """X's caps: images 5 MB, animated GIFs (``tweet_gif``) 15 MB (API_FACTS.md)."""
    session = env.session()
    gif = _upload(session, "anime.gif", big_gif(6), "image/gif", "tweet_gif")
    assert _create(session, "Un gros GIF", [gif]).status_code == 201
    too_big = session.post(f"{API}/2/media/upload",
                           files={"media": ("anime.gif", big_gif(15) + b"\x00", "image/gif")},
                           data={"media_category": "tweet_gif"})
    assert too_big.status_code == 400 and "File size exceeds 15728640 bytes." in too_big.text
    image = session.post(f"{API}/2/media/upload",
                         files={"media": ("visuel.png", png() + b"\x00" * 5 * 1024 * 1024,
                                          "image/png")},
                         data={"media_category": "tweet_image"})
    assert image.status_code == 400 and "File size exceeds 5242880 bytes." in image.text
