"""The Mastodon emulator over HTTP: Mastodon's answers and errors, instances provisioned by
host, the Idempotency-Key, and the wire check (every request of the sample's replay conforms
to the Mastodon API description)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from cm_toolkit.demo import run_demo
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.mastodon import MastodonEmulator
from cm_toolkit.sandbox.mastodon.base import SAMPLE_INSTANCE
from cm_toolkit.sandbox.server import Sandbox
from tests.sample_workspace import copy_sample

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
API = f"https://{SAMPLE_INSTANCE}"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=5, clock=ManualClock(START), epoch=START,
                 emulators=[MastodonEmulator]).running() as running:
        yield running


def _session(sandbox: Sandbox, token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", sandbox.transport().requests_adapter)
    token = token or sandbox.env()["CM_MASTODON_ACCESS_TOKEN"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def test_a_status_is_created_once_per_idempotency_key(sandbox: Sandbox) -> None:
    http = _session(sandbox)
    headers = {"Idempotency-Key": "cm-delivery-7"}
    first = http.post(f"{API}/api/v1/statuses", data={"status": "Bonjour"}, headers=headers)
    again = http.post(f"{API}/api/v1/statuses", data={"status": "Autre"}, headers=headers)
    other = http.post(f"{API}/api/v1/statuses", data={"status": "Bonjour"},
                      headers={"Idempotency-Key": "cm-delivery-8"})
    assert first.status_code == again.status_code == other.status_code == 200
    assert again.json()["id"] == first.json()["id"]  # the first status, not a second one
    assert other.json()["id"] != first.json()["id"]
    assert first.json()["content"] == "<p>Bonjour</p>"
    texts = [s["text"] for s in sandbox.state()["networks"]["mastodon"]["statuses"]]
    assert texts == ["Bonjour", "Bonjour"]


def test_the_key_is_kept_an_hour(sandbox: Sandbox) -> None:
    http = _session(sandbox)
    headers = {"Idempotency-Key": "k"}
    first = http.post(f"{API}/api/v1/statuses", data={"status": "un"}, headers=headers).json()
    assert isinstance(sandbox.clock, ManualClock)
    sandbox.clock.advance(timedelta(minutes=61))
    later = http.post(f"{API}/api/v1/statuses", data={"status": "un"}, headers=headers).json()
    assert later["id"] != first["id"]


def test_validation_errors_are_422_in_mastodons_words(sandbox: Sandbox) -> None:
    http = _session(sandbox)
    blank = http.post(f"{API}/api/v1/statuses", data={"status": " "})
    long = http.post(f"{API}/api/v1/statuses", data={"status": "a" * 501})
    url = "https://mooc-leader20.fr/" + "x" * 600  # a link counts 23, whatever its length
    linked = http.post(f"{API}/api/v1/statuses", data={"status": "a" * 470 + " " + url})
    bad = http.post(f"{API}/api/v1/statuses", data={"status": "ok", "visibility": "everyone"})
    assert (blank.status_code, blank.json()) == (422, {
        "error": "Validation failed: Text can't be blank"})
    assert long.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    assert linked.status_code == 200
    assert bad.status_code == 422 and "visibility" in bad.json()["error"]
    (entry,) = [e for e in sandbox.journal.entries() if "visibility=everyone" in e.body]
    assert entry.extra["spec_operation"] == "POST /api/v1/statuses"
    assert entry.extra["spec_violations"]


def test_tokens_are_per_instance_and_answers_carry_rate_limit_headers(sandbox: Sandbox) -> None:
    env = sandbox.provision([{"network": "mastodon",
                              "account": {"instance": "mastodon.uni-example.edu",
                                          "username": "cours"},
                              "secrets": {"access_token": "CM_OTHER_TOKEN"}}])
    other = _session(sandbox, env["CM_OTHER_TOKEN"])
    me = other.get("https://mastodon.uni-example.edu/api/v1/accounts/verify_credentials")
    assert me.status_code == 200 and me.json()["username"] == "cours"
    assert me.headers["X-RateLimit-Limit"] == "300"
    assert int(me.headers["X-RateLimit-Remaining"]) == 299
    assert datetime.fromisoformat(me.headers["X-RateLimit-Reset"]) > START
    elsewhere = other.get(f"{API}/api/v1/accounts/verify_credentials")
    assert (elsewhere.status_code, elsewhere.json()) == (401, {
        "error": "The access token is invalid"})
    instance = other.get("https://mastodon.uni-example.edu/api/v2/instance/")  # Mastodon.py's /
    assert instance.json()["configuration"]["statuses"]["max_characters"] == 500


def test_a_rate_limited_account_gets_429_with_its_reset(sandbox: Sandbox) -> None:
    http = _session(sandbox)
    for _ in range(300):
        assert http.get(f"{API}/api/v1/accounts/verify_credentials").status_code == 200
    refused = http.get(f"{API}/api/v1/accounts/verify_credentials")
    assert refused.status_code == 429 and refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert datetime.fromisoformat(refused.headers["X-RateLimit-Reset"]) == START + timedelta(
        minutes=5)


def test_missing_and_foreign_statuses_are_404(sandbox: Sandbox) -> None:
    http = _session(sandbox)
    assert http.get(f"{API}/api/v1/statuses/1").json() == {"error": "Record not found"}
    reply = http.post(f"{API}/api/v1/statuses", data={"status": "re", "in_reply_to_id": "9"})
    assert reply.status_code == 404


def test_every_request_of_the_sample_replay_conforms_to_the_mastodon_api(
    tmp_path: Path,
) -> None:
    """The wire check: what the adapter (Mastodon.py) sent during the sample's replay, each
    request checked against the documented operation it calls, and every answer a success."""
    result = run_demo(copy_sample(tmp_path / "sample"), seconds=8)
    assert result.journal is not None
    entries = result.journal.entries(network="mastodon")
    creates = [e for e in entries if e.method == "POST" and e.path == "/api/v1/statuses"]
    uploads = [e for e in entries if e.path == "/api/v2/media"]
    assert len(creates) >= 4 and uploads  # the sample's posts, its image with its alt text
    assert all(e.headers.get("idempotency-key", "").startswith("cm-delivery-") for e in creates)
    problems = [(e.method, e.path, e.extra.get("spec_operation"), e.extra.get("spec_violations"))
                for e in entries
                if e.extra.get("spec_operation") is None or e.extra.get("spec_violations")]
    assert problems == []
    assert [(e.method, e.path, e.status) for e in entries if (e.status or 0) >= 300] == []
