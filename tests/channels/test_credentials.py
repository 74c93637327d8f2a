"""Channel credentials: token store first, then env / keyring; owner-only files; masked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cm_toolkit.channels.credentials import (
    ChannelCredentials,
    FileTokenStore,
    MemoryTokenStore,
    default_token_dir,
)
from cm_toolkit.errors import AuthExpired, UsageError
from cm_toolkit.workspace.models import ChannelFile, SecretRef

X_FILE = ChannelFile(
    network="x",
    secrets={
        "access_token": SecretRef(env="CM_X_ACCESS_TOKEN"),
        "refresh_token": SecretRef(env="CM_X_REFRESH_TOKEN"),
        "client_id": SecretRef(env="CM_X_CLIENT_ID"),
    },
)


def test_default_token_dir_order(tmp_path: Path) -> None:
    assert default_token_dir({"CM_TOKEN_DIR": str(tmp_path)}) == tmp_path
    assert default_token_dir({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/cm-toolkit/tokens")
    assert default_token_dir({}) == Path.home() / ".config" / "cm-toolkit" / "tokens"


def test_env_value_then_missing_secret_names_the_fix(tmp_path: Path) -> None:
    creds = ChannelCredentials(
        "x-mooc", X_FILE, store=FileTokenStore(tmp_path), environ={"CM_X_ACCESS_TOKEN": "tok-env"}
    )
    assert creds.get("access_token") == "tok-env"
    assert creds.find("refresh_token") is None
    with pytest.raises(AuthExpired) as caught:
        creds.get("refresh_token")
    assert caught.value.fix == "set CM_X_REFRESH_TOKEN or run `cm auth x-mooc`"
    assert caught.value.network == "x"
    with pytest.raises(AuthExpired, match="name it under secrets: in channels/x-mooc.yaml"):
        creds.get("page_token")


def test_update_persists_owner_only_and_wins_over_env(tmp_path: Path) -> None:
    folder = tmp_path / "tokens"
    environ = {"CM_X_ACCESS_TOKEN": "tok-env"}
    creds = ChannelCredentials("x-mooc", X_FILE, store=FileTokenStore(folder), environ=environ)
    creds.update({"access_token": "tok-refreshed", "expires_at": "2027-01-01T00:00:00+00:00"})
    path = folder / "x-mooc.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [p.name for p in folder.iterdir()] == ["x-mooc.json"]  # no temp file left
    # a new process reads the stored token first
    again = ChannelCredentials("x-mooc", X_FILE, store=FileTokenStore(folder), environ=environ)
    assert again.get("access_token") == "tok-refreshed"
    assert again.get("expires_at") == "2027-01-01T00:00:00+00:00"
    assert again.status("access_token").source == "token store"
    assert "tok-env" not in path.read_text()  # only a fingerprint of what it superseded


def test_a_new_env_value_set_by_the_user_beats_an_older_stored_token(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    ChannelCredentials(
        "x-mooc", X_FILE, store=store, environ={"CM_X_ACCESS_TOKEN": "old"}
    ).update({"access_token": "refreshed"})
    same = ChannelCredentials("x-mooc", X_FILE, store=store, environ={"CM_X_ACCESS_TOKEN": "old"})
    newer = ChannelCredentials("x-mooc", X_FILE, store=store, environ={"CM_X_ACCESS_TOKEN": "new"})
    assert same.get("access_token") == "refreshed"
    assert newer.get("access_token") == "new"


def test_fallback_env_answers_for_unset_variables() -> None:
    creds = ChannelCredentials(
        "x-mooc",
        X_FILE,
        store=MemoryTokenStore(),
        environ={"CM_X_CLIENT_ID": "from-env"},
        fallback_env={"CM_X_CLIENT_ID": "sb-id", "CM_X_ACCESS_TOKEN": "sb-token"},
    )
    assert creds.get("client_id") == "from-env"
    assert creds.get("access_token") == "sb-token"
    assert creds.status("access_token").source == "sandbox env CM_X_ACCESS_TOKEN"
    assert not creds.status("refresh_token").present


def test_repr_and_errors_never_show_values(tmp_path: Path) -> None:
    creds = ChannelCredentials(
        "x-mooc", X_FILE, store=FileTokenStore(tmp_path),
        environ={"CM_X_ACCESS_TOKEN": "s3cr3t-value"},
    )
    creds.update({"refresh_token": "an0ther-s3cr3t"})
    shown = repr(creds) + repr(creds.status("access_token")) + repr(creds.store)
    assert "s3cr3t" not in shown
    assert "access_token" in repr(creds)


def test_unreadable_token_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x-mooc.json").write_text("{not json")
    creds = ChannelCredentials("x-mooc", X_FILE, store=FileTokenStore(tmp_path), environ={})
    with pytest.raises(UsageError, match="cannot be read") as caught:
        creds.find("access_token")
    assert "cm auth x-mooc" in caught.value.fix


def test_channel_ids_cannot_escape_the_token_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        FileTokenStore(tmp_path).path("../evil")


def _file_keyring(tmp_path: Path) -> object:
    alt_file = pytest.importorskip(
        "keyrings.alt.file", reason="keyrings.alt (test dependency) is not installed"
    )
    backend = alt_file.PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    return backend


def test_keyring_secret_is_read_and_refreshed_in_the_keyring(tmp_path: Path) -> None:
    backend = _file_keyring(tmp_path)
    backend.set_password("cm-toolkit", "linkedin-page", "kr-initial")  # type: ignore[attr-defined]
    channel_file = ChannelFile(
        network="linkedin",
        secrets={
            "access_token": SecretRef(keyring="cm-toolkit/linkedin-page"),
            "client_secret": SecretRef(keyring="cm-linkedin"),
        },
    )
    store = FileTokenStore(tmp_path / "tokens")
    creds = ChannelCredentials(
        "linkedin-page", channel_file, store=store, environ={}, keyring=backend  # type: ignore[arg-type]
    )
    assert creds.get("access_token") == "kr-initial"
    assert creds.status("access_token").source == "keyring cm-toolkit/linkedin-page"
    with pytest.raises(AuthExpired, match="keyring entry cm-linkedin/client_secret"):
        creds.get("client_secret")
    creds.update({"access_token": "kr-refreshed"})
    assert backend.get_password("cm-toolkit", "linkedin-page") == "kr-refreshed"  # type: ignore[attr-defined]
    assert not (tmp_path / "tokens").exists()  # nothing written to the file store
