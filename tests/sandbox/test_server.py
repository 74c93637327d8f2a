"""The sandbox server: in-process start, its own /_sandbox endpoints, the journal and masking."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from cm_toolkit.sandbox.server import Sandbox
from tests.sandbox.probe import ACCESS, REFRESH, Probe, running_probe

URL = "https://api.probe.test"


@pytest.fixture
def p() -> Iterator[Probe]:
    with running_probe() as probe:
        yield probe


def _own(sandbox: Sandbox, method: str, name: str, **kwargs: object) -> requests.Response:
    with requests.Session() as http:
        http.trust_env = False
        return http.request(method, f"{sandbox.base_url}/_sandbox/{name}", timeout=5, **kwargs)  # type: ignore[arg-type]


def test_every_network_emulator_starts_in_process() -> None:
    with Sandbox(seed=1).running() as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        state = _own(sandbox, "GET", "state").json()
    assert state["seed"] == 1
    assert {"x", "facebook", "linkedin"} <= set(state["networks"])
    assert state["tokens"] and all("value" not in t for t in state["tokens"])


def test_state_over_http(p: Probe) -> None:
    p.http.post(f"{URL}/posts", json={"text": "bonjour"})
    state = _own(p.sandbox, "GET", "state").json()
    assert state["now"] == "2027-01-04T08:00:00+00:00"
    assert state["networks"]["probe"]["posts"] == [{"id": "100", "text": "bonjour"}]
    assert state["tokens"] == [
        {"network": "probe", "account_id": "acct1",
         "expires_at": "2027-01-04T09:00:00+00:00", "valid": True}
    ]
    assert ACCESS not in json.dumps(state)


def test_journal_over_http_and_clear(p: Probe) -> None:
    p.http.post(f"{URL}/posts", json={"text": "un"})
    p.http.get(f"{URL}/nowhere")
    entries = _own(p.sandbox, "GET", "journal").json()
    assert [(e["method"], e["path"], e["status"], e["route"]) for e in entries] == [
        ("POST", "/posts", 201, "create"), ("GET", "/nowhere", 404, None)
    ]
    assert entries[0]["host"] == "api.probe.test" and entries[0]["network"] == "probe"
    assert json.loads(entries[0]["body"]) == {"text": "un"}
    assert _own(p.sandbox, "DELETE", "journal").status_code == 204
    assert _own(p.sandbox, "GET", "journal").json() == []


def test_journal_masks_every_secret(p: Probe) -> None:
    p.http.get(f"{URL}/me", params={"access_token": ACCESS})
    p.http.post(f"{URL}/token", data={"refresh_token": REFRESH, "client_secret": "cs-123"})
    p.http.post(
        f"{URL}/posts",
        json={"text": "t", "access_token": ACCESS, "refresh_token": REFRESH},
        headers={"cookie": "sid=abc"},
    )
    dumped = json.dumps(_own(p.sandbox, "GET", "journal").json())
    for secret in (ACCESS, REFRESH, "cs-123", "sid=abc"):
        assert secret not in dumped
    first, second, third = p.sandbox.journal.entries()
    assert first.headers["authorization"] == "***"
    assert first.query == "access_token=***"
    assert "refresh_token=***" in second.body and "client_secret=***" in second.body
    assert '"access_token": "***"' in third.body and third.headers["cookie"] == "***"
    # the token endpoint's answer is masked too
    assert "-r1" not in second.response and '"access_token": "***"' in second.response


def test_faults_over_http(p: Probe) -> None:
    added = _own(p.sandbox, "POST", "faults", data="*:500@once")
    assert added.json() == {"faults": ["*:500@once"]}
    bad = _own(p.sandbox, "POST", "faults", data="nonsense")
    assert bad.status_code == 400 and "NETWORK:KIND@WHEN" in bad.json()["error"]
    assert p.http.get(f"{URL}/me").status_code == 500
    assert _own(p.sandbox, "DELETE", "faults").json() == {"faults": []}


def test_expire_and_env_over_http(p: Probe) -> None:
    assert _own(p.sandbox, "GET", "env").json() == {
        "CM_PROBE_TOKEN": ACCESS, "CM_PROBE_REFRESH_TOKEN": REFRESH
    }
    assert _own(p.sandbox, "POST", "expire?network=probe").json() == {"expired": 1}
    assert p.http.get(f"{URL}/me").status_code == 401


def test_unknown_sandbox_endpoint_and_unknown_host(p: Probe) -> None:
    assert _own(p.sandbox, "GET", "nothing").status_code == 404
    answer = p.http.get("https://api.unknown.test/x")
    assert answer.status_code == 404
    assert answer.json() == {"error": "the sandbox does not serve api.unknown.test"}
    (entry,) = p.sandbox.journal.entries(path="/x")
    assert entry.host == "api.unknown.test" and entry.status == 404
