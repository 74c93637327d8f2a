"""Every fault kind of the sandbox, over real HTTP, on a probe emulator; and the spec syntax."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from cm_toolkit.errors import SandboxError
from cm_toolkit.sandbox.core import epoch_seconds
from cm_toolkit.sandbox.faults import FaultKind, FaultPlan, parse_faults
from cm_toolkit.sandbox.server import Sandbox
from tests.sandbox.probe import ACCESS, REFRESH, START, Probe, running_probe
from tests.waiting import faulted

URL = "https://api.probe.test"


@pytest.fixture
def p() -> Iterator[Probe]:
    with running_probe() as probe:
        yield probe


def _posts(sandbox: Sandbox) -> list[dict[str, str]]:
    return sandbox.state()["networks"]["probe"]["posts"]


def test_429_carries_the_reset_header(p: Probe) -> None:
    p.sandbox.faults.reset_after = 90
    p.sandbox.faults.add("*:429@once")
    answer = p.http.post(f"{URL}/posts", json={"text": "hello"})
    assert answer.status_code == 429
    assert answer.headers["x-rate-limit-reset"] == str(epoch_seconds(START + timedelta(seconds=90)))
    assert _posts(p.sandbox) == []  # nothing happened
    assert p.http.post(f"{URL}/posts", json={"text": "hello"}).status_code == 201  # once only


def test_the_route_rate_limit_answers_429_until_the_window_passes(
    p: Probe
) -> None:
    assert [p.http.get(f"{URL}/me").status_code for _ in range(3)] == [200, 200, 429]
    p.clock.advance(timedelta(minutes=15, seconds=1))
    assert p.http.get(f"{URL}/me").status_code == 200


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors(p: Probe, kind: str) -> None:
    p.sandbox.faults.add(f"*:{kind}@once")
    assert p.http.post(f"{URL}/posts", json={"text": "x"}).status_code == int(kind)
    assert _posts(p.sandbox) == []
    (entry,) = p.sandbox.journal.entries(path="/posts")
    assert entry.fault == kind and entry.status == int(kind)


def test_401_reports_the_token_expired_but_does_not_revoke_it(
    p: Probe
) -> None:
    p.sandbox.faults.add("*:401@once")
    assert p.http.get(f"{URL}/me").status_code == 401
    assert p.http.get(f"{URL}/me").status_code == 200


def test_expire_revokes_until_refreshed(p: Probe) -> None:
    p.sandbox.faults.add("*:expire@once")
    assert p.http.get(f"{URL}/me").status_code == 401
    assert p.http.get(f"{URL}/me").status_code == 401  # for real now, not only once
    refreshed = p.http.post(f"{URL}/token", data={"refresh_token": REFRESH})
    assert refreshed.status_code == 200  # token endpoints get no fault, and need no token
    new = refreshed.json()["access_token"]
    assert new != ACCESS
    me = p.http.get(f"{URL}/me", headers={"authorization": f"Bearer {new}"})
    assert me.status_code == 200 and me.json() == {"account": "acct1"}


def test_tokens_expire_on_the_sandbox_clock(
    p: Probe
) -> None:
    p.clock.advance(timedelta(minutes=59))
    assert p.http.get(f"{URL}/me").status_code == 200
    p.clock.advance(timedelta(minutes=2))
    assert p.http.get(f"{URL}/me").status_code == 401


def test_timeout_processes_then_answers_too_late(p: Probe) -> None:
    p.sandbox.faults.timeout_delay = 3.0  # fifteen times the client's wait: late under any load
    p.sandbox.faults.add("*:timeout@once")
    with pytest.raises(requests.ReadTimeout):
        p.http.post(f"{URL}/posts", json={"text": "slow"}, timeout=0.2)
    faulted(p.sandbox)  # processed (the client may give up before the server reads it)
    assert [p["text"] for p in _posts(p.sandbox)] == ["slow"]  # the post exists


def test_timeout_never_answers_whatever_the_client_waits(p: Probe) -> None:
    """The default ``timeout`` holds the answer until released: the client's own timeout
    passes (a short one here, the adapters' 10 s in a rehearsal), and no answer follows."""
    p.sandbox.faults.add("*:timeout@once")
    with pytest.raises(requests.ReadTimeout):
        p.http.post(f"{URL}/posts", json={"text": "held"}, timeout=0.2)
    faulted(p.sandbox)  # processed, then held
    p.sandbox.faults.release_held()
    assert [p["text"] for p in _posts(p.sandbox)] == ["held"]  # processed: the post exists
    (entry,) = p.sandbox.journal.entries(method="POST", path="/posts")
    assert entry.fault == "timeout"


def test_a_released_hold_closes_the_connection_without_an_answer(p: Probe) -> None:
    p.sandbox.faults.add("*:timeout@once")
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            p.http.post(f"{URL}/posts", json={"text": "held"}, timeout=60)
        except requests.RequestException as error:
            outcome.append(error)

    asking = threading.Thread(target=client)
    asking.start()
    while not _posts(p.sandbox) and asking.is_alive():  # held: the post is made, no answer
        asking.join(0.01)
    p.sandbox.faults.release_held()
    asking.join(30)
    assert not asking.is_alive()
    [error] = outcome
    assert isinstance(error, requests.ConnectionError)
    assert not isinstance(error, requests.Timeout)  # closed, not timed out: no answer at all
    assert p.http.get(f"{URL}/me").status_code == 200  # the next request is answered


def test_drop_closes_before_processing(p: Probe) -> None:
    p.sandbox.faults.add("*:drop@once")
    with pytest.raises(requests.ConnectionError):
        p.http.post(f"{URL}/posts", json={"text": "lost"})
    assert _posts(p.sandbox) == []
    (entry,) = p.sandbox.journal.entries(method="POST", path="/posts")
    assert entry.status is None and entry.fault == "drop"


def test_drop_after_commit_leaves_the_post_and_no_answer(
    p: Probe
) -> None:
    p.sandbox.faults.add("*:drop-after-commit@once")
    with pytest.raises(requests.ConnectionError):
        p.http.post(f"{URL}/posts", json={"text": "committed"})
    assert [p["text"] for p in _posts(p.sandbox)] == ["committed"]
    (entry,) = p.sandbox.journal.entries(method="POST", path="/posts")
    assert entry.status is None and entry.fault == "drop-after-commit"


def test_path_restricted_rule(p: Probe) -> None:
    p.sandbox.faults.add("*:500@2x/posts")
    assert p.http.get(f"{URL}/me").status_code == 200
    assert [p.http.post(f"{URL}/posts", json={"text": str(i)}).status_code for i in range(3)] == [
        500, 500, 201
    ]


def test_token_endpoints_get_faults_only_when_named(
    p: Probe
) -> None:
    p.sandbox.faults.add("*:500@1")
    assert p.http.post(f"{URL}/token", data={"refresh_token": REFRESH}).status_code == 200
    p.sandbox.faults.clear()
    p.sandbox.faults.add("*:503@once/token")
    assert p.http.post(f"{URL}/token", data={"refresh_token": "x"}).status_code == 503


def test_probability_draws_repeat_with_the_seed() -> None:
    def draws(seed: int) -> list[FaultKind | None]:
        plan = FaultPlan(seed)
        plan.add("x:429@0.3")
        return [plan.pick("x", "/2/tweets") for _ in range(200)]

    first = draws(3)
    assert first == draws(3)
    assert first != draws(4)
    assert 30 < first.count(FaultKind.RATE_LIMIT) < 90


def test_spec_round_trip() -> None:
    rules = parse_faults("x:429@0.1, facebook:500@once,youtube:drop-after-commit@3x/videos")
    assert [r.spec() for r in rules] == [
        "x:429@0.1", "facebook:500@once", "youtube:drop-after-commit@3x/videos"
    ]
    assert parse_faults(" , ") == []
    (google,) = parse_faults("google:503@once/token")  # Google's OAuth hosts have their own name
    assert google.applies("google", "/token") and not google.applies("youtube", "/token")


@pytest.mark.parametrize(
    ("spec", "message", "fix"),
    [
        ("x-429", "is not of the form NETWORK:KIND@WHEN", "*:429@0.1"),
        ("myspace:500@once", "unknown network 'myspace'", "facebook, google"),
        ("x:418@once", "unknown fault '418'", "drop-after-commit"),
        ("x:429@1.5", "probability 1.5 is not between 0 and 1", "0.05"),
        ("x:429@sometimes", "is not of the form", "once"),
    ],
)
def test_spec_errors_name_the_rule_and_the_fix(spec: str, message: str, fix: str) -> None:
    with pytest.raises(SandboxError) as caught:
        parse_faults(f"x:500@once,{spec}")
    assert message in caught.value.message and spec in caught.value.message
    assert fix in caught.value.fix
