"""Fault rules name any installed network: Mastodon and Bluesky rules, over real HTTP, against
their emulators (the rule syntax has no list of networks of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import requests

from cm_toolkit.errors import SandboxError
from cm_toolkit.sandbox.bluesky.base import MOOC_HANDLE
from cm_toolkit.sandbox.clock import ManualClock
from cm_toolkit.sandbox.faults import fault_networks, parse_faults
from cm_toolkit.sandbox.mastodon.base import SAMPLE_INSTANCE
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.workspace.networks import known_networks

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
STATUSES = f"https://{SAMPLE_INSTANCE}/api/v1/statuses"
SIGN_IN = "https://bsky.social/xrpc/com.atproto.server.createSession"
FEED = "https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    faults = "mastodon:500@once/api/v1/statuses,bluesky:429@once/xrpc/app.bsky.actor.getProfile"
    with Sandbox(seed=3, clock=ManualClock(START), epoch=START, faults=faults).running() as box:
        yield box


def test_a_mastodon_rule_answers_mastodons_500_once_then_lets_the_post_through(
    sandbox: Sandbox,
) -> None:
    http = requests.Session()
    http.trust_env = False
    http.mount("https://", sandbox.transport().requests_adapter)
    http.headers["Authorization"] = f"Bearer {sandbox.env()['CM_MASTODON_ACCESS_TOKEN']}"
    failed = http.post(STATUSES, data={"status": "Bonjour"})
    posted = http.post(STATUSES, data={"status": "Bonjour"})
    assert failed.status_code == 500 and posted.status_code == 200
    assert posted.json()["content"]
    faults = [e.fault for e in sandbox.journal.entries(network="mastodon")]
    assert faults.count("500") == 1


def test_a_bluesky_rule_answers_429_with_its_reset_and_spares_the_session(
    sandbox: Sandbox,
) -> None:
    with httpx.Client(transport=sandbox.transport(timeout=5).httpx_transport) as http:
        session = http.post(SIGN_IN, json={"identifier": MOOC_HANDLE,
                                           "password": sandbox.env()["CM_BLUESKY_APP_PASSWORD"]})
        assert session.status_code == 200
        headers = {"Authorization": f"Bearer {session.json()['accessJwt']}"}
        limited = http.get(FEED, params={"actor": MOOC_HANDLE}, headers=headers)
        again = http.get(FEED, params={"actor": MOOC_HANDLE}, headers=headers)
    assert limited.status_code == 429
    assert limited.json()["error"] == "RateLimitExceeded"
    assert "ratelimit-reset" in limited.headers
    assert again.status_code == 200


def test_token_endpoints_are_spared_per_emulator(sandbox: Sandbox) -> None:
    sandbox.faults.clear()
    sandbox.faults.add("bluesky:500@1")
    with httpx.Client(transport=sandbox.transport(timeout=5).httpx_transport) as http:
        session = http.post(SIGN_IN, json={"identifier": MOOC_HANDLE,
                                           "password": sandbox.env()["CM_BLUESKY_APP_PASSWORD"]})
        assert session.status_code == 200  # createSession is Bluesky's token endpoint
        headers = {"Authorization": f"Bearer {session.json()['accessJwt']}"}
        assert http.get(FEED, params={"actor": MOOC_HANDLE}, headers=headers).status_code == 500


def test_every_installed_network_and_every_emulator_name_is_accepted() -> None:
    names = fault_networks()
    assert set(known_networks()) <= set(names)
    assert "google" in names  # the OAuth emulator YouTube and Meet share has its own name
    rules = parse_faults(",".join(f"{name}:503@once" for name in names))
    assert [rule.network for rule in rules] == list(names)


def test_an_unknown_name_lists_the_installed_ones() -> None:
    with pytest.raises(SandboxError) as caught:
        parse_faults("mastodn:500@once")
    assert "unknown network 'mastodn'" in caught.value.message
    assert "mastodon" in caught.value.fix and "bluesky" in caught.value.fix
