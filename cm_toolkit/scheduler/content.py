"""What a due delivery sends: the workspace's templates rendered for its network.

The publisher renders at the due instant (a live session's link exists only then) from the
workspace as last applied, and the rendered text is kept in the ledger with the outcome.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from datetime import datetime

from cm_toolkit.channels.base import LiveSessionRequest, Media, RenderedPost
from cm_toolkit.planning import Plan, PlannedDelivery, plan_workspace
from cm_toolkit.planning.models import DeliveryKey, PlannedSession
from cm_toolkit.templates.context import SessionLinks
from cm_toolkit.templates.delivery import context_for, renderer_for
from cm_toolkit.templates.render import TemplateRenderer
from cm_toolkit.workspace.models import Workspace


@dataclass
class WorkspaceView:
    """The workspace as last applied: its plan indexed by delivery key, and its renderer."""

    workspace: Workspace
    plan: Plan
    renderer: TemplateRenderer
    by_key: dict[DeliveryKey, PlannedDelivery] = field(default_factory=dict)
    sessions: dict[str, PlannedSession] = field(default_factory=dict)

    @classmethod
    def of(cls, workspace: Workspace, plan: Plan | None = None) -> WorkspaceView:
        plan = plan or plan_workspace(workspace)
        return cls(
            workspace=workspace,
            plan=plan,
            renderer=renderer_for(workspace),
            by_key={d.key: d for d in plan.deliveries},
            sessions={s.id: s for s in plan.sessions},
        )

    def render(
        self, planned: PlannedDelivery, delivery_id: int, session_links: SessionLinks,
        at: datetime,
    ) -> RenderedPost:
        """The post for ``planned``; raises ``TemplateError`` (file:line) when it can't render,
        ``OutsideWorkspace`` when a media file leads outside the workspace (the adapter checks
        again when it opens it)."""
        template, context = context_for(
            self.workspace, planned, session_links=session_links, at=at
        )
        content = self.renderer.render_for(planned.network, template, context)
        paths = self.renderer.paths
        media = tuple(
            Media(
                path=self.workspace.root / item,
                mime_type=mimetypes.guess_type(item)[0] or "application/octet-stream",
                confined_to=paths.folders,
            )
            for item in content.media
            if paths.media(item)  # OutsideWorkspace: the delivery fails, the file is not read
        )
        return RenderedPost(
            text=content.text,
            link=content.link,
            media=media,
            title=content.title,
            description=content.description,
            thread=content.thread,
            idempotency_key=f"cm-delivery-{delivery_id}",
        )

    def live_request(self, planned: PlannedDelivery) -> LiveSessionRequest:
        assert planned.session_id is not None
        session = self.sessions[planned.session_id]
        return LiveSessionRequest(
            session_id=session.id,
            title=session.title,
            description=session.description,
            start=session.start,
            duration=session.duration,
        )
