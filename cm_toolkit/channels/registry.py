"""Where channel adapters are found: built-ins in a dict, third-party ones through entry points.

A third-party package adds a network by declaring, in its ``pyproject.toml``::

    [project.entry-points."cm_toolkit.channels"]
    chirp = "cm_chirp.channel:ChirpChannel"

(``tests/plugin_example`` is that package.) The class must subclass
``cm_toolkit.channels.base.Channel``. A built-in name cannot be replaced by an entry point (a
typo in another package must not silently take over a built-in network).

Adapters are imported only when asked for, so listing the networks or loading a workspace never
imports an SDK it does not need; an adapter whose module is missing is reported, not fatal.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cm_toolkit.channels.base import Capability, Channel, Credentials, Limits, Transport
from cm_toolkit.errors import UnknownChannel
from cm_toolkit.workspace.models import ChannelFile
from cm_toolkit.workspace.suggestions import did_you_mean, one_of

ENTRY_POINT_GROUP = "cm_toolkit.channels"

BUILTIN_CHANNELS: dict[str, str] = {
    "x": "cm_toolkit.channels.x:XChannel",
    "facebook": "cm_toolkit.channels.facebook:FacebookChannel",
    "linkedin": "cm_toolkit.channels.linkedin:LinkedInChannel",
    "youtube": "cm_toolkit.channels.youtube:YouTubeChannel",
    "meet": "cm_toolkit.channels.meet:MeetChannel",
    "manual": "cm_toolkit.channels.manual:ManualChannel",
    "mastodon": "cm_toolkit.channels.mastodon:MastodonChannel",
    "bluesky": "cm_toolkit.channels.bluesky:BlueskyChannel",
}


@dataclass(frozen=True)
class NetworkInfo:
    """One network as the registry and the dashboard list it (class data only)."""

    network: str
    target: str  # "module:Class"
    source: str  # "built-in" or the distribution that declared the entry point
    display_name: str | None = None
    capabilities: frozenset[Capability] = frozenset()
    limits: Limits | None = None
    secret_names: tuple[str, ...] = ()
    emulators: tuple[str, ...] = ()
    problem: str | None = None  # why the adapter could not be imported

    @property
    def available(self) -> bool:
        return self.problem is None


def registered() -> dict[str, tuple[str, str]]:
    """network -> ("module:Class", source) for built-ins and installed entry points."""
    found: dict[str, tuple[str, str]] = {
        name: (target, "built-in") for name, target in BUILTIN_CHANNELS.items()
    }
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name in found:  # built-ins win: see the module docstring
            continue
        dist = point.dist.name if point.dist is not None else "entry point"
        found[point.name] = (point.value, dist)
    return found


def _load(network: str, target: str) -> type[Channel]:
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownChannel(
            f"the adapter of network {network!r} cannot be imported ({exc.name} is missing)",
            fix="install the package that provides it (pip install ...)",
        ) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise UnknownChannel(
            f"{target} (network {network!r}) is not a Channel subclass",
            fix=f"fix the {ENTRY_POINT_GROUP!r} entry point of the package that declares it",
        )
    return cls


def channel_class(network: str) -> type[Channel]:
    """The adapter class of a network; ``UnknownChannel`` (with "did you mean") otherwise."""
    known = registered()
    if network not in known:
        raise UnknownChannel(
            f"no channel adapter for network {network!r}",
            fix=did_you_mean(network, known, otherwise=f"known networks: {one_of(known)}"),
        )
    return _load(network, known[network][0])


def settings_model_for(network: str) -> type[BaseModel] | None:
    """The settings model checking a channel file's ``account``/``options``.

    ``None`` when the network is registered but its adapter cannot be imported (a module not
    installed): the workspace loader then skips that check instead of failing the whole load.
    Unknown networks raise ``UnknownChannel``.
    """
    known = registered()
    if network not in known:
        channel_class(network)  # raises with the suggestion
    try:
        return _load(network, known[network][0]).settings_model
    except UnknownChannel:
        return None


def settings_data(channel_file: ChannelFile, workspace_root: Path | None = None) -> dict[str, Any]:
    """The settings of a channel file: ``account`` and ``options`` merged (options win).

    A settings model that declares ``notify`` receives the file's ``notify``; one that declares
    ``tasks_dir`` gets ``<workspace>/.cm/tasks`` unless the file sets it (manual channels).
    """
    network = channel_file.network
    model = settings_model_for(network)
    fields: Mapping[str, Any] = model.model_fields if model is not None else {}
    data: dict[str, Any] = {**channel_file.account, **channel_file.options}
    if "notify" in fields and channel_file.notify is not None:
        data.setdefault("notify", channel_file.notify)
    if "tasks_dir" in fields and workspace_root is not None:
        tasks = Path(data.get("tasks_dir") or ".cm/tasks")
        data["tasks_dir"] = tasks if tasks.is_absolute() else workspace_root / tasks
    return data


def build_channel(
    channel_id: str,
    channel_file: ChannelFile,
    credentials: Credentials,
    transport: Transport | None = None,
    *,
    workspace_root: Path | None = None,
) -> Channel:
    """An adapter for one channel file. Settings errors are the loader's job: a file that
    reaches here has passed ``settings_model_for(network)``, so pydantic errors are bugs."""
    cls = channel_class(channel_file.network)
    settings = cls.settings_model.model_validate(settings_data(channel_file, workspace_root))
    return cls(channel_id, settings, credentials, transport)


def list_networks() -> list[NetworkInfo]:
    """Every registered network with its class data; unimportable ones carry ``problem``."""
    infos = []
    for network, (target, source) in sorted(registered().items()):
        try:
            cls = _load(network, target)
        except UnknownChannel as exc:
            infos.append(NetworkInfo(network, target, source, problem=exc.message))
            continue
        infos.append(
            NetworkInfo(
                network,
                target,
                source,
                display_name=getattr(cls, "display_name", None),
                capabilities=getattr(cls, "capabilities", frozenset()),
                limits=getattr(cls, "limits", None),
                secret_names=getattr(cls, "secret_names", ()),
                emulators=tuple(getattr(cls, "emulators", ())),
            )
        )
    return infos
