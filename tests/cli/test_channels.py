"""``cm channels``, ``cm auth`` and ``cm done``, run in-process on the sample workspace."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cm_toolkit.cli import main
from cm_toolkit.ledger import DeliveryState, open_ledger
from cm_toolkit.ledger.models import Campaign, Delivery, Post
from cm_toolkit.planning.models import DeliveryKind
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.workspace.models import Network

ROOT = Path(__file__).resolve().parents[2]  # the repository is the sample workspace
CHANNEL_IDS = ["bluesky-mooc", "facebook-page", "linkedin-group", "linkedin-page", "mastodon-mooc",
               "meet", "x-mooc",
               "youtube"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real secret from the developer's shell, tokens in a temporary folder."""
    for name in list(os.environ):
        if name.startswith("CM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CM_TOKEN_DIR", str(tmp_path / "tokens"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=5).running() as running:
        yield running


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout, stderr; error messages with their line wrapping undone."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def squeezed(text: str) -> str:
    """Output without spaces and table borders: a wrapped secret would still be found."""
    return re.sub(r"[\s│┃║|─━]", "", text)


def test_channels_lists_every_channel_and_missing_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "channels", "--workspace", str(ROOT), "--json")
    assert code == 0
    rows = json.loads(out)["channels"]
    assert [r["id"] for r in rows] == CHANNEL_IDS
    x = next(r for r in rows if r["id"] == "x-mooc")
    assert x["network"] == "x" and x["name"] == "@ManagerLeader20 (X)"
    assert x["secrets"][0] == {
        "name": "access_token", "present": False, "source": "env CM_X_ACCESS_TOKEN"
    }
    code, out, _ = run(capsys, "channels", "--workspace", str(ROOT))
    assert code == 0 and "x-mooc" in out and "MISSING" in out


def test_secret_values_are_never_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CM_X_ACCESS_TOKEN", "very-secret-x-token-123")
    code, out, err = run(capsys, "channels", "--workspace", str(ROOT), "--json")
    assert code == 0
    assert "very-secret-x-token-123" not in out + err
    row = next(r for r in json.loads(out)["channels"] if r["id"] == "x-mooc")
    assert row["secrets"][0]["present"] is True


def test_check_against_the_sandbox(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    code, out, _ = run(
        capsys, "channels", "--check", "--workspace", str(ROOT),
        "--sandbox", sandbox.base_url, "--json",
    )
    rows = {r["id"]: r for r in json.loads(out)["channels"]}
    assert all(s["present"] for r in rows.values() for s in r["secrets"])
    assert rows["x-mooc"]["secrets"][0]["source"] == "sandbox env CM_X_ACCESS_TOKEN"
    failed = {k: r["check"]["message"] for k, r in rows.items() if not r["check"]["ok"]}
    assert failed == {} and code == 0
    assert "ManagerLeader20" in rows["x-mooc"]["check"]["message"]
    assert rows["linkedin-group"]["check"]["message"].startswith("manual channel")
    # every network was called once, and nothing was created
    assert {e.network for e in sandbox.journal.entries()} >= {"x", "facebook", "linkedin"}
    sign_in = ("token", "createsession", "refreshsession")  # token endpoints, Bluesky's too
    assert not [e for e in sandbox.journal.entries() if e.method in ("POST", "PUT", "DELETE")
                and not any(word in e.path.lower() for word in sign_in)]


def test_check_reports_each_failure_and_exits_1(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    sandbox.faults.add("facebook:500@1")
    code, out, _ = run(
        capsys, "channels", "--check", "--workspace", str(ROOT), "--sandbox", sandbox.base_url,
    )
    assert code == 1
    assert "FAILED" in out and "OK" in out
    assert "Traceback" not in out


def test_no_sandbox_token_in_any_output(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> None:
    outputs = []
    for argv in (
        ["channels", "--check", "--sandbox", sandbox.base_url],
        ["channels", "--check", "--sandbox", sandbox.base_url, "--json"],
        ["auth", "x-mooc", "--sandbox", sandbox.base_url],
        ["auth", "facebook-page", "--sandbox", sandbox.base_url],
        ["channels", "--check", "--sandbox", sandbox.base_url],  # now with stored tokens
    ):
        code, out, err = run(capsys, *argv, "--workspace", str(ROOT))
        assert code == 0, err
        outputs.append(out + err)
    shown = squeezed("\n".join(outputs))
    secrets = {v for v in sandbox.env().values() if len(v) >= 8}
    assert secrets and not [s for s in secrets if squeezed(s) in shown]
    stored = json.loads((Path(os.environ["CM_TOKEN_DIR"]) / "sandbox"
                         / "x-mooc.json").read_text())
    assert [v for v in stored["values"].values() if squeezed(v) in shown] == []


def test_auth_stores_owner_only_tokens_that_the_channel_then_uses(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "auth", "linkedin-page", "--workspace", str(ROOT), "--sandbox", sandbox.base_url
    )
    assert code == 0, err
    assert "linkedin-page: stored access_token, access_token_expires_at, refresh_token" in out
    path = tmp_path / "tokens" / "sandbox" / "linkedin-page.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    code, out, _ = run(
        capsys, "channels", "--check", "--workspace", str(ROOT),
        "--sandbox", sandbox.base_url, "--json",
    )
    row = next(r for r in json.loads(out)["channels"] if r["id"] == "linkedin-page")
    assert row["secrets"][0]["source"] == "token store" and row["check"]["ok"]


def test_auth_usage_errors(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> None:
    code, _, err = run(capsys, "auth", "x-moc", "--workspace", str(ROOT))
    assert code == 2 and "did you mean `x-mooc`?" in err
    code, out, _ = run(capsys, "auth", "linkedin-group", "--workspace", str(ROOT))
    assert code == 0 and "manual channel" in out
    code, _, err = run(capsys, "auth", "x-mooc", "--workspace", str(ROOT))
    assert code == 2 and "CM_X_CLIENT_ID" in err  # no client id without the sandbox's env


def test_auth_registers_cm_toolkit_on_the_mastodon_instance(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    code, out, err = run(capsys, "auth", "mastodon-mooc", "--workspace", str(ROOT),
                         "--sandbox", sandbox.base_url)
    assert code == 0, err
    assert "mastodon-mooc: stored access_token" in out
    apps = sandbox.journal.entries(method="POST", path=r"/api/v1/apps")
    assert [e.host for e in apps] == ["social.univ-campus.fr"]
    stored = json.loads((tmp_path / "tokens" / "sandbox" / "mastodon-mooc.json").read_text())
    assert set(stored["values"]) == {"access_token"}
    code, out, _ = run(capsys, "channels", "--check", "--workspace", str(ROOT),
                       "--sandbox", sandbox.base_url, "--json")
    row = next(r for r in json.loads(out)["channels"] if r["id"] == "mastodon-mooc")
    assert row["secrets"][0]["source"] == "token store" and row["check"]["ok"]


def test_auth_signs_bluesky_in_with_an_app_password_once(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CM_BLUESKY_APP_PASSWORD", "wrong-pass-word-0000")
    code, _, err = run(capsys, "auth", "bluesky-mooc", "--workspace", str(ROOT),
                       "--sandbox", sandbox.base_url)
    assert code != 0 and "refused the handle or app password" in err
    assert "Traceback" not in err
    assert not (tmp_path / "tokens" / "sandbox" / "bluesky-mooc.json").exists()

    password = sandbox.env()["CM_BLUESKY_APP_PASSWORD"]
    monkeypatch.setenv("CM_BLUESKY_APP_PASSWORD", password)
    code, out, err = run(capsys, "auth", "bluesky-mooc", "--workspace", str(ROOT),
                         "--sandbox", sandbox.base_url)
    assert code == 0, err
    assert "bluesky-mooc: stored app_password, session" in out and password not in out
    path = tmp_path / "tokens" / "sandbox" / "bluesky-mooc.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.delenv("CM_BLUESKY_APP_PASSWORD")  # from now on, only what was stored
    code, out, _ = run(capsys, "channels", "--check", "--workspace", str(ROOT),
                       "--sandbox", sandbox.base_url, "--json")
    row = next(r for r in json.loads(out)["channels"] if r["id"] == "bluesky-mooc")
    assert row["check"]["ok"], row
    # the check reused the session cm auth opened: createSession was called by cm auth only
    sessions = sandbox.journal.entries(method="POST", path=r".*createSession")
    assert [e.status for e in sessions] == [401, 200]


@pytest.mark.parametrize("command", [
    ("channels",), ("growth", "snapshot"), ("sandbox", "env"), ("publish", "x", "--now"),
])
def test_an_unreachable_sandbox_is_the_same_clear_error_everywhere(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the ledger in tmp_path, not the repository's .cm/ (another test process may use it)
    monkeypatch.setenv("CM_DATABASE_URL", f"sqlite:///{tmp_path / 'cm.db'}")
    workspace = () if command[0] == "sandbox" else ("--workspace", str(ROOT))
    code, _, err = run(capsys, *command, *workspace, "--sandbox", "http://127.0.0.1:9")
    assert code == 1, err
    assert "cannot reach the sandbox at http://127.0.0.1:9" in err and "cm sandbox serve" in err
    assert "Traceback" not in err


def test_a_proxy_in_the_environment_does_not_take_sandbox_calls_away(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_PROXY")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    code, out, err = run(capsys, "channels", "--check", "--workspace", str(ROOT),
                         "--sandbox", sandbox.base_url, "--json")
    assert code == 0, err
    assert all(r["check"]["ok"] for r in json.loads(out)["channels"])


def _ledger_with(tmp_path: Path, state: DeliveryState, network: Network) -> str:
    url = f"sqlite:///{tmp_path / 'cm.db'}"
    ledger = open_ledger(url, tmp_path)
    now = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    with ledger.writing() as session:
        session.add(Campaign(id="s1", name="Saison 1", start=None, created_at=now, updated_at=now))
        session.flush()
        session.add(Post(key="s1/debat", kind=DeliveryKind.POST, campaign_id="s1",
                         post_id="debat", session_id=None, template="debat",
                         created_at=now, updated_at=now))
        session.flush()
        session.add(Delivery(id=42, post_key="s1/debat", channel_id="linkedin-group",
                             network=network, occurrence=0, due_at=now, state=state,
                             fingerprint="f", grace_seconds=7200, created_at=now,
                             updated_at=now))
    ledger.close()
    return url


def test_done_publishes_a_manual_task(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = _ledger_with(tmp_path, DeliveryState.AWAITING_DONE, "manual")
    argv = ["done", "cm-delivery-42", "--workspace", str(tmp_path), "--database-url", url]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "delivery 42 (linkedin-group) is published" in out
    ledger = open_ledger(url, tmp_path)
    delivery = ledger.get(42)
    assert delivery is not None and delivery.state is DeliveryState.PUBLISHED
    assert ledger.events(42)[-1].detail == {"by": "cm done"}
    ledger.close()
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "already marked published" in out


@pytest.mark.parametrize(
    ("state", "network", "message"),
    [
        (DeliveryState.PLANNED, "manual", "delivery 42 is planned: it cannot be marked"),
        (DeliveryState.AWAITING_DONE, "x", "publishes by itself"),
    ],
)
def test_done_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
    state: DeliveryState, network: Network, message: str,
) -> None:
    url = _ledger_with(tmp_path, state, network)
    code, _, err = run(capsys, "done", "42", "--workspace", str(tmp_path), "--database-url", url)
    assert code == 2 and message in err
    code, _, err = run(capsys, "done", "43", "--workspace", str(tmp_path), "--database-url", url)
    assert code == 2 and "there is no delivery 43" in err
    code, _, err = run(capsys, "done", "abc", "--workspace", str(tmp_path), "--database-url", url)
    assert code == 2 and "is not a delivery id" in err
