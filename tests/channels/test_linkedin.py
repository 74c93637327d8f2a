"""The LinkedIn adapter against the sandbox: real SDK, real HTTP, faults at the wire."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cm_toolkit.channels.base import Media, MemoryCredentials, RenderedPost, Transport
from cm_toolkit.channels.linkedin import LinkedInChannel, LinkedInSettings
from cm_toolkit.errors import AuthExpired, OutcomeUnknown, RateLimited, Rejected, TransientError
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.linkedin import LinkedInEmulator
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.sandbox.transport import SandboxAdapter
from tests.waiting import faulted

START = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
ORG = "urn:li:organization:5515715"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[Sandbox]:
    with Sandbox(seed=11, clock=clock, epoch=START, emulators=[LinkedInEmulator]).running() as sb:
        sb.faults.timeout_delay = None  # held: no answer ever comes, whatever the load
        yield sb


def credentials(sandbox: Sandbox, *, refresh: bool = True) -> MemoryCredentials:
    env = sandbox.env()
    values = {"access_token": env["CM_LINKEDIN_ACCESS_TOKEN"]}
    if refresh:
        values.update(
            refresh_token=env["CM_LINKEDIN_REFRESH_TOKEN"],
            client_id=env["CM_LINKEDIN_CLIENT_ID"],
            client_secret=env["CM_LINKEDIN_CLIENT_SECRET"],
        )
    return MemoryCredentials("linkedin-page", values)


def make(
    sandbox: Sandbox,
    clock: ManualClock,
    *,
    refresh: bool = True,
    timeout: float = 5.0,
    **settings: Any,
) -> LinkedInChannel:
    return LinkedInChannel(
        "linkedin-page",
        LinkedInSettings(**{"organization": ORG, **settings}),
        credentials(sandbox, refresh=refresh),
        sandbox.transport(timeout=timeout),
        clock=clock,
    )


@pytest.fixture
def channel(sandbox: Sandbox, clock: ManualClock) -> LinkedInChannel:
    return make(sandbox, clock)


def posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.state()["networks"]["linkedin"]["posts"]  # type: ignore[no-any-return]


def image(tmp_path: Path, name: str = "a.png", alt: str | None = None) -> Media:
    path = tmp_path / name
    path.write_bytes(PNG)
    return Media(path, "image/png", alt)


def sent(sandbox: Sandbox) -> dict[str, Any]:
    [entry] = sandbox.journal.entries(method="POST", path="/rest/posts")
    return entry.json_body()  # type: ignore[no-any-return]


# -- publishing -----------------------------------------------------------------------------


def test_text_post_is_escaped_for_the_little_format(
    sandbox: Sandbox, channel: LinkedInChannel
) -> None:
    text = "Le (MOOC) commence ! #leadership — écrivez-nous @ l'équipe [module_2] ?"
    result = channel.publish(RenderedPost(text=text))
    assert result.remote_id == "urn:li:share:7300000000000000001"
    assert result.url == "https://www.linkedin.com/feed/update/urn:li:share:7300000000000000001/"
    body = sent(sandbox)
    assert body == {
        "author": ORG,
        "commentary": "Le \\(MOOC\\) commence ! {hashtag|\\#|leadership} — écrivez-nous \\@ l'équipe \\[module\\_2\\] ?",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert body["commentary"] == LinkedInChannel.wire_text(text)
    [post] = posts(sandbox)
    assert (post["rendered"], post["truncated"]) == (text, False)  # readers see every character
    entry = sandbox.journal.entries(method="POST", path="/rest/posts")[0]
    assert entry.headers["linkedin-version"] == "202611"
    assert entry.headers["x-restli-protocol-version"] == "2.0.0"


def test_link_post_is_an_article_with_title_and_description(
    sandbox: Sandbox, channel: LinkedInChannel
) -> None:
    channel.publish(
        RenderedPost(
            text="À lire",
            link="https://example.org/m3",
            title="Module 3",
            description="La confiance",
        )
    )
    assert sent(sandbox)["content"] == {
        "article": {
            "source": "https://example.org/m3",
            "title": "Module 3",
            "description": "La confiance",
        }
    }
    assert posts(sandbox)[0]["kind"] == "article"


def test_link_post_without_title_uses_the_link(sandbox: Sandbox, channel: LinkedInChannel) -> None:
    channel.publish(RenderedPost(text="À lire", link="https://example.org/m4"))
    assert sent(sandbox)["content"] == {
        "article": {"source": "https://example.org/m4", "title": "https://example.org/m4"}
    }


def test_image_post_uploads_through_the_images_api(
    sandbox: Sandbox, channel: LinkedInChannel, tmp_path: Path
) -> None:
    result = channel.publish(RenderedPost(text="Photo", media=(image(tmp_path, alt="Le plateau"),)))
    calls = [(e.method, e.path.split("/")[1]) for e in sandbox.journal.entries(network="linkedin")]
    assert calls == [("POST", "rest"), ("PUT", "dms-uploads"), ("POST", "rest")]
    put = sandbox.journal.entries(method="PUT")[0]
    assert put.host == "www.linkedin.com" and put.body == f"<{len(PNG)} bytes>"
    [urn] = result.extra["images"]
    assert sent(sandbox)["content"] == {"media": {"id": urn, "altText": "Le plateau"}}
    assert sandbox.state()["networks"]["linkedin"]["images"][0]["status"] == "AVAILABLE"


def test_link_with_image_uses_it_as_thumbnail(
    sandbox: Sandbox, channel: LinkedInChannel, tmp_path: Path
) -> None:
    result = channel.publish(
        RenderedPost(text="Lien", link="https://example.org", title="T", media=(image(tmp_path),))
    )
    assert sent(sandbox)["content"]["article"]["thumbnail"] == result.extra["images"][0]


def test_several_images_make_a_multi_image_post(
    sandbox: Sandbox, channel: LinkedInChannel, tmp_path: Path
) -> None:
    media = tuple(image(tmp_path, f"{i}.png", alt=f"photo {i}" if i else None) for i in range(3))
    result = channel.publish(RenderedPost(text="Album", media=media))
    ids = result.extra["images"]
    assert sent(sandbox)["content"] == {
        "multiImage": {
            "images": [
                {"id": ids[0]},
                {"id": ids[1], "altText": "photo 1"},
                {"id": ids[2], "altText": "photo 2"},
            ]
        }
    }


def test_validate_reports_every_problem_at_once(channel: LinkedInChannel, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(b"\x00" * (5 * 1024 * 1024 + 1))
    text = "(" * 1501  # 1,501 characters, 3,002 once escaped
    post = RenderedPost(
        text=text,
        link="https://example.org",
        media=(
            Media(big, "image/png"),
            Media(tmp_path / "missing.jpg", "image/jpeg"),
            Media(image(tmp_path).path, "video/mp4"),
        ),
    )
    messages = [p.message for p in channel.validate(post)]
    assert len(messages) == 5, messages
    assert "3002 characters once escaped" in messages[0]
    assert "takes one image" in messages[1]
    assert "5242881 bytes" in messages[2]
    assert "does not exist" in messages[3]
    assert "video/mp4 is not supported" in messages[4]
    assert all(p.file == "linkedin-page" for p in channel.validate(post))
    assert channel.validate(RenderedPost(text="a" * 3000)) == []
    assert LinkedInChannel.text_length("#MOOC") == len("{hashtag|\\#|MOOC}")


# -- errors ---------------------------------------------------------------------------------


def test_duplicate_is_rejected_with_linkedins_words(channel: LinkedInChannel) -> None:
    first = channel.publish(RenderedPost(text="Une seule fois"))
    with pytest.raises(Rejected) as caught:
        channel.publish(RenderedPost(text="Une seule fois"))
    assert caught.value.info.code == "DUPLICATE_POST"
    assert caught.value.info.status == 422
    assert caught.value.info.network_message.endswith(
        f"Content is a duplicate of {first.remote_id}"
    )
    assert not caught.value.retryable


def test_429_resets_at_next_midnight_utc(sandbox: Sandbox, channel: LinkedInChannel) -> None:
    sandbox.faults.add("linkedin:429@once")
    with pytest.raises(RateLimited) as caught:
        channel.publish(RenderedPost(text="Trop tôt"))
    assert caught.value.reset_at == datetime(2026, 11, 21, tzinfo=UTC)
    assert caught.value.retryable and caught.value.info.status == 429
    assert posts(sandbox) == []


def test_server_errors_are_transient(sandbox: Sandbox, channel: LinkedInChannel) -> None:
    sandbox.faults.add("linkedin:503@once")
    with pytest.raises(TransientError) as caught:
        channel.publish(RenderedPost(text="Plus tard"))
    assert caught.value.info.status == 503 and caught.value.retryable


def test_401_without_refresh_secrets_asks_for_cm_auth(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock, refresh=False)
    sandbox.faults.add("linkedin:401@once")
    with pytest.raises(AuthExpired) as caught:
        channel.followers()
    assert caught.value.fix == "run `cm auth linkedin-page`"
    assert caught.value.info.code == "EXPIRED_ACCESS_TOKEN"
    assert "linkedin-sandbox" not in str(caught.value)  # no secret in the message


def test_expired_token_is_refreshed_and_persisted(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock)
    clock.advance(timedelta(days=61))
    result = channel.publish(RenderedPost(text="Après deux mois"))
    assert result.remote_id.startswith("urn:li:share:")
    refreshed = channel.credentials.find("access_token")
    assert refreshed and refreshed.startswith("linkedin-sandbox-access-cm-manager-r")
    assert (
        channel.credentials.find("access_token_expires_at")
        == (clock.now() + timedelta(days=60)).isoformat()
    )
    calls = [(e.path, e.status) for e in sandbox.journal.entries(network="linkedin")]
    assert calls == [("/rest/posts", 401), ("/oauth/v2/accessToken", 200), ("/rest/posts", 201)]
    assert len(posts(sandbox)) == 1


def test_token_expiring_within_a_day_is_refreshed_before_use(
    sandbox: Sandbox, clock: ManualClock
) -> None:
    channel = make(sandbox, clock)
    channel.credentials.update(
        {"access_token_expires_at": (START + timedelta(hours=3)).isoformat()}
    )
    channel.followers()
    assert sandbox.journal.entries(network="linkedin")[0].path == "/oauth/v2/accessToken"


def test_refused_refresh_is_auth_expired(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock)
    channel.credentials.update({"refresh_token": "linkedin-sandbox-refresh-unknown"})
    sandbox.faults.add("linkedin:expire@once")
    with pytest.raises(AuthExpired) as caught:
        channel.followers()
    assert caught.value.info.status == 400
    assert caught.value.fix == "run `cm auth linkedin-page`"


def test_timeout_on_publish_is_outcome_unknown(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock, timeout=0.2)
    sandbox.faults.add("linkedin:timeout@once/rest/posts")
    with pytest.raises(OutcomeUnknown):
        channel.publish(RenderedPost(text="En suspens"))
    faulted(sandbox)  # processed (the client gives up first, on a busy machine)
    assert len(posts(sandbox)) == 1  # it was published: never resend automatically


def test_timeout_on_a_read_is_transient(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock, timeout=0.2)
    sandbox.faults.add("linkedin:timeout@once")
    with pytest.raises(TransientError):
        channel.followers()


def test_timeout_during_image_upload_is_transient(
    sandbox: Sandbox, clock: ManualClock, tmp_path: Path
) -> None:
    channel = make(sandbox, clock, timeout=0.2)
    sandbox.faults.add("linkedin:timeout@once/dms-uploads")
    with pytest.raises(TransientError):
        channel.publish(RenderedPost(text="Photo", media=(image(tmp_path),)))
    assert posts(sandbox) == []  # no post was attempted: safe to retry


def test_dropped_answer_after_commit_is_outcome_unknown(
    sandbox: Sandbox, channel: LinkedInChannel
) -> None:
    sandbox.faults.add("linkedin:drop-after-commit@once")
    with pytest.raises(OutcomeUnknown):
        channel.publish(RenderedPost(text="Perdu en route"))
    assert len(posts(sandbox)) == 1


def test_connection_refused_is_transient(clock: ManualClock) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = LinkedInChannel(
        "linkedin-page",
        LinkedInSettings(organization=ORG),
        MemoryCredentials("linkedin-page", {"access_token": "linkedin-sandbox-access-cm-manager"}),
        Transport(requests_adapter=SandboxAdapter(f"http://127.0.0.1:{port}"), timeout=1.0),
        clock=clock,
    )
    with pytest.raises(TransientError) as caught:
        channel.publish(RenderedPost(text="Personne"))
    assert not isinstance(caught.value, OutcomeUnknown)


def test_inactive_version_is_rejected_with_a_fix(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock, version="202001")
    with pytest.raises(Rejected) as caught:
        channel.publish(RenderedPost(text="Vieille version"))
    assert caught.value.info.status == 426
    assert caught.value.info.network_message == "Requested version 202001 is not active"
    assert "options.version" in caught.value.fix


def test_page_not_administered_is_rejected(sandbox: Sandbox, clock: ManualClock) -> None:
    channel = make(sandbox, clock, organization="2414183")
    with pytest.raises(Rejected) as caught:
        channel.publish(RenderedPost(text="Pas ma page"))
    assert caught.value.info.status == 403 and caught.value.info.code == "ACCESS_DENIED"


# -- other calls ----------------------------------------------------------------------------


def test_delete_is_idempotent(sandbox: Sandbox, channel: LinkedInChannel) -> None:
    result = channel.publish(RenderedPost(text="Éphémère"))
    channel.delete(result.remote_id)
    channel.delete(result.remote_id)  # already gone: fine
    assert [e.status for e in sandbox.journal.entries(method="DELETE")] == [204, 404]
    assert posts(sandbox)[0]["deleted_at"] is not None


def test_followers_engagement_and_check(
    sandbox: Sandbox, clock: ManualClock, channel: LinkedInChannel
) -> None:
    first = channel.publish(RenderedPost(text="Un"))
    second = channel.publish(RenderedPost(text="Deux"))
    clock.advance(timedelta(days=1))
    followers = sandbox.state()["networks"]["linkedin"]["organizations"][ORG]["followers"]
    assert channel.followers() == followers
    stats = channel.engagement([first.remote_id, second.remote_id, "urn:li:share:1"])
    assert [s.remote_id for s in stats] == [first.remote_id, second.remote_id]
    assert stats[0].impressions and stats[0].impressions > 0
    assert stats[0].reactions >= 0 and stats[0].views is None
    assert channel.check() == f"LinkedIn page {ORG}: {followers} followers (API version 202611)"


def test_settings_normalise_the_organization() -> None:
    assert LinkedInSettings(organization=5515715).organization == ORG  # type: ignore[arg-type]
    assert LinkedInSettings(organization=" 5515715 ").organization == ORG
    with pytest.raises(ValidationError):
        LinkedInSettings(organization="urn:li:person:abc")
    with pytest.raises(ValidationError):
        LinkedInSettings(organization=ORG, version="2026-11")
    with pytest.raises(ValidationError):
        LinkedInSettings(organization=ORG, colour="red")  # type: ignore[call-arg]


def test_repr_hides_secrets(channel: LinkedInChannel) -> None:
    assert "sandbox" not in repr(channel) and "sandbox-access" not in repr(channel.credentials)
