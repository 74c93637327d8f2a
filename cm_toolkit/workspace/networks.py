"""The networks this installation knows, asked of the channel registry.

The workspace layer sits below ``channels/`` (adapters import the workspace models), so it
reaches the registry by name, at call time: a network is whatever the registry lists, built-in
or added by a plugin's entry point, never a fixed list in the workspace code.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any


def _registry() -> Any:
    return importlib.import_module("cm_toolkit.channels.registry")


@cache
def known_networks() -> tuple[str, ...]:
    """Every installed network's name, sorted (the entry points are read once a process)."""
    return tuple(sorted(_registry().registered()))


@cache
def network_capabilities(network: str) -> frozenset[str]:
    """The capability names (``"live"``, ``"thread"``...) of a network's adapter; empty when
    the network is unknown or its adapter cannot be imported (the loader reports that)."""
    registry = _registry()
    try:
        cls = registry.channel_class(network)
    except Exception:  # noqa: BLE001 - UnknownChannel, or a plugin that fails to import
        return frozenset()
    return frozenset(capability.value for capability in cls.capabilities)


def live_title_problems(network: str, title: str) -> list[str]:
    """What a live host's adapter would refuse in a session's title (its ``live_problems``:
    YouTube's 100 characters, no < or >); empty for an unknown or unimportable network."""
    try:
        cls = _registry().channel_class(network)
    except Exception:  # noqa: BLE001 - UnknownChannel, or a plugin that fails to import
        return []
    return [p.message for p in cls.live_problems(title, "") if p.part.value == "title"]


def _classes() -> dict[str, Any]:
    """network -> adapter class, for every installed network whose adapter imports, in the
    registry's order (the built-ins as listed there, then the plugins')."""
    registry = _registry()
    found: dict[str, Any] = {}
    for network in registry.registered():
        try:
            found[network] = registry.channel_class(network)
        except Exception:  # noqa: BLE001, S112 - a plugin that fails to import: `cm check` says why
            continue
    return found


@cache
def network_aliases() -> dict[str, str]:
    """Names people use for a network (its adapter's ``aliases``, lower case) -> its name."""
    return {
        alias.lower(): network
        for network, cls in _classes().items()
        for alias in getattr(cls, "aliases", ())
    }


def network_classes() -> dict[str, Any]:
    """network -> adapter class of every installed network whose adapter imports (its facts:
    ``starter``, ``capabilities``, ``secret_names``...)."""
    return _classes()
