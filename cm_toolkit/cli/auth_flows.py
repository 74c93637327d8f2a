"""The two ways ``cm auth`` authorizes a channel, chosen by its adapter's facts.

``oauth_sign_in``: the network's OAuth flow (``Channel.oauth``, see ``channels/oauth.py``),
in the browser, or against the sandbox (which approves at once).

``sign_in``: a network that signs in with an app password (``Channel.app_password``, e.g.
Bluesky) instead of OAuth. The identifier (the handle) and the password come from the environment (the variables the fact
names) or a prompt, never the command line (``ps`` would show it to every user). They are
checked against the network (the adapter's ``sign_in``: Bluesky's ``createSession``) and stored
with the session it opened, like the tokens of an OAuth flow (owner-only store or keyring).
"""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Callable, Mapping
from typing import Any

import typer

from cm_toolkit.channels.base import Transport
from cm_toolkit.channels.credentials import ChannelCredentials
from cm_toolkit.channels.facts import AppPassword, OAuthProvider
from cm_toolkit.channels.oauth import (
    AuthorizationFlow,
    ClientCredentials,
    SandboxBrowser,
    store_tokens,
)
from cm_toolkit.channels.registry import settings_data
from cm_toolkit.cli import console
from cm_toolkit.errors import AuthExpired, UsageError
from cm_toolkit.workspace.models import ChannelFile


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


def oauth_sign_in(
    channel: str,
    channel_file: ChannelFile,
    provider: OAuthProvider,
    credentials: ChannelCredentials,
    *,
    transport: Transport | None,
    fallback_env: Mapping[str, str],
    sandbox_url: str | None,
    no_browser: bool,
    port: int,
    client_id: str | None,
    client_secret: str | None,
    timeout: float,
) -> list[str]:
    """The OAuth flow of one channel; the names of the secrets stored."""

    def from_env(name: str) -> str | None:
        return os.environ.get(name) or fallback_env.get(name) or None

    found_id = client_id or credentials.find("client_id") or from_env(provider.client_env[0])
    found_secret = (
        client_secret or credentials.find("client_secret") or from_env(provider.client_env[1])
    )
    # no client id: the flow registers one where the network allows it (a Mastodon instance)
    flow = AuthorizationFlow(
        channel,
        provider,
        ClientCredentials(found_id, found_secret) if found_id else None,
        transport=transport,
        account=channel_file.account,
    )
    if transport is not None:
        _say(f"sandbox {sandbox_url}: the authorization is approved automatically")
        opener: Any = SandboxBrowser(transport)
    elif no_browser:
        opener = _print_url
    else:
        opener = _open_browser
    return store_tokens(credentials, flow.run(opener, port=port, timeout=timeout))


def _print_url(url: str) -> None:
    _say("Open this address in a browser and approve the access:")
    _say(url)


def _open_browser(url: str) -> None:
    if not webbrowser.open(url):
        _print_url(url)
    else:
        _say("A browser window asks you to approve the access; waiting for its answer...")


def sign_in(
    channel: str,
    channel_file: ChannelFile,
    fact: AppPassword,
    credentials: ChannelCredentials,
    transport: Transport | None,
    *,
    fallback_env: Mapping[str, str],
    prompt: Callable[..., str] | None = None,
) -> list[str]:
    """Ask for the identifier and password, check them, store them; the names stored.

    ``prompt`` asks the person (default: ``typer.prompt`` when the input is a terminal);
    without one, the environment (or the sandbox's, ``fallback_env``) must hold them.
    """
    if prompt is None and sys.stdin.isatty():
        prompt = typer.prompt
    account = settings_data(channel_file)
    named = str(account.get(fact.identifier) or "")
    id_env, password_env = fact.env
    identifier = os.environ.get(id_env) or (
        prompt(f"{fact.identifier} of {channel}", default=named or None) if prompt else named)
    identifier = identifier.strip().lstrip("@")
    if not identifier:
        raise UsageError(f"no {fact.identifier} to sign {channel} in with",
                         fix=f"set {id_env}, or account.{fact.identifier} in the channel file")
    if named and identifier.lower() != named.lower():
        raise UsageError(
            f"{identifier} is not the account channels/{channel}.yaml names ({named})",
            fix=f"sign in as {named}, or change account.{fact.identifier} in the channel file",
        )
    password = os.environ.get(password_env) or fallback_env.get(password_env) or (
        prompt(f"app password of {identifier} ({fact.where})", hide_input=True) if prompt
        else "")
    if not password.strip():
        raise UsageError(f"no app password for {identifier}",
                         fix=f"set {password_env} (made in {fact.where}), or run `cm auth "
                             f"{channel}` in a terminal to be asked for it")
    try:
        values = fact.sign_in(account, identifier, password.strip(), transport or Transport())
    except AuthExpired as refused:
        raise AuthExpired(
            f"{channel_file.network} refused the {fact.identifier} or app password of "
            f"{identifier}",
            network=channel_file.network, status=refused.info.status, code=refused.info.code,
            network_message=refused.info.network_message,
            fix=f"make a new app password ({fact.where}) and run `cm auth {channel}` again",
        ) from None
    credentials.update(values)
    return sorted(values)
