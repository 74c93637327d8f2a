"""Content templates: per-network variants, sandboxed rendering, filters, preview and plan check.

The contract other areas use is ``TemplateRenderer.render_for(network, template, context)``
(``cm_toolkit.templates.render``) with a ``RenderContext`` (``cm_toolkit.templates.context``);
``cm_toolkit.templates.delivery.context_for`` builds that context from a workspace and a planned
delivery. Conventions and filters: docs/templates.md.
"""

from __future__ import annotations

from cm_toolkit.templates.context import (
    CampaignInfo,
    ChannelInfo,
    PostInfo,
    RenderContext,
    SessionInfo,
)
from cm_toolkit.templates.render import RenderedContent, TemplateRenderer

__all__ = [
    "CampaignInfo",
    "ChannelInfo",
    "PostInfo",
    "RenderContext",
    "RenderedContent",
    "SessionInfo",
    "TemplateRenderer",
]
