"""A channel's secrets, read from where its channel file says, refreshed tokens kept outside it.

Lookup order for a secret ``name`` of channel ``CHANNEL``:

1. the token store: tokens obtained by ``cm auth CHANNEL`` or refreshed by an adapter, kept in
   ``$CM_TOKEN_DIR/CHANNEL.json`` (default ``~/.config/cm-toolkit/tokens/``), file mode 0600 in a
   0700 folder; for a secret the channel file puts in the keyring, the keyring entry itself is
   the store;
2. the environment variable the channel file names (``{env: NAME}``), or its keyring entry
   (``{keyring: service/username}``; ``{keyring: service}`` uses the secret's name as username).

A stored value remembers a fingerprint of the environment value it superseded: when the user
later sets a *different* value in the environment, that newer value wins over the stored one.

Secret values are never printed: ``repr`` shows names only, errors name the variable to set.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from cm_toolkit.errors import AuthExpired, UsageError
from cm_toolkit.workspace.models import ChannelFile, SecretRef

_CHANNEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def default_token_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$CM_TOKEN_DIR``, else ``$XDG_CONFIG_HOME/cm-toolkit/tokens``, else ``~/.config/...``."""
    env = os.environ if environ is None else environ
    if env.get("CM_TOKEN_DIR"):
        return Path(env["CM_TOKEN_DIR"]).expanduser()
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return config / "cm-toolkit" / "tokens"


def fingerprint(value: str) -> str:
    """A short one-way digest: tells whether an environment value changed, reveals nothing."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


@dataclass
class StoredTokens:
    values: dict[str, str]
    superseded: dict[str, str]  # secret name -> fingerprint of the env value it replaced
    updated_at: str | None = None


class TokenStore(Protocol):
    """Where refreshed / ``cm auth`` tokens of each channel are kept."""

    def load(self, channel_id: str) -> StoredTokens: ...

    def save(self, channel_id: str, tokens: StoredTokens) -> None: ...


class MemoryTokenStore:
    """Tokens kept for the life of the process (tests, ``--sandbox`` checks)."""

    def __init__(self) -> None:
        self._tokens: dict[str, StoredTokens] = {}

    def __repr__(self) -> str:
        return f"<MemoryTokenStore {sorted(self._tokens)}>"

    def load(self, channel_id: str) -> StoredTokens:
        found = self._tokens.get(channel_id)
        return StoredTokens(dict(found.values), dict(found.superseded)) if found else (
            StoredTokens({}, {})
        )

    def save(self, channel_id: str, tokens: StoredTokens) -> None:
        self._tokens[channel_id] = StoredTokens(dict(tokens.values), dict(tokens.superseded))


class FileTokenStore:
    """One JSON file per channel, owner-only (0600 in a 0700 folder), written atomically."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_token_dir()

    def __repr__(self) -> str:
        return f"<FileTokenStore {self.directory}>"

    def path(self, channel_id: str) -> Path:
        if not _CHANNEL_ID.match(channel_id):
            raise UsageError(f"{channel_id!r} is not a channel id", fix="use a channels/ file name")
        return self.directory / f"{channel_id}.json"

    def load(self, channel_id: str) -> StoredTokens:
        path = self.path(channel_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return StoredTokens({}, {})
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"the token file {path} cannot be read ({type(exc).__name__})",
                fix=f"delete it and run `cm auth {channel_id}` again",
            ) from None
        values = {str(k): str(v) for k, v in (data.get("values") or {}).items()}
        superseded = {str(k): str(v) for k, v in (data.get("superseded") or {}).items()}
        return StoredTokens(values, superseded, data.get("updated_at"))

    def save(self, channel_id: str, tokens: StoredTokens) -> None:
        path = self.path(channel_id)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # mkdir's mode is masked by umask; exist_ok skips it
        payload = {
            "channel": channel_id,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "values": tokens.values,
            "superseded": tokens.superseded,
        }
        # mkstemp creates the file 0600 from the start: the secret is never world-readable
        handle, temp = tempfile.mkstemp(prefix=f".{channel_id}.", dir=self.directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(payload, out, indent=2)
            os.chmod(temp, 0o600)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


class KeyringBackend(Protocol):
    """What is used of the ``keyring`` module (or one of its backends)."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...


def keyring_entry(ref: SecretRef, name: str) -> tuple[str, str]:
    """(service, username) of a ``{keyring: ...}`` reference."""
    assert ref.keyring is not None
    service, _, username = ref.keyring.partition("/")
    return service, username or name


@dataclass(frozen=True)
class SecretStatus:
    """Where a secret comes from, for ``cm channels`` (never its value)."""

    name: str
    source: str  # "token store", "env CM_X_ACCESS_TOKEN", "keyring svc/user", "sandbox env ..."
    present: bool


class ChannelCredentials:
    """The ``Credentials`` of one channel file (see the module docstring for the order)."""

    def __init__(
        self,
        channel_id: str,
        channel_file: ChannelFile,
        *,
        store: TokenStore | None = None,
        environ: Mapping[str, str] | None = None,
        keyring: KeyringBackend | None = None,
        fallback_env: Mapping[str, str] | None = None,
        fallback_label: str = "sandbox",
    ) -> None:
        """``fallback_env`` answers for variables unset in ``environ`` (``--sandbox``'s env)."""
        self.channel_id = channel_id
        self.channel_file = channel_file
        self.store: TokenStore = store if store is not None else FileTokenStore()
        self._environ = os.environ if environ is None else environ
        self._fallback = fallback_env or {}
        self._fallback_label = fallback_label
        self._keyring = keyring

    def __repr__(self) -> str:
        return f"<ChannelCredentials {self.channel_id}: {sorted(self.channel_file.secrets)}>"

    @property
    def network(self) -> str:
        return self.channel_file.network

    def _keyring_backend(self) -> KeyringBackend:
        if self._keyring is None:
            import keyring  # imported when a channel file asks for it: it probes backends

            self._keyring = keyring
        return self._keyring

    def _env_value(self, variable: str) -> tuple[str | None, str]:
        value = self._environ.get(variable)
        if value:
            return value, f"env {variable}"
        value = self._fallback.get(variable)
        if value:
            return value, f"{self._fallback_label} env {variable}"
        return None, f"env {variable}"

    def _lookup(self, name: str) -> tuple[str | None, str]:
        ref = self.channel_file.secrets.get(name)
        if ref is not None and ref.keyring:
            service, username = keyring_entry(ref, name)
            return self._keyring_backend().get_password(service, username), (
                f"keyring {service}/{username}"
            )
        stored = self.store.load(self.channel_id)
        env_value, env_source = self._env_value(ref.env) if ref and ref.env else (None, "")
        value = stored.values.get(name)
        if value:
            replaced = stored.superseded.get(name)
            # the user set a new value since the store's one was saved: theirs is newer
            if env_value and replaced is not None and replaced != fingerprint(env_value):
                return env_value, env_source
            return value, "token store"
        return env_value, env_source or "not named in the channel file"

    def find(self, name: str) -> str | None:
        return self._lookup(name)[0] or None

    def get(self, name: str) -> str:
        value = self.find(name)
        if value:
            return value
        ref = self.channel_file.secrets.get(name)
        if ref is not None and ref.env:
            where = f"set {ref.env}"
        elif ref is not None and ref.keyring:
            where = "store it in the keyring entry {}/{}".format(*keyring_entry(ref, name))
        else:
            where = f"name it under secrets: in channels/{self.channel_id}.yaml"
        raise AuthExpired(
            f"channel {self.channel_id}: secret {name!r} is not available",
            network=self.network,
            fix=f"{where} or run `cm auth {self.channel_id}`",
        )

    def status(self, name: str) -> SecretStatus:
        value, source = self._lookup(name)
        return SecretStatus(name, source, bool(value))

    def update(self, values: Mapping[str, str]) -> None:
        """Persist refreshed secrets: keyring entries in the keyring, the rest in the store."""
        stored = self.store.load(self.channel_id)
        changed = False
        for name, value in values.items():
            ref = self.channel_file.secrets.get(name)
            if ref is not None and ref.keyring:
                self._keyring_backend().set_password(*keyring_entry(ref, name), value)
                continue
            stored.values[name] = value
            env_value = self._env_value(ref.env)[0] if ref and ref.env else None
            if env_value:
                stored.superseded[name] = fingerprint(env_value)
            else:
                stored.superseded.pop(name, None)
            changed = True
        if changed:
            self.store.save(self.channel_id, stored)

