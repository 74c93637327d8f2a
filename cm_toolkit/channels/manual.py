"""Channels without a publishing API (a LinkedIn group...): the post becomes a task for a person.

At the due instant ``publish`` writes a ready-to-paste task, ``<tasks_dir>/<delivery>.md``
(text, link, media paths, where to paste it), and notifies the channel file's ``notify`` webhook
when there is one (a JSON POST). The delivery is published when the community manager marks it
done (``cm done DELIVERY``). A failed notification never fails the delivery: the task file is
the record, and the outcome of the notification is kept in ``PublishResult.extra``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import requests

from cm_toolkit.channels.base import (
    Capability,
    Channel,
    ChannelSettings,
    Limits,
    PublishResult,
    RenderedPost,
)
from cm_toolkit.channels.facts import LinkHandling, Starter
from cm_toolkit.errors import Problem, TransientError
from cm_toolkit.workspace.models import Network

_SAFE_KEY = re.compile(r"[^A-Za-z0-9._-]+")


class ManualSettings(ChannelSettings):
    """``account.url``: where the person pastes the post; ``tasks_dir``: where tasks are written
    (default ``<workspace>/.cm/tasks``); ``notify``: the channel file's webhook (http/https)."""

    url: str | None = None
    tasks_dir: Path = Path(".cm/tasks")
    notify: str | None = None


def task_key(post: RenderedPost) -> str:
    """The delivery id, made safe as a file name; a digest of the text when there is none."""
    if post.idempotency_key:
        return _SAFE_KEY.sub("_", post.idempotency_key).strip("._") or "task"
    return "post-" + hashlib.sha256(post.text.encode()).hexdigest()[:12]


def task_markdown(channel_id: str, key: str, post: RenderedPost, url: str | None) -> str:
    lines = [f"# To publish by hand: {key}", "", f"- channel: {channel_id}"]
    if url:
        lines.append(f"- where: {url}")
    if post.title:
        lines.append(f"- title: {post.title}")
    if post.link:
        lines.append(f"- link: {post.link}")
    for media in post.media:
        alt = f" (alt: {media.alt_text})" if media.alt_text else ""
        lines.append(f"- media: {media.path}{alt}")
    lines += [
        f"- when done: `cm done {key}`",
        "",
        "## Text (copy everything between the fences)",
        "",
        "````text",
        post.text,
        "````",
        "",
    ]
    return "\n".join(lines)


class ManualChannel(Channel):
    network: ClassVar[Network] = "manual"
    link_handling = LinkHandling.LISTED
    display_name: ClassVar[str] = "Manual (a person publishes a ready-to-paste task)"
    # a LinkedIn group has no publishing API: its posts are manual tasks
    aliases: ClassVar[tuple[str, ...]] = ("linkedin-group",)
    starter: ClassVar[Starter | None] = Starter(
        "manual", {"url": "https://example.org/community"},
        note="No publishing API: each post becomes a ready-to-paste task (`cm done`).")
    limits: ClassVar[Limits] = Limits(text_max=100_000, media_max=20)
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.MANUAL, Capability.TEXT, Capability.LINK, Capability.IMAGES}
    )
    settings_model: ClassVar[type[ChannelSettings]] = ManualSettings
    secret_names: ClassVar[tuple[str, ...]] = ()

    @property
    def manual_settings(self) -> ManualSettings:
        assert isinstance(self.settings, ManualSettings)
        return self.settings

    def validate(self, post: RenderedPost) -> list[Problem]:
        problems = []
        if not post.text.strip():
            problems.append(
                Problem(self.channel_id, None, None, "the post's text is empty", "write a text")
            )
        if len(post.text) > self.limits.text_max:
            problems.append(Problem(
                self.channel_id, None, None,
                f"the text is {len(post.text)} characters; a task carries at most "
                f"{self.limits.text_max}", "split it into several posts"))
        if len(post.media) > self.limits.media_max:
            problems.append(
                Problem(
                    self.channel_id,
                    None,
                    None,
                    f"{len(post.media)} media files; a task carries at most {self.limits.media_max}",
                    "attach fewer files",
                )
            )
        for media in post.media:
            if not media.path.exists():
                problems.append(
                    Problem(
                        self.channel_id,
                        None,
                        None,
                        f"media file {media.path} does not exist",
                        "fix the path (workspace-relative) or add the file",
                    )
                )
        return problems

    def publish(self, post: RenderedPost) -> PublishResult:
        settings = self.manual_settings
        key = task_key(post)
        path = settings.tasks_dir / f"{key}.md"
        try:
            settings.tasks_dir.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(prefix=f".{key}.", dir=settings.tasks_dir)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(task_markdown(self.channel_id, key, post, settings.url))
            os.replace(temp, path)
        except OSError as exc:
            raise TransientError(
                f"channel {self.channel_id}: cannot write the task file {path}: {exc.strerror}",
                network=self.network,
                fix="check that the workspace's .cm/tasks folder is writable",
            ) from None
        extra: dict[str, Any] = {"task_file": str(path)}
        if settings.notify:
            extra["notified"] = self._notify(settings, key, path, post)
        return PublishResult(remote_id=f"task:{key}", url=settings.url, extra=extra)

    def _notify(self, settings: ManualSettings, key: str, path: Path, post: RenderedPost) -> str:
        """POST the task to the webhook; returns "ok" or why not (never the URL: it may hold a
        secret, as Slack and Teams webhook URLs do)."""
        assert settings.notify is not None
        if not settings.notify.startswith(("http://", "https://")):
            return "skipped: only http(s) webhooks are notified"
        payload = {
            "type": "cm-toolkit.manual-task",
            "channel": self.channel_id,
            "delivery": key,
            "where": settings.url,
            "text": post.text,
            "link": post.link,
            "title": post.title,
            "media": [str(m.path) for m in post.media],
            "task_file": str(path),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "done_command": f"cm done {key}",
        }
        session = requests.Session()
        if self.transport.requests_adapter is not None:
            session.mount("https://", self.transport.requests_adapter)
            session.mount("http://", self.transport.requests_adapter)
        try:
            response = session.post(settings.notify, json=payload, timeout=self.transport.timeout)
        except requests.RequestException as exc:
            return f"failed: {type(exc).__name__}"
        finally:
            session.close()
        return "ok" if response.ok else f"failed: HTTP {response.status_code}"

    def check(self) -> str:
        where = f" for {self.manual_settings.url}" if self.manual_settings.url else ""
        return f"manual channel{where}: tasks go to {self.manual_settings.tasks_dir}"
