"""Where each post, live session and announcement is written in ``schedules.yaml``.

The loaded ``Workspace`` holds typed models without positions; the plan check reads the file
again (once) with the workspace's YAML reader, which keeps line numbers, to point a problem at
the post it comes from: ``schedules.yaml:57``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cm_toolkit.planning.models import DeliveryKind, PlannedDelivery
from cm_toolkit.workspace import schedule_view as view
from cm_toolkit.workspace.yaml_source import YamlDocument, read_yaml

SCHEDULES_FILE = "schedules.yaml"


@dataclass
class ScheduleLines:
    """Line numbers (1-based) of posts (by id), sessions (by id) and announcements."""

    posts: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    announcements: dict[tuple[str, int], int] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> ScheduleLines:
        """The lines of ``root/schedules.yaml``; empty when it cannot be read (no line then)."""
        document, _problems = read_yaml(root / SCHEDULES_FILE, SCHEDULES_FILE)
        return cls.of(document) if document is not None else cls()

    @classmethod
    def of(cls, document: YamlDocument) -> ScheduleLines:
        lines = cls()
        for post in view.posts(document.data):
            ident = post.text("id")
            line = document.position(post.path)[0]
            if ident is not None and line is not None:
                lines.posts.setdefault(ident, line)
        for session in view.sessions(document.data):
            ident = session.text("id")
            line = document.position(session.path)[0]
            if ident is None or line is None:
                continue
            lines.sessions.setdefault(ident, line)
            for announcement in view.announcements(session):
                step = document.position(announcement.path)[0]
                lines.announcements[(ident, int(announcement.path[-1]))] = step or line
        return lines

    def line_of(self, delivery: PlannedDelivery) -> int | None:
        """The line of the post, announcement or session ``delivery`` comes from."""
        if delivery.kind is DeliveryKind.POST and delivery.post_id is not None:
            return self.posts.get(delivery.post_id)
        session = delivery.session_id or ""
        if delivery.kind is DeliveryKind.ANNOUNCEMENT:
            index = int(delivery.post_key.rsplit("/", 1)[1])
            return self.announcements.get((session, index), self.sessions.get(session))
        return self.sessions.get(session)
