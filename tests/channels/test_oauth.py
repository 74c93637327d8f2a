"""``cm auth``'s flows, end to end against the sandbox: authorize, redirect, exchange, store.

The test plays the person's browser (``SandboxBrowser``: the authorization URL through the
sandbox transport, then the redirect to the local listener), and proves the stored tokens work
by making the channel's own check call with nothing but them.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from cm_toolkit.channels import registry
from cm_toolkit.channels.credentials import ChannelCredentials, FileTokenStore
from cm_toolkit.channels.mastodon import MastodonChannel
from cm_toolkit.channels.oauth import (
    AuthorizationFlow,
    ClientCredentials,
    RedirectListener,
    SandboxBrowser,
    provider_for,
)
from cm_toolkit.errors import ChannelError, UsageError
from cm_toolkit.sandbox.server import Sandbox
from cm_toolkit.workspace.loader import load_workspace
from cm_toolkit.workspace.models import Workspace

ROOT = Path(__file__).resolve().parents[2]  # the repository is the sample workspace
CHANNELS = {
    "x": "x-mooc",
    "linkedin": "linkedin-page",
    "facebook": "facebook-page",
    "youtube": "youtube",
    "meet": "meet",
}


@pytest.fixture(scope="module")
def workspace() -> Workspace:
    loaded, _ = load_workspace(ROOT)
    return loaded


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with Sandbox(seed=3).running() as running:
        yield running


def _client(sandbox: Sandbox, network: str) -> ClientCredentials:
    env = sandbox.env()
    id_name, secret_name = provider_for(network).client_env
    return ClientCredentials(env[id_name], env.get(secret_name))


@pytest.mark.parametrize("network", sorted(CHANNELS))
def test_flow_stores_tokens_that_work(
    network: str, sandbox: Sandbox, workspace: Workspace, tmp_path: Path
) -> None:
    if registry.settings_model_for(network) is None:
        pytest.skip(f"the {network} adapter is not written yet")
    channel_id = CHANNELS[network]
    channel_file = workspace.channels[channel_id]
    transport = sandbox.transport(timeout=5)
    flow = AuthorizationFlow(
        channel_id, provider_for(network), _client(sandbox, network),
        transport=transport, account=channel_file.account,
    )
    values = flow.run(SandboxBrowser(transport), timeout=10)
    assert values  # e.g. access_token + refresh_token, or page_token

    # only what the flow stored, plus the app's client id/secret: no sandbox token from env
    token_names = {v for k, v in (
        (n, ref.env) for n, ref in channel_file.secrets.items()
    ) if k in values}
    client_env = {k: v for k, v in sandbox.env().items() if k not in token_names}
    store = FileTokenStore(tmp_path / "tokens")
    credentials = ChannelCredentials(channel_id, channel_file, store=store, environ=client_env)
    credentials.update(values)
    assert stat.S_IMODE((tmp_path / "tokens" / f"{channel_id}.json").stat().st_mode) == 0o600
    for name, value in values.items():
        assert credentials.get(name) == value
    channel = registry.build_channel(
        channel_id, channel_file, credentials, transport, workspace_root=tmp_path
    )
    assert channel.check()

    # what the network received: PKCE where used, secrets masked in the journal
    authorize = sandbox.journal.entries(method="GET", path=r".*(authorize|authorization|/auth|dialog/oauth)")
    assert len(authorize) == 1
    query = parse_qs(authorize[0].query)
    assert ("code_challenge" in query) is provider_for(network).pkce
    journal = " ".join(e.query + e.body + e.response for e in sandbox.journal.entries())
    assert not [v for v in values.values() if v in journal]


def test_a_browser_answer_with_another_state_is_refused(sandbox: Sandbox) -> None:
    flow = AuthorizationFlow("x-mooc", provider_for("x"), _client(sandbox, "x"))

    def forged_browser(url: str) -> None:
        redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        with requests.Session() as http:
            http.trust_env = False
            http.get(f"{redirect}?{urlencode({'code': 'stolen', 'state': 'other'})}", timeout=5)

    with pytest.raises(UsageError, match="does not carry the state"):
        flow.run(forged_browser, timeout=5)


def test_a_refusal_is_reported_with_the_network_words(sandbox: Sandbox) -> None:
    flow = AuthorizationFlow("x-mooc", provider_for("x"), _client(sandbox, "x"))

    def refusing_browser(url: str) -> None:
        query = parse_qs(urlsplit(url).query)
        answer = {"error": "access_denied", "error_description": "The user denied access",
                  "state": query["state"][0]}
        with requests.Session() as http:
            http.trust_env = False
            http.get(f"{query['redirect_uri'][0]}?{urlencode(answer)}", timeout=5)

    with pytest.raises(ChannelError) as caught:
        flow.run(refusing_browser, timeout=5)
    assert caught.value.info.code == "access_denied"
    assert caught.value.info.network_message == "The user denied access"


def test_a_refused_code_exchange_says_the_networks_words(sandbox: Sandbox) -> None:
    """`cm auth` prints the network's reason, not only "HTTP 400 — check the client id"."""
    flow = AuthorizationFlow("x-mooc", provider_for("x"), _client(sandbox, "x"),
                             transport=sandbox.transport(timeout=5))
    with pytest.raises(ChannelError) as caught:
        flow.exchange("x-sandbox-code-never-issued", "http://127.0.0.1:1/callback", "v" * 43)
    assert str(caught.value).startswith(
        "x refused the token request (HTTP 400: Value passed for the authorization code was "
        "invalid.) — check the app's client id")


def test_a_wrong_client_is_refused_by_the_network(sandbox: Sandbox) -> None:
    transport = sandbox.transport(timeout=5)
    client = ClientCredentials("not-a-client", "nope")
    flow = AuthorizationFlow("linkedin-page", provider_for("linkedin"), client, transport=transport)
    with pytest.raises(ChannelError, match="did not approve"):
        flow.run(SandboxBrowser(transport), timeout=5)


def test_no_browser_answer_times_out() -> None:
    flow = AuthorizationFlow("x-mooc", provider_for("x"), ClientCredentials("id", None))
    with pytest.raises(UsageError, match="no answer from the browser"):
        flow.run(lambda url: None, timeout=0.1)


def test_networks_needing_a_secret_say_so() -> None:
    with pytest.raises(UsageError, match="CM_LINKEDIN_CLIENT_SECRET"):
        AuthorizationFlow("linkedin-page", provider_for("linkedin"), ClientCredentials("id", None))
    with pytest.raises(UsageError, match="no OAuth flow"):
        provider_for("manual")


def test_listener_ignores_other_paths() -> None:
    with RedirectListener() as listener, requests.Session() as http:
        http.trust_env = False
        base = listener.redirect_uri.removesuffix("/callback")
        assert http.get(f"{base}/favicon.ico", timeout=5).status_code == 404
        page = http.get(f"{listener.redirect_uri}?code=c&state=s", timeout=5)
        assert page.status_code == 200 and "Authorized" in page.text
        assert listener.wait(1) == {"code": "c", "state": "s"}


def test_mastodon_registers_its_app_on_the_instance_then_authorizes(
    sandbox: Sandbox, workspace: Workspace, tmp_path: Path
) -> None:
    channel_file = workspace.channels["mastodon-mooc"]
    instance = channel_file.account["instance"]
    transport = sandbox.transport(timeout=5)
    flow = AuthorizationFlow("mastodon-mooc", provider_for("mastodon"), None,
                             transport=transport, account=channel_file.account)
    values = flow.run(SandboxBrowser(transport), timeout=10)
    assert set(values) == {"access_token"}
    apps = sandbox.journal.entries(method="POST", path=r"/api/v1/apps")
    assert [(e.host, e.status) for e in apps] == [(instance, 200)]
    registered = parse_qs(apps[0].body)
    assert registered["redirect_uris"][0].startswith("http://127.0.0.1:")
    authorize = sandbox.journal.entries(method="GET", path=r"/oauth/authorize")
    assert [e.host for e in authorize] == [instance]  # {instance} filled from the channel file
    registered_id = json.loads(apps[0].response)["client_id"]
    assert parse_qs(authorize[0].query)["client_id"] == [registered_id]

    # the token alone works; an app registered by hand (its port known) is used as it is
    credentials = ChannelCredentials("mastodon-mooc", channel_file,
                                     store=FileTokenStore(tmp_path / "tokens"), environ={})
    credentials.update(values)
    channel = registry.build_channel("mastodon-mooc", channel_file, credentials, transport,
                                     workspace_root=tmp_path)
    assert channel.check()
    with RedirectListener() as listener:
        by_hand = MastodonChannel.register_app(instance, listener.redirect_uri, transport)
        port = int(listener.redirect_uri.split(":")[2].split("/")[0])
    again = AuthorizationFlow("mastodon-mooc", provider_for("mastodon"),
                              ClientCredentials(*by_hand), transport=transport,
                              account=channel_file.account)
    assert set(again.run(SandboxBrowser(transport), port=port, timeout=10)) == {"access_token"}
    assert len(sandbox.journal.entries(method="POST", path=r"/api/v1/apps")) == 2


def test_a_network_without_registration_needs_a_client_id() -> None:
    with pytest.raises(UsageError, match="CM_X_CLIENT_ID"):
        AuthorizationFlow("x-mooc", provider_for("x"), None)


def test_an_instance_url_without_an_instance_says_which_file(sandbox: Sandbox) -> None:
    flow = AuthorizationFlow("mastodon-mooc", provider_for("mastodon"),
                             ClientCredentials("id", "secret"), account={})
    with pytest.raises(UsageError, match=r"channels/mastodon-mooc.yaml has no account.instance"):
        flow.run(lambda url: None, timeout=1)
