"""Checking one channel file (``channels/<id>.yaml``).

Besides the ``ChannelFile`` model, the network's adapter checks ``account`` and ``options``
through its settings model, found with ``settings_model_for(network)`` of
``cm_toolkit.channels.registry`` (when that module exists; the lookup is a collaborator so
callers and tests may pass their own).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace.model_problems import problems_from_validation
from cm_toolkit.workspace.models import ID_MAX_LENGTH, ChannelFile
from cm_toolkit.workspace.networks import known_networks, network_aliases
from cm_toolkit.workspace.schedule_checks import ID_PATTERN
from cm_toolkit.workspace.secret_scan import find_pasted_secrets, hide_secrets
from cm_toolkit.workspace.suggestions import did_you_mean, one_of
from cm_toolkit.workspace.yaml_source import PathElement, YamlDocument

SettingsLookup = Callable[[str], "type[BaseModel] | None"]
"""Returns the adapter settings model of a network (by its name), or None."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def registry_lookup() -> SettingsLookup | None:
    """``settings_model_for`` of the channel registry, or None while there is no registry."""
    try:
        registry = importlib.import_module("cm_toolkit.channels.registry")
    except ModuleNotFoundError as exc:
        if exc.name != "cm_toolkit.channels.registry":
            raise
        return None
    lookup = getattr(registry, "settings_model_for", None)
    return lookup if callable(lookup) else None


def describe_channel(data: Any, path: Sequence[PathElement]) -> tuple[str, int]:
    if len(path) >= 2 and path[0] == "secrets":
        return f"secret `{path[1]}`", 2
    return "", 0


def check_channel_file(
    document: YamlDocument, channel_id: str, settings_lookup: SettingsLookup | None
) -> tuple[ChannelFile | None, str | None, list[Problem]]:
    """The validated channel (or None), its network name when readable, and its problems."""
    data = document.data
    if not isinstance(data, dict):
        return (
            None,
            None,
            [
                Problem(
                    document.file,
                    1,
                    1,
                    "a channel file must be a mapping of `key: value` lines",
                    f"start with `network: NAME`, NAME one of {one_of(known_networks())}",
                )
            ],
        )
    problems: list[Problem] = []
    if len(channel_id) > ID_MAX_LENGTH:
        problems.append(Problem(
            document.file, None, None,
            f"the file name gives a channel id of {len(channel_id)} characters, more than the "
            f"{ID_MAX_LENGTH} the ledger keeps",
            "rename the file, e.g. channels/facebook-page.yaml",
        ))
    elif not ID_PATTERN.match(channel_id):
        problems.append(
            Problem(
                document.file,
                None,
                None,
                f"the file name gives the channel id `{channel_id}`, which may only hold letters, "
                "digits, - and _",
                "rename the file, e.g. channels/facebook-page.yaml",
            )
        )
    secret_problems, flagged = find_pasted_secrets(document, channel_file=True)
    problems += secret_problems
    skip: set[tuple[PathElement, ...]] = set(flagged)

    network = data.get("network")
    names = known_networks()
    network_name = network if isinstance(network, str) and network in names else None
    if isinstance(network, str) and network_name is None:
        skip.add(("network",))
        alias = network_aliases().get(network.lower().strip())  # the adapters' `aliases`
        fix = (
            f"write `network: {alias}`"
            if alias
            else did_you_mean(
                network, names, otherwise=f"use one of {one_of(names)}"
            )
        )
        line, column = document.position(("network",))
        problems.append(Problem(document.file, line, column, f"unknown network `{network}`", fix))

    channel: ChannelFile | None = None
    try:
        channel = ChannelFile.model_validate(data)
    except ValidationError as error:
        problems += problems_from_validation(
            error, document, ChannelFile, describe_channel, skip=skip
        )
    problems += _check_secret_refs(document, data, skip)
    if network_name is not None and settings_lookup is not None:
        problems += _check_settings(document, data, network_name, settings_lookup, skip)
    problems = hide_secrets(problems, document, flagged)
    has_errors = any(p.severity is Severity.ERROR for p in problems)
    return (None if has_errors else channel), network_name, problems


def _check_secret_refs(
    document: YamlDocument, data: dict[str, Any], skip: set[tuple[PathElement, ...]]
) -> list[Problem]:
    secrets = data.get("secrets")
    if not isinstance(secrets, dict):
        return []
    problems = []
    for name, ref in secrets.items():
        if ("secrets", name) in skip or not isinstance(ref, dict):
            continue
        line, column = document.position(("secrets", name))
        sources = [key for key in ("env", "keyring") if ref.get(key) is not None]
        if len(sources) != 1:
            what = (
                "names both `env` and `keyring`" if sources else "says neither `env` nor `keyring`"
            )
            problems.append(
                Problem(
                    document.file,
                    line,
                    column,
                    f"secret `{name}` {what}",
                    f"write exactly one, e.g. `{name}: {{env: CM_{str(name).upper()}}}`",
                )
            )
            continue
        env = ref.get("env")
        if isinstance(env, str) and not _ENV_NAME.match(env):
            line, column = document.position(("secrets", name, "env"))
            problems.append(
                Problem(
                    document.file,
                    line,
                    column,
                    f"secret `{name}`: `env` must be the name of an environment variable",
                    f"use letters, digits and _, e.g. `env: CM_{str(name).upper()}`",
                )
            )
    return problems


def _check_settings(
    document: YamlDocument,
    data: dict[str, Any],
    network: str,
    settings_lookup: SettingsLookup,
    skip: set[tuple[PathElement, ...]],
) -> list[Problem]:
    """The adapter's settings model validates ``account`` and ``options`` together.

    The data is built as ``channels.registry.settings_data`` builds it (options win over account;
    ``notify`` and ``tasks_dir`` are given when the model declares them).
    """
    model = settings_lookup(network)
    if model is None:
        return []
    raw_account, raw_options = data.get("account", {}), data.get("options", {})
    if not isinstance(raw_account, dict) or not isinstance(raw_options, dict):
        return []  # already reported: they must be mappings
    account: dict[Any, Any] = raw_account
    options: dict[Any, Any] = raw_options

    def relocate(loc: tuple[PathElement, ...]) -> tuple[PathElement, ...]:
        if loc and loc[0] in options:
            return ("options", *loc)
        if loc and loc[0] == "notify" and "notify" not in account:
            return loc
        return ("account", *loc)

    settings: dict[Any, Any] = {**account, **options}
    if "notify" in model.model_fields and data.get("notify") is not None:
        settings.setdefault("notify", data["notify"])
    if "tasks_dir" in model.model_fields:
        settings.setdefault("tasks_dir", ".cm/tasks")  # the registry puts it in the workspace
    try:
        model.model_validate(settings)
    except ValidationError as error:
        return problems_from_validation(
            error, document, model, describe_channel, skip=skip, relocate=relocate
        )
    return []
