"""How the commands reach the networks: the real ones, or a running sandbox (``--sandbox``).

Shared by ``cm run``, ``cm publish``, ``cm growth snapshot``; kept light so that importing it
costs nothing (no SDK, no scheduler).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated

import typer

from cm_toolkit.channels.base import Transport
from cm_toolkit.channels.pool import ChannelPool
from cm_toolkit.errors import SandboxError
from cm_toolkit.workspace.models import Workspace

SandboxOption = Annotated[
    str | None,
    typer.Option(
        "--sandbox",
        help="Send every network call to a running sandbox (e.g. http://127.0.0.1:8900) "
        "and use its tokens for secrets not set in the environment.",
        envvar="CM_SANDBOX_URL",
        show_default=False,
    ),
]


def connect(sandbox: str | None) -> Callable[[Workspace], ChannelPool]:
    """The channel pools of ``cm run`` and friends: real networks, or the sandbox at URL."""
    if not sandbox:
        return channels_factory(None, {})
    transport, fallback = sandbox_environment(sandbox)
    return channels_factory(transport, fallback, sandbox)


def sandbox_environment(
    url: str, workspace: Workspace | None = None
) -> tuple[Transport, dict[str, str]]:
    """The transport to a running sandbox and its tokens, the workspace's accounts provisioned
    there first when it is given (POST /_sandbox/env)."""
    from cm_toolkit.sandbox.provision import reach_sandbox
    from cm_toolkit.sandbox.transport import sandbox_transport

    env = reach_sandbox(url, workspace.channels if workspace else None)
    return sandbox_transport(url.rstrip("/")), env


def channels_factory(
    transport: Transport | None, fallback: Mapping[str, str], sandbox_url: str | None = None
) -> Callable[[Workspace], ChannelPool]:
    """Adapters of a workspace; with a sandbox transport, its tokens go to the sandbox store.

    Tokens refreshed against a sandbox must never land in the real token store (where they
    would replace the tokens ``cm auth`` obtained from the networks): as ``cm auth --sandbox``
    does, they are kept under ``<token dir>/sandbox/``.
    """
    from cm_toolkit.channels.credentials import FileTokenStore
    from cm_toolkit.cli.channels import sandbox_token_dir

    store = FileTokenStore(sandbox_token_dir()) if transport is not None else None

    def channels(workspace: Workspace) -> ChannelPool:
        env = dict(fallback)
        if sandbox_url is not None:  # the sandbox rehearses this workspace's own accounts
            try:
                env = sandbox_environment(sandbox_url, workspace)[1]
            except SandboxError:
                pass  # gone for a moment: its calls will fail and be retried like any network's
        return ChannelPool(workspace, transport=transport, fallback_env=env, store=store)

    return channels

