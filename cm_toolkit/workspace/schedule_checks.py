"""Cross-reference checks of ``schedules.yaml``: ids, channels, templates, sessions, media.

They run on the raw data (see ``schedule_view``), against what the rest of the workspace offers
(``References``), and return every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cm_toolkit.errors import Problem, Severity
from cm_toolkit.workspace import schedule_view as view
from cm_toolkit.workspace.networks import (
    known_networks,
    live_title_problems,
    network_capabilities,
)
from cm_toolkit.workspace.paths import WorkspacePaths
from cm_toolkit.workspace.suggestions import did_you_mean, one_of
from cm_toolkit.workspace.template_names import builtin_templates
from cm_toolkit.workspace.yaml_source import YamlDocument

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class References:
    """What ``schedules.yaml`` may refer to."""

    root: Path
    channels: Mapping[str, str | None]  # channel id -> network ("x"...), None if its file is broken
    templates: frozenset[str]
    paths: WorkspacePaths | None = None  # default: the root alone

    def examples(self) -> dict[str, str]:
        """Examples for the fixes of schedules.yaml in this workspace's own names (a missing
        `template:` is never told to be `teaser` in a workspace without one)."""
        found: dict[str, str] = {}
        own = sorted(self.templates - frozenset(builtin_templates()),
                     key=lambda name: ("/" in name, name))  # top-level ones first
        posts = [name for name in own if not name.rsplit("/", 1)[-1].startswith("_")]
        if posts:  # not a partial (`_macros`), which is included, not posted
            found["template"] = posts[0]
        ids = sorted(self.channels)
        if ids:
            found["channels"] = f"[{', '.join(ids[:2])}]"
        hosts = [i for i in ids if "live" in network_capabilities(self.channels[i] or "")]
        if hosts:
            found["hosted_on"] = f"[{hosts[0]}]"
        return found


def problem(
    document: YamlDocument,
    path: view.Path_,
    message: str,
    fix: str,
    *,
    key: bool = False,
    severity: Severity = Severity.ERROR,
) -> Problem:
    line, column = document.position(path, key=key)
    return Problem(document.file, line, column, message, fix, severity)


def check_references(document: YamlDocument, refs: References) -> list[Problem]:
    """Every id, channel, template, session and media problem of the schedule."""
    data = document.data
    problems: list[Problem] = []
    problems += _check_ids(document, "campaign", view.campaigns(data))
    problems += _check_ids(document, "post", view.posts(data))
    problems += _check_ids(document, "live session", view.sessions(data))
    session_ids = {s.text("id") for s in view.sessions(data)} - {None}
    for post in view.posts(data):
        problems += _check_post(document, post, refs, session_ids)
    for session in view.sessions(data):
        problems += _check_session(document, session, refs)
    problems += _check_allowed_paths(document, refs)
    return problems


def _check_ids(document: YamlDocument, kind: str, parts: Iterator[view.Part]) -> list[Problem]:
    problems = []
    seen: dict[str, view.Part] = {}
    for part in parts:
        ident = part.text("id")
        if ident is None:
            continue
        if not ID_PATTERN.match(ident):
            example = re.sub(r"[^A-Za-z0-9_-]+", "-", ident).strip("-_") or "a1"
            problems.append(
                problem(
                    document,
                    (*part.path, "id"),
                    f"{part.label}: the id may only hold letters, digits, - and _",
                    f"for example `id: {example}`",
                )
            )
        if ident in seen:
            first_line, _ = document.position((*seen[ident].path, "id"))
            problems.append(
                problem(
                    document,
                    (*part.path, "id"),
                    f'{kind} id "{ident}" is used twice (first on line {first_line})',
                    f"give each {kind} its own id",
                )
            )
        else:
            seen[ident] = part
    return problems


def _channel_problem(
    document: YamlDocument, path: view.Path_, label: str, channel: str, refs: References
) -> Problem:
    fix = did_you_mean(
        channel, refs.channels, otherwise=_create_or_use(f"channels/{channel}.yaml", refs.channels)
    )
    return problem(document, path, f"{label}: unknown channel `{channel}`", fix)


def _create_or_use(file: str, existing: Iterable[str]) -> str:
    names = list(existing)
    return f"create {file}" + (f" or use one of {one_of(names)}" if names else "")


def _check_channels(
    document: YamlDocument, part: view.Part, key: str, refs: References
) -> list[Problem]:
    return [
        _channel_problem(document, path, part.label, channel, refs)
        for path, channel in part.texts(key)
        if channel not in refs.channels
    ]


def _check_template(
    document: YamlDocument, part: view.Part, refs: References, label: str | None = None
) -> list[Problem]:
    name = part.text("template")
    if name is None or name in refs.templates:
        return []
    fix = did_you_mean(
        name, refs.templates, otherwise=_create_or_use(f"templates/{name}.j2", refs.templates)
    )
    return [
        problem(
            document,
            (*part.path, "template"),
            f"{label or part.label}: unknown template `{name}`",
            fix,
        )
    ]


def _check_media(
    document: YamlDocument, part: view.Part, key: str, refs: References,
    label: str | None = None,  # default: the part's, made only for a problem
) -> list[Problem]:
    problems = []
    for path, media in part.texts(key):
        if re.match(r"^[a-z][a-z0-9+.-]*://", media, re.IGNORECASE):
            problems.append(
                problem(
                    document,
                    path,
                    f"{label or part.label}: media must be a file of the workspace, not a link",
                    "download it into the workspace (e.g. media/) and write its path",
                )
            )
            continue
        target = refs.root / media
        refused = (refs.paths or WorkspacePaths.of(refs.root)).refusal(target, media)
        if refused is not None:  # never opened, not even looked at
            problems.append(problem(document, path, f"{label or part.label}: media file {refused.message}",
                                    refused.fix))
            continue
        if target.is_file():
            continue
        siblings = [p.relative_to(refs.root).as_posix() for p in _files_near(refs.root, target)]
        fix = did_you_mean(
            media, siblings, otherwise="check the path: it is relative to the workspace folder"
        )
        problems.append(
            problem(document, path, f"{label or part.label}: media file `{media}` does not exist", fix)
        )
    return problems


def _check_allowed_paths(document: YamlDocument, refs: References) -> list[Problem]:
    allowed = document.data.get("allowed_paths") if isinstance(document.data, dict) else None
    if not isinstance(allowed, list):
        return []
    return [
        problem(document, ("allowed_paths", index), f"allowed path `{folder}` is not a folder",
                "create the folder, or remove it from allowed_paths")
        for index, folder in enumerate(allowed)
        if isinstance(folder, str) and not (refs.root / Path(folder).expanduser()).is_dir()
    ]


def _files_near(root: Path, target: Path) -> list[Path]:
    folder = target.parent
    try:
        folder.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return []
    try:
        return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
    except OSError:
        return []


def _check_post(
    document: YamlDocument, post: view.Part, refs: References, session_ids: set[str | None]
) -> list[Problem]:
    problems = _check_channels(document, post, "channels", refs)
    channels = post.data.get("channels")
    if isinstance(channels, list) and not channels:
        problems.append(
            problem(
                document,
                (*post.path, "channels"),
                f"{post.label} has no channels",
                "list at least one channel id, e.g. `channels: [x-mooc]`",
            )
        )
    problems += _check_template(document, post, refs)
    problems += _check_media(document, post, "media", refs)
    session = post.text("session")
    if session is not None and session not in session_ids:
        fix = did_you_mean(
            session,
            [s for s in session_ids if s],
            otherwise="define it under `live_sessions:` of a campaign",
        )
        problems.append(
            problem(
                document,
                (*post.path, "session"),
                f"{post.label}: live session `{session}` is not defined",
                fix,
            )
        )
    overrides = post.data.get("overrides")
    if isinstance(overrides, dict):
        problems += _check_overrides(document, post, overrides, refs)
    return problems


def _check_overrides(
    document: YamlDocument, post: view.Part, overrides: dict[Any, Any], refs: References
) -> list[Problem]:
    problems = []
    post_channels = {c for _, c in post.texts("channels")}
    post_networks = {refs.channels.get(c) for c in post_channels} - {None}
    for target, override in overrides.items():
        path = (*post.path, "overrides", target)
        label = f"override `{target}` of {post.label}"
        if target in known_networks():
            if target not in post_networks and post_networks:
                problems.append(
                    problem(
                        document,
                        path,
                        f"{label} has no effect: no channel of the post is on {target}",
                        "remove it or add a channel of that network",
                        key=True,
                        severity=Severity.WARNING,
                    )
                )
        elif target not in refs.channels:
            fix = did_you_mean(
                str(target),
                [*refs.channels, *known_networks()],
                otherwise="use a channel id or a network name",
            )
            problems.append(
                problem(
                    document,
                    path,
                    f"{post.label}: unknown channel `{target}` in overrides",
                    fix,
                    key=True,
                )
            )
        elif target not in post_channels:
            problems.append(
                problem(
                    document,
                    path,
                    f"{label} has no effect: `{target}` is not in the post's channels",
                    f"add `{target}` to `channels:` or remove the override",
                    key=True,
                    severity=Severity.WARNING,
                )
            )
        if isinstance(override, dict):
            part = view.Part(path, override, label)
            problems += _check_template(document, part, refs)
            problems += _check_media(document, part, "media", refs, label)
    return problems


def _live_networks() -> str:
    """The networks that can host a live session (``Capability.LIVE``), as a fix says them."""
    return " or ".join(n for n in known_networks() if "live" in network_capabilities(n))


def _live_example(refs: References) -> str:
    """A channel of the workspace that can host a live session, else a live network's name."""
    hosts = refs.examples().get("hosted_on", "")
    if hosts:
        return hosts.strip("[]")
    return next((n for n in known_networks() if "live" in network_capabilities(n)), "")


def _check_session(document: YamlDocument, session: view.Part, refs: References) -> list[Problem]:
    problems = _check_channels(document, session, "hosted_on", refs)
    problems += _check_channels(document, session, "announce_on", refs)
    hosts = session.texts("hosted_on")
    if isinstance(session.data.get("hosted_on"), list) and not hosts:
        problems.append(
            problem(
                document,
                (*session.path, "hosted_on"),
                f"{session.label} is hosted nowhere",
                f"list a {_live_networks()} channel, e.g. `hosted_on: [{_live_example(refs)}]`",
            )
        )
    for path, channel in hosts:
        network = refs.channels.get(channel)
        if network is not None and "live" not in network_capabilities(network):
            problems.append(
                problem(
                    document,
                    path,
                    f"{session.label}: channel `{channel}` is on {network}, which cannot host "
                    "a live session",
                    f"host it on a {_live_networks()} channel (announce on the others)",
                )
            )
    title = session.text("title")
    host_networks = sorted({n for _, c in hosts if (n := refs.channels.get(c)) is not None})
    refused = dict.fromkeys(  # each message once
        message for network in host_networks for message in live_title_problems(network, title)
    ) if title is not None else {}
    for message in refused:
        problems.append(
            problem(
                document,
                (*session.path, "title"),
                f"{session.label}: {message}",
                "shorten the title; remove < and >",
            )
        )
    has_default = bool(session.texts("announce_on"))
    for step in view.announcements(session):
        problems += _check_template(document, step, refs)
        problems += _check_channels(document, step, "channels", refs)
        if not has_default and not step.texts("channels") and "channels" not in step.data:
            problems.append(
                problem(
                    document,
                    step.path,
                    f"{step.label} has no channels",
                    "add `announce_on: [...]` to the session or `channels: [...]` to the step",
                )
            )
    return problems
