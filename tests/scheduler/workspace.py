"""Write small workspaces for the scheduler tests (and the crash test's few hundred posts).

A workspace here is what a user would have: ``channels/*.yaml`` copied from the repository's
sample workspace, a few tiny templates, and a ``schedules.yaml`` generated from Python data.
Times are written in UTC (``timezone: UTC``) with an explicit offset, so a test can say
"due at ``START + 1 min``" and mean it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CHANNELS = REPO / "channels"

TEMPLATES: dict[str, str] = {
    # a plain post: its text comes from the post's variables
    "plain.j2": "{{ text }}\n",
    # an announcement: the live session's link, which exists once the broadcast was created
    "announce.j2": "{{ text }} {{ session.link }}\n",
    # a template that cannot render: an undefined variable on line 2
    "broken.j2": "Bonjour\n{{ nobody_defined_this }}\n",
}


def stamp(instant: datetime) -> str:
    """How schedules.yaml says an instant: ISO 8601 with its offset (UTC)."""
    return instant.astimezone(UTC).isoformat(timespec="seconds")


def seconds(delta: timedelta) -> str:
    return f"{int(delta.total_seconds())}s"


def post(
    post_id: str,
    at: datetime,
    channels: Iterable[str],
    *,
    text: str | None = None,
    template: str = "plain",
    **extra: Any,
) -> dict[str, Any]:
    """One post of schedules.yaml; its text is unique by default (``<post id> says hello``)."""
    entry: dict[str, Any] = {
        "id": post_id,
        "template": template,
        "at": stamp(at),
        "channels": list(channels),
        "variables": {"text": text if text is not None else f"{post_id} says hello"},
    }
    for key, value in extra.items():
        entry[key] = seconds(value) if isinstance(value, timedelta) else value
    return entry


def live_session(
    session_id: str,
    start: datetime,
    *,
    hosted_on: Iterable[str] = ("youtube",),
    announce_on: Iterable[str] = ("x-mooc",),
    announce_before: Iterable[timedelta] = (timedelta(hours=1),),
    create_before: timedelta = timedelta(days=1),
) -> dict[str, Any]:
    return {
        "id": session_id,
        "title": f"Live {session_id}: your questions",
        "description": "Questions and answers with the course team.",
        "start": stamp(start),
        "duration": "1h",
        "hosted_on": list(hosted_on),
        "create_before": seconds(create_before),
        "announce_on": list(announce_on),
        "announcements": [
            {"template": "announce", "before": seconds(before),
             "variables": {"text": f"{session_id} in {seconds(before)}"}}
            for before in announce_before
        ],
    }


def write_schedules(
    root: Path,
    posts: Iterable[Mapping[str, Any]] = (),
    *,
    sessions: Iterable[Mapping[str, Any]] = (),
    grace: timedelta = timedelta(hours=1),
    spacing: timedelta = timedelta(0),
) -> Path:
    """(Re)write ``root/schedules.yaml`` with one campaign holding ``posts`` and ``sessions``."""
    data: dict[str, Any] = {
        "version": 1,
        "timezone": "UTC",
        "defaults": {
            "language": "en",
            "grace": seconds(grace),
            "spacing": seconds(spacing),
            "utm": {"enabled": False},
        },
        "campaigns": [{
            "id": "season",
            "name": "Season",
            "posts": [dict(p) for p in posts],
            "live_sessions": [dict(s) for s in sessions],
        }],
    }
    path = root / "schedules.yaml"
    yaml = YAML()
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    return path


def write_workspace(
    root: Path,
    posts: Iterable[Mapping[str, Any]] = (),
    *,
    sessions: Iterable[Mapping[str, Any]] = (),
    grace: timedelta = timedelta(hours=1),
    spacing: timedelta = timedelta(0),
    channels: Iterable[str] | None = None,
) -> Path:
    """A complete workspace in ``root``: channels (copied), templates, schedules.yaml."""
    (root / "channels").mkdir(parents=True, exist_ok=True)
    wanted = set(channels) if channels is not None else None
    for source in sorted(SAMPLE_CHANNELS.glob("*.yaml")):
        if wanted is None or source.stem in wanted:
            shutil.copy(source, root / "channels" / source.name)
    (root / "templates").mkdir(exist_ok=True)
    for name, text in TEMPLATES.items():
        (root / "templates" / name).write_text(text, encoding="utf-8")
    write_schedules(root, posts, sessions=sessions, grace=grace, spacing=spacing)
    return root


CRASH_CHANNELS = ("linkedin-page", "x-mooc", "bluesky-mooc", "facebook-page", "x-mooc",
                  "linkedin-page", "mastodon-mooc")
"""The crash test's round robin: of 240 posts, 69 on LinkedIn, 69 on X, 35 on Bluesky, 34 on
Facebook, 34 on Mastodon, each under its network's budget (X: 95 per 15 min; the sandbox's
Facebook Page: 50 per hour; Mastodon: 45 per 5 min; Bluesky: 1,666 creates an hour)."""


def crash_workspace(
    root: Path,
    start: datetime,
    *,
    count: int = 240,
    span: timedelta = timedelta(seconds=60),
    channels: tuple[str, ...] = CRASH_CHANNELS,
    grace: timedelta = timedelta(hours=1),
) -> dict[str, str]:
    """The crash test's workspace: ``count`` posts spread over ``span`` from ``start``.

    Each post goes to one channel (round robin over ``channels``) with a text no other post
    has, so the sandbox journal tells which post a create call was. Returns {post id: text}.
    """
    posts, texts = [], {}
    for n in range(count):
        post_id = f"p{n:04d}"
        text = f"crash test post {post_id} n{n}"
        at = start + span * (n / max(1, count - 1))
        posts.append(post(post_id, at, [channels[n % len(channels)]], text=text))
        texts[post_id] = text
    write_workspace(root, posts, grace=grace, spacing=timedelta(0), channels=set(channels))
    return texts
