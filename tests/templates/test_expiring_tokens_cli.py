"""``cm check`` warns about a LinkedIn channel the plan publishes to whose file names nothing to
renew its 60-day access token (refresh_token, client_id, client_secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cm_toolkit.cli import main

RENEWING = ("  refresh_token: {env: CM_LINKEDIN_REFRESH_TOKEN}\n",
            "  client_id: {env: CM_LINKEDIN_CLIENT_ID}\n",
            "  client_secret: {env: CM_LINKEDIN_CLIENT_SECRET}\n")


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "300")
    folder = tmp_path / "ws"
    assert main(["init", str(folder)]) == 0  # x, facebook, linkedin; all posts on the three
    capsys.readouterr()
    return folder


def _without(root: Path, *lines: str) -> None:
    path = root / "channels" / "linkedin.yaml"
    text = path.read_text(encoding="utf-8")
    for line in lines:
        assert line in text
        text = text.replace(line, "")
    path.write_text(text, encoding="utf-8")


def _token_warnings(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["check", "-w", str(root)]) == 0  # a warning: exit 0
    return [line for line in capsys.readouterr().out.splitlines() if "access tokens" in line]


def test_the_starter_can_renew_its_token(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _token_warnings(root, capsys) == []


def test_no_refresh_secrets_is_a_warning_at_the_secrets_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(root, *RENEWING)
    secrets_line = (root / "channels" / "linkedin.yaml").read_text().splitlines().index(
        "secrets:") + 1
    [line] = _token_warnings(root, capsys)
    assert line.startswith(
        f"channels/linkedin.yaml:{secrets_line}: warning: LinkedIn Page access tokens expire "
        "after 60 days and linkedin names no `refresh_token`, `client_id` and `client_secret` "
        "to renew its own: publishing stops on the day it expires (its last delivery is "
        "planned on "), line
    assert line.endswith("— add `refresh_token`, `client_id` and `client_secret` under "
                         "`secrets:` (docs/channels/); without them, run `cm auth linkedin` "
                         "again every 60 days"), line


def test_one_missing_secret_is_named(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _without(root, RENEWING[2])
    [line] = _token_warnings(root, capsys)
    assert "linkedin names no `client_secret` to renew its own" in line, line


def test_a_channel_the_plan_does_not_use_is_not_warned_about(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(root, *RENEWING)
    path = root / "schedules.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "channels: [x, facebook, linkedin]", "channels: [x, facebook]"), encoding="utf-8")
    assert _token_warnings(root, capsys) == []
