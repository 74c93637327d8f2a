"""Loading and validating a workspace: ``schedules.yaml``, ``channels/*.yaml``, ``templates/``.

``load_workspace(root)`` is what the rest of cm-toolkit calls: it returns the typed ``Workspace``
and its warnings, or raises ``WorkspaceError`` listing every problem at once (each with
``file:line:column``, what is wrong and how to fix it). ``read_workspace`` does the same work
without raising, for ``cm check``.

Order of the checks, each independent of the others so that one mistake hides nothing:
YAML syntax, pasted secrets, the models (types, unknown keys, missing fields), then cross
references (ids, channels, templates, sessions, media) and time rules on the raw data.
Datetimes written without offset come back aware, in the workspace time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from cm_toolkit.cores import processes, run_beside
from cm_toolkit.errors import Problem, Severity, UsageError, WorkspaceError
from cm_toolkit.workspace import schedule_view as view
from cm_toolkit.workspace.channel_checks import (
    SettingsLookup,
    check_channel_file,
    registry_lookup,
)
from cm_toolkit.workspace.misplaced_items import item_lines, misplaced_items
from cm_toolkit.workspace.model_problems import problems_from_validation
from cm_toolkit.workspace.models import ChannelFile, Schedules, Workspace
from cm_toolkit.workspace.paths import OUTSIDE_FIX, WorkspacePaths
from cm_toolkit.workspace.schedule_checks import References, check_references
from cm_toolkit.workspace.secret_scan import find_pasted_secrets, hide_secrets
from cm_toolkit.workspace.template_files import check_template_files
from cm_toolkit.workspace.template_names import builtin_templates, list_templates
from cm_toolkit.workspace.time_rules import check_time_rules, check_timezone
from cm_toolkit.workspace.yaml_source import YamlDocument, read_yaml

SCHEDULES_FILE = "schedules.yaml"
CHANNELS_DIR = "channels"
PER_PROCESS = 5_000  # posts: on fewer, a second process costs more than it saves (``cores``)
USE_REGISTRY: Any = object()  # default of settings_lookup: the channel registry


@dataclass
class LoadResult:
    """What ``read_workspace`` found. ``workspace`` is None when there is any error."""

    root: Path
    workspace: Workspace | None
    problems: list[Problem]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]


def load_workspace(
    root: Path,
    *,
    now: datetime | None = None,
    settings_lookup: SettingsLookup | None = USE_REGISTRY,
) -> tuple[Workspace, list[Problem]]:
    """The validated workspace and its warnings; raises ``WorkspaceError`` on any error.

    ``now`` (aware) enables the warnings about times already past; without it they are skipped.
    ``settings_lookup`` finds each network's adapter settings model (default: the channel
    registry, when installed; None skips that check). Raises ``UsageError`` when ``root`` is not
    a workspace folder.
    """
    result = read_workspace(root, now=now, settings_lookup=settings_lookup)
    if result.workspace is None:
        raise WorkspaceError(result.problems)
    return result.workspace, result.warnings


def read_workspace(
    root: Path,
    *,
    now: datetime | None = None,
    settings_lookup: SettingsLookup | None = USE_REGISTRY,
    libyaml: bool = True,
) -> LoadResult:
    """Like ``load_workspace`` but returns every problem instead of raising for them.

    ``libyaml=False`` reads the YAML files with ruamel alone (``yaml_source.read_yaml``)."""
    root = Path(root)
    schedules_path = root / SCHEDULES_FILE
    if not root.is_dir():
        raise UsageError(
            f"workspace folder {root} does not exist",
            fix="pass --workspace DIR or run cm in the workspace folder",
        )
    if not schedules_path.is_file():
        raise UsageError(
            f"{schedules_path} not found: {root} is not a workspace",
            fix="create schedules.yaml there, or pass --workspace DIR",
        )
    lookup = _once_per_network(
        registry_lookup() if settings_lookup is USE_REGISTRY else settings_lookup
    )

    templates = list_templates(root)
    channels, networks, problems = _load_channels(root, lookup, libyaml)
    document, schedule_problems = read_yaml(schedules_path, SCHEDULES_FILE, libyaml=libyaml)
    problems += schedule_problems
    schedules: Schedules | None = None
    counts = {"campaigns": 0, "posts": 0, "live_sessions": 0}
    if document is not None:
        counts = {
            "campaigns": sum(1 for _ in view.campaigns(document.data)),
            "posts": sum(1 for _ in view.posts(document.data)),
            "live_sessions": sum(1 for _ in view.sessions(document.data)),
        }
        known_templates = frozenset(templates) | frozenset(builtin_templates())
        paths = _paths_of(root, document.data)
        refs = References(root=root, channels=networks, templates=known_templates, paths=paths)
        schedules, found = _check_schedules(document, refs, now, counts["posts"])
        problems += found
        problems += _outside_templates(paths)
    counts.update(channels=len(networks), templates=len(templates))
    problems += check_template_files(root)

    problems.sort(key=lambda p: (p.file != SCHEDULES_FILE, p.file, p.line or 0, p.column or 0))
    workspace = None
    if schedules is not None and not any(p.severity is Severity.ERROR for p in problems):
        workspace = Workspace(
            root=root, schedules=schedules, channels=channels, templates=templates
        )
    return LoadResult(root, workspace, problems, counts)


def _paths_of(root: Path, data: Any) -> WorkspacePaths:
    """The workspace's folders, with the ``allowed_paths`` written (even if other keys are
    wrong: the templates are still checked against them)."""
    allowed = data.get("allowed_paths") if isinstance(data, dict) else None
    written = [p for p in allowed if isinstance(p, str)] if isinstance(allowed, list) else []
    return WorkspacePaths.of(root, written)


def _outside_templates(paths: WorkspacePaths) -> list[Problem]:
    """A file (or folder) of templates/ that is a link leading outside the workspace: refused
    here, never read (a template linked to ~/.aws/credentials would publish it)."""
    folder = paths.root / "templates"
    found = []
    for entry, target in paths.outside_entries(folder):
        shown = entry.relative_to(paths.root).as_posix() if entry != folder else "templates"
        found.append(Problem(shown, None, None,
                             f"this is a link to {target}, outside the workspace: it is not read",
                             OUTSIDE_FIX))
    return found


def _once_per_network(lookup: SettingsLookup | None) -> SettingsLookup | None:
    # The registry scans installed entry points on each call: ask once per network and load.
    if lookup is None:
        return None
    found: dict[str, type[BaseModel] | None] = {}

    def cached(network: str) -> type[BaseModel] | None:
        if network not in found:
            found[network] = lookup(network)
        return found[network]

    return cached


def _load_channels(
    root: Path, lookup: SettingsLookup | None, libyaml: bool
) -> tuple[dict[str, ChannelFile], dict[str, str | None], list[Problem]]:
    """Valid channels, every channel id with its network (None if unreadable), problems."""
    folder = root / CHANNELS_DIR
    channels: dict[str, ChannelFile] = {}
    networks: dict[str, str | None] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return channels, networks, problems
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for path in paths:
        channel_id, file = path.stem, f"{CHANNELS_DIR}/{path.name}"
        if channel_id in networks:
            problems.append(
                Problem(
                    file,
                    None,
                    None,
                    f"channel `{channel_id}` is defined by two files",
                    "keep one of the .yaml and .yml files",
                )
            )
            continue
        document, found = read_yaml(path, file, libyaml=libyaml)
        problems += found
        networks[channel_id] = None
        if document is None:
            continue
        channel, network, found = check_channel_file(document, channel_id, lookup)
        problems += found
        networks[channel_id] = network
        if channel is not None:
            channels[channel_id] = channel
    return channels, networks, problems


def _check_schedules(
    document: YamlDocument, refs: References, now: datetime | None, posts: int
) -> tuple[Schedules | None, list[Problem]]:
    if not isinstance(document.data, dict):
        return None, [
            Problem(
                document.file,
                1,
                1,
                "schedules.yaml must be a mapping of `key: value` lines",
                "start with `timezone: Europe/Paris` then `campaigns:`",
            )
        ]
    zone, zone_problems = check_timezone(document)

    def file_checks() -> tuple[tuple[list[Problem], set[Any]], list[Problem]]:
        return (find_pasted_secrets(document, channel_file=False),
                check_time_rules(document, zone, now))

    def model_checks() -> tuple[Any, ...]:
        misplaced, moved = misplaced_items(document)  # a session under posts: one problem, not 9
        try:
            schedules, invalid = Schedules.model_validate(document.data, context=_context(zone)), None
        except ValidationError as error:
            schedules, invalid = None, error
        return misplaced, moved, schedules, invalid, check_references(document, refs)

    # Two halves that need only the parsed file: beside each other on a large plan (``cores``).
    (misplaced, moved, schedules, invalid, references), ((problems, flagged), timing) = run_beside(
        model_checks, file_checks, fork=processes(posts, PER_PROCESS) > 1)
    problems += zone_problems + misplaced
    if invalid is not None:
        problems += problems_from_validation(
            invalid, document, Schedules, view.describe_schedules, skip=[*flagged, *moved],
            examples=refs.examples(),
        )
    noise = item_lines(document, moved)
    problems += [p for p in references + timing if p.file != document.file or p.line not in noise]
    return schedules, hide_secrets(problems, document, flagged)


def _context(zone: tzinfo | None) -> dict[str, Any]:
    return {"timezone": zone} if zone is not None else {}
