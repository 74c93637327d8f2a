"""The Facebook Page adapter against the Graph emulator, through facebook-sdk and the transport."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost
from cm_toolkit.channels.facebook import FacebookChannel, FacebookSettings
from cm_toolkit.errors import (
    AuthExpired,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    TransientError,
)
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.transport import sandbox_transport
from tests.waiting import faulted

START = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
PAGE = "104857600123456"
ROOT = Path(__file__).resolve().parents[2]
ASSETS = sorted((ROOT / "assets").glob("*.png"))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=5, clock=ManualClock(START), epoch=START).running() as running:
        yield running


def channel(sandbox: Sandbox, timeout: float = 5, **secrets: str) -> FacebookChannel:
    values = secrets or {"page_token": sandbox.env()["CM_FACEBOOK_PAGE_TOKEN"]}
    return FacebookChannel(
        "facebook-page",
        FacebookSettings(page_id=PAGE),
        MemoryCredentials("facebook-page", values),
        sandbox.transport(timeout=timeout),
        clock=sandbox.clock,
    )


def creates(sandbox: Sandbox) -> list[object]:
    return sandbox.journal.entries(method="POST", path=rf"/v24\.0/{PAGE}/feed")


def posts(sandbox: Sandbox) -> list[dict[str, object]]:
    return list(sandbox.state()["networks"]["facebook"]["pages"][PAGE]["posts"])


# -- publishing ------------------------------------------------------------------------------


def test_text_and_link_post(sandbox: Sandbox) -> None:
    result = channel(sandbox).publish(
        RenderedPost(
            text="Module 3 : « leadership » & 100 % pratique", link="https://e.org/m3?utm=fb"
        )
    )
    assert result.remote_id.startswith(f"{PAGE}_")
    assert result.url == f"https://www.facebook.com/{PAGE}/posts/{result.remote_id.split('_')[1]}"
    [entry] = creates(sandbox)
    form = parse_qs(entry.body)  # type: ignore[attr-defined]
    assert form == {
        "published": ["true"],
        "message": ["Module 3 : « leadership » & 100 % pratique"],
        "link": ["https://e.org/m3?utm=fb"],
        "access_token": ["***"],
    }
    assert posts(sandbox)[0]["link"] == "https://e.org/m3?utm=fb"


def test_photos_are_uploaded_unpublished_then_attached(sandbox: Sandbox) -> None:
    media = tuple(Media(path, "image/png", f"alt {path.stem}") for path in ASSETS[:3])
    result = channel(sandbox).publish(
        RenderedPost(text="Nos visuels", link="https://e.org/v", media=media)
    )
    uploads = sandbox.journal.entries(method="POST", path=rf"/v24\.0/{PAGE}/photos")
    assert len(uploads) == 3
    assert all('name="published"\r\n\r\nfalse' in e.body for e in uploads)
    assert 'name="alt_text_custom"\r\n\r\nalt ' in uploads[0].body
    form = parse_qs(creates(sandbox)[0].body)  # type: ignore[attr-defined]
    assert form["message"] == ["Nos visuels\n\nhttps://e.org/v"]  # the link joins the caption
    assert json.loads(form["attached_media[2]"][0]) == {"media_fbid": result.extra["photo_ids"][2]}
    assert "link" not in form
    assert posts(sandbox)[0]["photo_ids"] == result.extra["photo_ids"]


def test_validate_reports_every_problem_at_once(sandbox: Sandbox, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (4 * 1024 * 1024))
    media = (
        *(Media(ASSETS[0], "image/png") for _ in range(10)),
        Media(big, "image/png"),
        Media(tmp_path / "missing.jpg", "image/jpeg"),
        Media(ASSETS[0], "image/webp"),
    )
    post = RenderedPost(text="a" * 63207, link="ftp://x", media=media)
    problems = channel(sandbox).validate(post)
    text = " | ".join(p.message for p in problems)
    assert all(p.file == "facebook-page" and p.fix for p in problems)
    for expected in (
        "63206",
        "13 photos",
        "big.png is 4.0 MB",
        "file not found",
        "image/webp",
        "not an http(s) URL",
    ):
        assert expected in text
    with pytest.raises(Rejected):
        channel(sandbox).publish(post)
    assert sandbox.journal.entries(network="facebook") == []  # nothing was sent
    assert channel(sandbox).validate(RenderedPost(text="")) != []


def test_followers_engagement_check_and_delete(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    assert fb.followers() > 8000
    result = fb.publish(RenderedPost(text="Qui sera au live ?"))
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(timedelta(days=2))
    [counts] = fb.engagement([result.remote_id])
    assert counts.remote_id == result.remote_id
    assert counts.reactions > 0 and counts.comments > 0 and counts.shares > 0
    read = sandbox.journal.entries(method="GET", path=rf"/v24\.0/{result.remote_id}")[-1]
    assert "fields=shares,reactions.summary(true),comments.summary(true)" in read.query
    assert fb.check().startswith("Facebook Page “Du Manager au Leader 2.0” (")
    fb.delete(result.remote_id)
    fb.delete(result.remote_id)  # already gone: nothing to do
    assert posts(sandbox) == []


def test_duplicate_is_rejected_in_facebooks_words(sandbox: Sandbox) -> None:
    fb = channel(sandbox)
    fb.publish(RenderedPost(text="Même texte"))
    with pytest.raises(Rejected) as caught:
        fb.publish(RenderedPost(text="Même texte"))
    assert caught.value.info.code == "506"
    assert caught.value.info.network_message == "(#506) Duplicate status message"
    assert not caught.value.retryable


# -- errors ----------------------------------------------------------------------------------


def test_throttle_reset_comes_from_regain_minutes(sandbox: Sandbox) -> None:
    sandbox.faults.reset_after = 600
    sandbox.faults.add("facebook:429@once")
    with pytest.raises(RateLimited) as caught:
        channel(sandbox).publish(RenderedPost(text="Trop vite"))
    assert caught.value.reset_at == START + timedelta(minutes=10)
    assert caught.value.info.code == "32"


def test_server_error_is_transient(sandbox: Sandbox) -> None:
    sandbox.faults.add("facebook:500@once")
    with pytest.raises(TransientError) as caught:
        channel(sandbox).publish(RenderedPost(text="Erreur serveur"))
    assert caught.value.info.status == 500 and caught.value.info.code == "2"


def test_expired_token_names_cm_auth_and_hides_the_secret(sandbox: Sandbox) -> None:
    sandbox.faults.add("facebook:401@once")
    with pytest.raises(AuthExpired) as caught:
        channel(sandbox).publish(RenderedPost(text="Jeton"))
    assert caught.value.fix == "run `cm auth facebook-page`"
    assert sandbox.env()["CM_FACEBOOK_PAGE_TOKEN"] not in str(caught.value)
    with pytest.raises(AuthExpired):
        channel(sandbox, page_token="").followers()


def test_refused_page_token_is_renewed_from_the_user_token(sandbox: Sandbox) -> None:
    env = sandbox.env()
    fb = channel(
        sandbox,
        page_token="facebook-sandbox-page-token-stale",
        user_token=env["CM_FACEBOOK_USER_TOKEN"],
        app_id=env["CM_FACEBOOK_APP_ID"],
        app_secret=env["CM_FACEBOOK_APP_SECRET"],
    )
    result = fb.publish(RenderedPost(text="Renouvelé"))
    assert result.remote_id.startswith(PAGE)
    new_page_token = fb.credentials.find("page_token")
    assert new_page_token and new_page_token.startswith(f"facebook-sandbox-page-token-{PAGE}-")
    assert fb.credentials.find("user_token") != env["CM_FACEBOOK_USER_TOKEN"]  # long-lived now
    assert len(creates(sandbox)) == 2  # refused once (nothing created), then published


def test_timeout_on_create_is_outcome_unknown_and_on_read_transient(sandbox: Sandbox) -> None:
    sandbox.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
    sandbox.faults.add("facebook:timeout@2x")
    fb = channel(sandbox, timeout=0.2)
    with pytest.raises(OutcomeUnknown):
        fb.publish(RenderedPost(text="Lent"))
    with pytest.raises(TransientError):
        fb.followers()
    faulted(sandbox, count=2)  # both processed (the client gives up first, on a busy machine)
    assert len(posts(sandbox)) == 1  # the create did happen


def test_dropped_answer_after_commit_is_outcome_unknown(sandbox: Sandbox) -> None:
    sandbox.faults.add("facebook:drop-after-commit@once")
    with pytest.raises(OutcomeUnknown):
        channel(sandbox).publish(RenderedPost(text="Perdu"))
    assert [p["message"] for p in posts(sandbox)] == ["Perdu"]


def test_unreachable_network_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fb = FacebookChannel(
        "facebook-page",
        FacebookSettings(page_id=PAGE),
        MemoryCredentials("facebook-page", {"page_token": "t"}),
        sandbox_transport(f"http://127.0.0.1:{port}", timeout=1),
    )
    with pytest.raises(TransientError):
        fb.publish(RenderedPost(text="Personne"))


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        FacebookSettings(page_id="my-page")
    with pytest.raises(ValueError):
        FacebookSettings(page_id=PAGE, graph_version="3.1")


# -- the SDK's import-time warning ------------------------------------------------------------


def _import_fresh(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with warnings as errors; facebook-sdk (and whatever ``code`` imports first)
    is compiled again from source, since its warning only fires at compile time."""
    warm = "import requests, pydantic, urllib3, cm_toolkit.channels.base, cm_toolkit.clock\n"
    fresh = f"import sys\nsys.pycache_prefix = {str(tmp_path / 'pycache')!r}\n"
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", warm + fresh + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sdk_escape_warning_is_silenced_and_only_that(tmp_path: Path) -> None:
    raw = _import_fresh("import facebook", tmp_path / "raw")
    assert raw.returncode != 0 and "invalid escape sequence" in raw.stderr  # the test can fail
    ours = _import_fresh(
        "import cm_toolkit.channels.facebook, warnings\n"
        "try:\n    compile(r'x = \"\\d\"', 'mine.py', 'exec')\n"
        "except SyntaxError:\n    print('own warning still an error')\n",
        tmp_path / "ours",
    )
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.strip() == "own warning still an error"
