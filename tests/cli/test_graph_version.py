"""A wrong ``graph_version`` in a Facebook channel file fails against the sandbox, with a
message naming the setting and the fix: ``cm channels --check --sandbox`` and a publish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cm_toolkit.channels.base import MemoryCredentials, RenderedPost
from cm_toolkit.channels.facebook import FacebookChannel, FacebookSettings
from cm_toolkit.cli import main
from cm_toolkit.errors import Rejected
from cm_toolkit.sandbox.server import Sandbox
from tests.cli import test_channels
from tests.sample_workspace import copy_sample

PAGE = "104857600123456"


# the same environment and sandbox as the channel commands' tests
clean_env = test_channels.clean_env
sandbox = test_channels.sandbox


def _check(capsys: pytest.CaptureFixture[str], sandbox: Sandbox, workspace: Path,
           version: str) -> dict[str, object]:
    path = workspace / "channels" / "facebook-page.yaml"
    text = path.read_text(encoding="utf-8")
    assert "options:" not in text  # the setting's place in docs/channels/facebook.md
    path.write_text(f"{text}options:\n  graph_version: {version}\n", encoding="utf-8")
    code = main(["channels", "--check", "--workspace", str(workspace), "--sandbox",
                 sandbox.base_url, "--json"])
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["channels"]}
    check = rows["facebook-page"]["check"]
    assert isinstance(check, dict)
    return {"code": code, **check}


@pytest.mark.parametrize(("version", "said"), [("v99.0", "has no API version v99.0"),
                                              ("v19.0", "v19.0 (the `graph_version`")])
def test_check_fails_naming_the_setting_and_the_fix(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path, version: str, said: str
) -> None:
    result = _check(capsys, sandbox, copy_sample(tmp_path / "ws"), version)
    message = str(result["message"])
    assert result["code"] == 1 and result["ok"] is False
    assert said in message and "graph_version" in message
    assert "set `graph_version: v24.0` under `options:` in channels/facebook-page.yaml" in message


def test_the_default_version_passes(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    result = _check(capsys, sandbox, copy_sample(tmp_path / "ws"), "v24.0")
    assert result["ok"] is True, result["message"]


def test_a_publish_with_an_unreleased_version_fails_and_creates_nothing(sandbox: Sandbox) -> None:
    channel = FacebookChannel(
        "facebook-page",
        FacebookSettings(page_id=PAGE, graph_version="v99.0"),
        MemoryCredentials("facebook-page", {"page_token": sandbox.env()["CM_FACEBOOK_PAGE_TOKEN"]}),
        sandbox.transport(timeout=5),
    )
    with pytest.raises(Rejected) as caught:
        channel.publish(RenderedPost(text="Bonjour", idempotency_key="d1"))
    assert "Graph has no API version v99.0 (the `graph_version` of its channel file)" in str(
        caught.value)
    assert "channels/facebook-page.yaml" in caught.value.fix
    assert sandbox.state()["networks"]["facebook"]["pages"][PAGE]["posts"] == []
