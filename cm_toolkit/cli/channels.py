"""``cm channels``, ``cm auth CHANNEL`` and ``cm done DELIVERY``.

``--sandbox URL`` (or ``CM_SANDBOX_URL``) points every adapter at a running sandbox
(``cm sandbox serve``): the SDKs' transport goes to it, variables unset in the environment are
taken from the sandbox's own ``/_sandbox/env``, and tokens go to a separate store
(``<token dir>/sandbox/``) so that sandbox tokens never mix with real ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cm_toolkit.channels.base import Transport
from cm_toolkit.channels.credentials import (
    ChannelCredentials,
    FileTokenStore,
    TokenStore,
    default_token_dir,
)
from cm_toolkit.channels.registry import build_channel, channel_class
from cm_toolkit.cli import (
    DatabaseOption,
    JsonOption,
    WorkspaceOption,
    app,
    console,
    port_option,
    seconds_option,
)
from cm_toolkit.errors import CmError, UsageError
from cm_toolkit.workspace.models import ChannelFile, Workspace
from cm_toolkit.workspace.suggestions import did_you_mean, one_of

SandboxOption = Annotated[
    str | None,
    typer.Option(
        "--sandbox",
        help="Talk to the sandbox at this URL (from `cm sandbox serve`) instead of the networks.",
        envvar="CM_SANDBOX_URL",
        show_default=False,
    ),
]


@dataclass
class Connection:
    """Where adapters send their calls and read their secrets (the networks, or a sandbox)."""

    transport: Transport | None
    fallback_env: dict[str, str]
    store: TokenStore
    sandbox_url: str | None = None
    _clients: list[Any] = field(default_factory=list)

    def track(self) -> None:
        """Remember the HTTP objects the transport hands out, so ``close`` can close them."""
        if self.transport is None:
            return
        self._clients.append(self.transport.requests_adapter)
        self._clients.append(self.transport.httpx_transport)
        factory = self.transport.http_factory
        if factory is not None:

            def tracked() -> Any:
                http = factory()
                self._clients.append(http)
                return http

            self.transport.http_factory = tracked

    def close(self) -> None:
        while self._clients:
            client = self._clients.pop()
            if client is not None:
                client.close()


def sandbox_token_dir() -> Path:
    """Tokens obtained from a sandbox (``cm auth --sandbox``); ``cm sandbox serve`` clears it."""
    return default_token_dir() / "sandbox"


def connect(sandbox_url: str | None, timeout: float = 30.0,
            channel_files: Mapping[str, ChannelFile] | None = None) -> Connection:
    """The real networks, or the sandbox at ``sandbox_url`` (its env fetched once, with the
    accounts of ``channel_files`` provisioned there: the sandbox rehearses any workspace)."""
    if not sandbox_url:
        return Connection(None, {}, FileTokenStore())
    from cm_toolkit.sandbox.provision import reach_sandbox
    from cm_toolkit.sandbox.transport import sandbox_transport

    base = sandbox_url.rstrip("/")
    env = reach_sandbox(base, channel_files)
    connection = Connection(
        sandbox_transport(base, timeout=timeout),
        {str(k): str(v) for k, v in env.items()},
        FileTokenStore(sandbox_token_dir()),
        base,
    )
    connection.track()
    return connection


def load_channels(workspace: Path) -> Workspace:
    from cm_toolkit.workspace.loader import load_workspace

    loaded, _warnings = load_workspace(workspace)
    return loaded


def _channel_file(loaded: Workspace, channel_id: str) -> ChannelFile:
    found = loaded.channels.get(channel_id)
    if found is None:
        raise UsageError(
            f"there is no channel {channel_id!r} in {loaded.root / 'channels'}",
            fix=did_you_mean(channel_id, loaded.channels, otherwise=f"channels: "
                             f"{one_of(loaded.channels)}"),
        )
    return found


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


@app.command("channels")
def channels(
    workspace: WorkspaceOption = Path("."),
    check: Annotated[
        bool, typer.Option("--check", help="Make one cheap read call per channel.")
    ] = False,
    sandbox: SandboxOption = None,
    json_output: JsonOption = False,
    networks: Annotated[bool, typer.Option(
        "--networks", help="List every installed network (built-in or plugin) with its "
        "capabilities and limits, instead of the workspace's channels.")] = False,
) -> None:
    """List the workspace's channels and whether their secrets are present (never their values).

    With --check, each channel makes one cheap read call and reports OK or the error.
    With --networks, list the networks this installation can publish to.
    """
    if networks:
        from cm_toolkit.cli.networks import print_networks

        print_networks(json_output)
        return
    loaded = load_channels(workspace)
    connection = connect(sandbox, channel_files=loaded.channels)
    try:
        rows = [
            _describe(channel_id, channel_file, loaded, connection, check)
            for channel_id, channel_file in sorted(loaded.channels.items())
        ]
    finally:
        connection.close()
    failed = any(not row["check"]["ok"] for row in rows if "check" in row)
    if json_output:
        console.file.write(json.dumps({"channels": rows}, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_table(rows, check, connection)
    if failed:
        raise typer.Exit(code=1)


def _describe(
    channel_id: str,
    channel_file: ChannelFile,
    loaded: Workspace,
    connection: Connection,
    check: bool,
) -> dict[str, Any]:
    credentials = ChannelCredentials(
        channel_id, channel_file, store=connection.store, fallback_env=connection.fallback_env
    )
    statuses = [credentials.status(name) for name in channel_file.secrets]
    row: dict[str, Any] = {
        "id": channel_id,
        "network": channel_file.network,
        "name": channel_file.name,
        "secrets": [{"name": s.name, "present": s.present, "source": s.source} for s in statuses],
    }
    if check:
        ok, message = _check_one(channel_id, channel_file, credentials, loaded, connection)
        row["check"] = {"ok": ok, "message": message}
    return row


def _check_one(
    channel_id: str,
    channel_file: ChannelFile,
    credentials: ChannelCredentials,
    loaded: Workspace,
    connection: Connection,
) -> tuple[bool, str]:
    try:
        channel = build_channel(
            channel_id, channel_file, credentials, connection.transport,
            workspace_root=loaded.root,
        )
        return True, channel.check()
    except NotImplementedError:
        return False, f"the {channel_file.network} adapter has no check"
    except CmError as error:  # every network failure is a CmError: one line, no traceback
        return False, str(error)


def _print_table(rows: list[dict[str, Any]], check: bool, connection: Connection) -> None:
    table = Table(show_lines=False)
    for column in ("channel", "network", "name", "secrets") + (("check",) if check else ()):
        table.add_column(column, overflow="fold")
    for row in rows:
        secrets = "\n".join(
            f"{s['name']}: {'present' if s['present'] else 'MISSING'} ({s['source']})"
            for s in row["secrets"]
        ) or "(none)"
        cells = [row["id"], row["network"], row["name"] or "", secrets]
        if check:
            cells.append(("OK: " if row["check"]["ok"] else "FAILED: ") + row["check"]["message"])
        table.add_row(*cells)
    console.print(table, markup=False, highlight=False, emoji=False)
    if connection.sandbox_url:
        _say(f"sandbox: {connection.sandbox_url}")


@app.command("auth")
def auth(
    channel: Annotated[str, typer.Argument(help="The channel id (a file name in channels/).")],
    workspace: WorkspaceOption = Path("."),
    sandbox: SandboxOption = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the authorization URL; open nothing.")
    ] = False,
    port: Annotated[
        int,
        port_option(
            "Port of the local redirect listener (0: random). Networks that only accept a "
            "registered redirect URI (X, LinkedIn, Facebook) need the port registered in the "
            "app: http://127.0.0.1:PORT/callback.",
        ),
    ] = 0,
    client_id: Annotated[
        str | None, typer.Option(help="The app's client id (default: the channel file's).")
    ] = None,
    client_secret: Annotated[
        str | None,
        typer.Option(help="The app's client secret. On the command line it is visible to other "
                     "users (ps): better its environment variable or --client-secret-file."),
    ] = None,
    client_secret_file: Annotated[
        Path | None,
        typer.Option(help="A file holding the app's client secret alone (chmod 600).",
                     show_default=False),
    ] = None,
    timeout: Annotated[float, seconds_option(
        "Seconds to wait for the browser.", minimum=1, maximum=86400)] = 300.0,
) -> None:
    """Authorize a channel and store its tokens (owner-only store, or the keyring).

    How is the network adapter's to say. OAuth networks: the browser approves, the tokens come
    back to a local listener. Where apps register themselves (a Mastodon instance: POST
    /api/v1/apps), a channel with no client id at hand (channel file, --client-id, environment)
    registers one first. App-password networks (Bluesky): the handle and the app password come
    from the environment (CM_BLUESKY_HANDLE, CM_BLUESKY_APP_PASSWORD) or a prompt, never the
    command line; they are checked with the network (createSession) and stored with the session.
    """
    from cm_toolkit.cli.auth_flows import oauth_sign_in, sign_in
    from cm_toolkit.cli.secret_files import secret_option

    client_secret = secret_option(client_secret, client_secret_file, "--client-secret")
    loaded = load_channels(workspace)
    channel_file = _channel_file(loaded, channel)
    cls = channel_class(channel_file.network)
    if cls.oauth is None and cls.app_password is None:
        if not channel_file.secrets:
            _say(f"{channel} is a {channel_file.network} channel: there is nothing to authorize.")
            return
        raise UsageError(f"{cls.display_name} has no authorization flow in cm auth",
                         fix=f"set the secrets channels/{channel}.yaml names under secrets:")
    # only this channel: its account is the one the sandbox's OAuth dialog signs in as
    connection = connect(sandbox, channel_files={channel: channel_file})
    try:
        credentials = ChannelCredentials(
            channel, channel_file, store=connection.store, fallback_env=connection.fallback_env)
        if cls.app_password is not None:
            names = sign_in(channel, channel_file, cls.app_password, credentials,
                            connection.transport, fallback_env=connection.fallback_env)
        else:
            assert cls.oauth is not None
            names = oauth_sign_in(
                channel, channel_file, cls.oauth, credentials, transport=connection.transport,
                fallback_env=connection.fallback_env, sandbox_url=connection.sandbox_url,
                no_browser=no_browser, port=port, client_id=client_id,
                client_secret=client_secret, timeout=timeout)
    finally:
        connection.close()
    store = connection.store
    where = store.directory if isinstance(store, FileTokenStore) else "memory"
    _say(f"{channel}: stored {', '.join(names)} ({where}, readable by you only)")


@app.command("done")
def done(
    delivery: Annotated[
        str, typer.Argument(help="The delivery, as the task file names it (cm-delivery-42, or 42).")
    ],
    workspace: WorkspaceOption = Path("."),
    database_url: DatabaseOption = None,
) -> None:
    """Mark a manual channel's task as published (you pasted it on the network)."""
    from cm_toolkit.ledger import LedgerAccess, open_ledger
    from cm_toolkit.scheduler.by_hand import delivery_id_of, mark_done

    delivery_id_of(delivery)  # a wrong id is refused before the ledger is opened
    ledger = open_ledger(database_url, workspace, LedgerAccess.WRITE)
    try:
        done_ = mark_done(ledger, delivery, datetime.now(UTC))
    finally:
        ledger.close()
    was = "was already marked" if done_.already else "is"
    _say(f"delivery {done_.delivery_id} ({done_.channel_id}) {was} published")
