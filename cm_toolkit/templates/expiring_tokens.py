"""Channels whose access token will expire with nothing to renew it: a plan-level warning.

A LinkedIn access token lasts 60 days (API_FACTS.md); the adapter renews it by itself with a
refresh token and the app's client id and secret (``token_refresh`` on the adapter class). A
channel the plan publishes to whose file names none of these would stop publishing on the day
the token expires, and every delivery after it would fail until ``cm auth`` is run again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo

from cm_toolkit.errors import CmError, Problem, Severity
from cm_toolkit.workspace.models import Workspace


def expiring_tokens(
    workspace: Workspace, last_due: dict[str, datetime], zone: tzinfo
) -> list[Problem]:
    """A warning per channel with deliveries (``last_due``: channel id -> its last one) whose
    adapter's token expires and whose file lacks a secret that renews it."""
    from cm_toolkit.channels.registry import channel_class  # imports adapters: only here

    problems = []
    for channel_id, last in sorted(last_due.items()):
        channel = workspace.channels.get(channel_id)
        if channel is None:
            continue
        try:
            cls = channel_class(_network_name(channel.network))
        except CmError:
            continue  # an adapter that cannot be loaded is reported elsewhere
        refresh = getattr(cls, "token_refresh", None)
        if refresh is None:
            continue
        missing = [name for name in refresh.secrets if name not in channel.secrets]
        if not missing:
            continue
        file, line = _secrets_line(workspace, channel_id)
        problems.append(Problem(
            file, line, None,
            f"{cls.display_name} access tokens expire after {refresh.lifetime} and "
            f"{channel_id} names no {_listed(missing)} to renew its own: publishing stops on "
            f"the day it expires (its last delivery is planned on "
            f"{last.astimezone(zone):%Y-%m-%d})",
            f"add {_listed(missing)} under `secrets:` (docs/channels/); without them, run "
            f"`cm auth {channel_id}` again every {refresh.lifetime}",
            Severity.WARNING,
        ))
    return problems


def _network_name(network: object) -> str:
    """The network's name, whether ``Network`` is an enum or a plain string."""
    return str(getattr(network, "value", network))


def _listed(names: Iterable[str]) -> str:
    shown = [f"`{name}`" for name in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _secrets_line(workspace: Workspace, channel_id: str) -> tuple[str, int | None]:
    """The channel file and the line of its ``secrets:`` key (None when it has none)."""
    for suffix in (".yaml", ".yml"):
        path = workspace.root / "channels" / f"{channel_id}{suffix}"
        if path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeError):
                return f"channels/{path.name}", None
            line = next((n for n, text in enumerate(lines, 1) if text.startswith("secrets:")),
                        None)
            return f"channels/{path.name}", line
    return f"channels/{channel_id}.yaml", None
