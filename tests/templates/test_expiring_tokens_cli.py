"""``cm check`` warns about a LinkedIn channel the plan publishes to whose file names nothing to
renew its 60-day access token (refresh_token, client_id, client_secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.templates.conftest import check_warnings

ABOUT = "access tokens"

RENEWING = ("  refresh_token: {env: CM_LINKEDIN_REFRESH_TOKEN}\n",
            "  client_id: {env: CM_LINKEDIN_CLIENT_ID}\n",
            "  client_secret: {env: CM_LINKEDIN_CLIENT_SECRET}\n")


def _without(starter: Path, *lines: str) -> None:
    path = starter / "channels" / "linkedin.yaml"
    text = path.read_text(encoding="utf-8")
    for line in lines:
        assert line in text
        text = text.replace(line, "")
    path.write_text(text, encoding="utf-8")


def test_the_starter_can_renew_its_token(starter: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_warnings(starter, capsys, ABOUT) == []


def test_no_refresh_secrets_is_a_warning_at_the_secrets_line(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(starter, *RENEWING)
    secrets_line = (starter / "channels" / "linkedin.yaml").read_text().splitlines().index(
        "secrets:") + 1
    [line] = check_warnings(starter, capsys, ABOUT)
    assert line.startswith(
        f"channels/linkedin.yaml:{secrets_line}: warning: LinkedIn Page access tokens expire "
        "after 60 days and linkedin names no `refresh_token`, `client_id` and `client_secret` "
        "to renew its own: publishing stops on the day it expires (its last delivery is "
        "planned on "), line
    assert line.endswith("— add `refresh_token`, `client_id` and `client_secret` under "
                         "`secrets:` (docs/channels/); without them, run `cm auth linkedin` "
                         "again every 60 days"), line


def test_one_missing_secret_is_named(starter: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _without(starter, RENEWING[2])
    [line] = check_warnings(starter, capsys, ABOUT)
    assert "linkedin names no `client_secret` to renew its own" in line, line


def test_a_channel_the_plan_does_not_use_is_not_warned_about(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(starter, *RENEWING)
    path = starter / "schedules.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "channels: [x, facebook, linkedin, manual]", "channels: [x, facebook]"), encoding="utf-8")
    assert check_warnings(starter, capsys, ABOUT) == []
