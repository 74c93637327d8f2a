"""What one planned delivery will send, and everything wrong with it: ``preview_delivery``.

Used by ``cm preview``. The problems are the plan check's own (``delivery_checks.check_content``
with the adapter's rules, ``network_rules.rules_for``, placed by ``findings.Findings``), so
that a post previewed and then checked by ``cm check`` shows the same problems. What is shown is
the text as sent (``delivery_checks.sent_text``, the adapter's ``compose``: on X with the link
it appends, on YouTube the video description with its link; ``wire_text``: LinkedIn's
escaping), its length in the network's unit against the adapter's limit, the thread it becomes
(a network with ``Capability.THREAD``), its media on disk and, on a network that bills each
post, a cost estimate (the adapter's ``pricing``). A live announcement is rendered with its session's
created links, else each host's placeholder (``Channel.live_link_placeholder``): the length and
the X price are those of the post as it will be sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.errors import Problem, Severity, TemplateError
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.templates.context import SessionLinks
from cm_toolkit.templates.delivery import context_for
from cm_toolkit.templates.delivery_checks import MediaProbe, Where, check_content, sent_text
from cm_toolkit.templates.findings import Findings
from cm_toolkit.templates.network_rules import rules_for
from cm_toolkit.templates.plan_check import problem_order
from cm_toolkit.templates.quotas import network_cost_usd
from cm_toolkit.templates.render import RenderedContent, TemplateRenderer
from cm_toolkit.templates.schedule_lines import ScheduleLines
from cm_toolkit.workspace.models import Network, Workspace


@dataclass(frozen=True)
class MediaCheck:
    path: str
    exists: bool
    bytes: int | None


@dataclass
class DeliveryPreview:
    """One delivery as the network will receive it. ``content`` is None when rendering failed
    (the reason is in ``problems``)."""

    post_key: str
    occurrence: int
    channel_id: str
    network: Network
    due_at: datetime  # in the workspace time zone
    template: str
    content: RenderedContent | None = None
    wire_text: str = ""
    length: int = 0
    limit: int | None = None
    unit: str = "characters"
    media: list[MediaCheck] = field(default_factory=list)
    thread_parts: list[str] = field(default_factory=list)
    posts: int = 0  # the posts it becomes (a thread: its parts), on a network that bills them
    posts_with_url: int = 0
    problems: list[Problem] = field(default_factory=list)
    # a live announcement: {host network: (link, True when a placeholder)}
    live_links: dict[str, tuple[str, bool]] = field(default_factory=dict)

    @property
    def cost_usd(self) -> float:
        """The price of sending it, by its adapter's ``pricing`` (0 where posts are free)."""
        return network_cost_usd(self.network, self.posts, self.posts_with_url)

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        content = self.content
        return {
            "post": self.post_key,
            "occurrence": self.occurrence,
            "channel": self.channel_id,
            "network": self.network,
            "due_at": self.due_at.isoformat(),
            "template": self.template,
            "template_file": content.template_file if content else None,
            "text": content.text if content else None,
            "wire_text": self.wire_text if content else None,
            "length": self.length,
            "limit": self.limit,
            "unit": self.unit,
            "title": content.title if content else None,
            "description": content.description if content else None,
            "link": content.link if content else None,
            "media": [m.__dict__ for m in self.media],
            "thread": self.thread_parts,
            "cost_usd": self.cost_usd,
            "live_links": {network: {"link": link, "placeholder": placeholder}
                           for network, (link, placeholder) in self.live_links.items()},
            "problems": [p.as_dict() for p in self.problems],
        }


def _media_check(probe: MediaProbe, item: str) -> MediaCheck:
    exists, size, _kind = probe(item)
    return MediaCheck(item, exists, size if exists else None)


def preview_delivery(
    workspace: Workspace,
    renderer: TemplateRenderer,
    delivery: PlannedDelivery,
    *,
    session_links: SessionLinks | None = None,
) -> DeliveryPreview:
    """Render ``delivery`` and check it as the plan check does. Template errors become
    problems, never exceptions."""
    tz = ZoneInfo(workspace.schedules.timezone)
    preview = DeliveryPreview(
        post_key=delivery.post_key,
        occurrence=delivery.occurrence,
        channel_id=delivery.channel_id,
        network=delivery.network,
        due_at=delivery.due_at.astimezone(tz),
        template=delivery.template or "",
    )
    rules = rules_for(delivery.network)
    preview.limit, preview.unit = rules.text_max, rules.unit
    # schedules.yaml is read again (for a post's line) only when a problem is placed there.
    findings = Findings(tz, functools.cache(functools.partial(ScheduleLines.read,
                                                              workspace.root)))
    try:
        template, context = context_for(workspace, delivery, session_links=session_links,
                                        placeholders=True)
        preview.template = template
        if context.session is not None:
            created = (session_links or {}).get(context.session.id, {})
            preview.live_links = {network: (link, network not in created)
                                  for network, link in context.session.links.items()}
        content = renderer.render_for(delivery.network, template, context)
    except TemplateError as error:
        for problem in error.problems:
            findings.add_problem(problem, delivery)
        preview.problems = findings.problems(labelled=False)
        return preview
    probe = MediaProbe(workspace.root, renderer.paths)
    checked = check_content(rules, content, Where.of(workspace, renderer, delivery, template),
                            probe)
    for finding in checked.findings:
        findings.add(finding, delivery)
    preview.problems = sorted(findings.problems(labelled=False), key=problem_order)
    sent = sent_text(rules, content)
    preview.content = content
    preview.wire_text = rules.wire_text(sent)
    preview.length = rules.text_length(sent)
    preview.media = [_media_check(probe, item) for item in content.media]
    preview.thread_parts = list(checked.parts) if checked.posts > 1 else []
    if rules.priced:  # a network that bills each post (X): its cost
        preview.posts, preview.posts_with_url = checked.posts, checked.posts_with_url
    return preview
