"""The client side of rehearsing any workspace: ask a sandbox for the workspace's accounts.

``cm demo`` provisions its in-process sandbox directly (``Sandbox.provision``); the commands
that talk to a served sandbox (``--sandbox URL``) POST the same list to ``/_sandbox/env`` and
use the environment it answers, so a workspace made by ``cm init`` works there with its own ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from cm_toolkit.errors import SandboxError
from cm_toolkit.workspace.models import ChannelFile


def provision_request(channel_files: Mapping[str, ChannelFile]) -> list[dict[str, Any]]:
    """Each channel's network, account ids and the environment variables of its secrets."""
    return [
        {
            "network": channel.network,
            "account": dict(channel.account),
            "secrets": {name: ref.env for name, ref in channel.secrets.items() if ref.env},
        }
        for _channel_id, channel in sorted(channel_files.items())
    ]


def reach_sandbox(base_url: str,
                  channel_files: Mapping[str, ChannelFile] | None = None) -> dict[str, str]:
    """The one way every command reaches a running sandbox (``--sandbox URL``): its
    environment, the accounts of ``channel_files`` provisioned first. No proxy is used (the
    sandbox is on this machine); when nothing answers, one ``SandboxError`` (exit 1) names the
    URL and the fix."""
    base = base_url.rstrip("/")
    try:
        return fetch_environment(base, channel_files)
    except (requests.RequestException, ValueError) as exc:
        raise SandboxError(
            f"cannot reach the sandbox at {base} ({type(exc).__name__})",
            fix="start it with `cm sandbox serve` and pass its URL to --sandbox",
        ) from None


def fetch_environment(base_url: str,
                      channel_files: Mapping[str, ChannelFile] | None = None) -> dict[str, str]:
    """The sandbox's environment, with the accounts of ``channel_files`` provisioned first.
    Raises ``requests.RequestException`` or ``ValueError`` when no sandbox answers."""
    with requests.Session() as session:
        session.trust_env = False  # a proxy variable must not send loopback calls away
        url = f"{base_url.rstrip('/')}/_sandbox/env"
        if channel_files:
            answer = session.post(url, json=provision_request(channel_files), timeout=5)
        else:
            answer = session.get(url, timeout=5)
        answer.raise_for_status()
        env = answer.json()
    if not isinstance(env, dict):
        raise ValueError("the sandbox's environment is not a JSON object")  # noqa: TRY004
    return {str(k): str(v) for k, v in env.items()}
