"""What one planned delivery will send, and everything wrong with it: ``preview_delivery``.

Used by ``cm preview`` (one post) and by the plan check (every delivery). The text is shown as
sent (``text_rules.wire_text``: LinkedIn's escaping), measured in the network's unit against
``text_rules.NETWORK_TEXT_LIMITS``, split into a thread on X when the post asks for one, with
its media checked on disk and an X cost estimate (pay-per-use prices of API_FACTS.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.channels.text_rules import (
    NETWORK_TEXT_LIMITS,
    contains_url,
    split_thread,
    text_length,
    wire_text,
    youtube_description_problems,
    youtube_title_problems,
)
from cm_toolkit.errors import Problem, Severity, TemplateError
from cm_toolkit.planning.models import PlannedDelivery
from cm_toolkit.templates.delivery import context_for
from cm_toolkit.templates.render import RenderedContent, TemplateRenderer
from cm_toolkit.workspace.models import Network, Workspace

X_POST_COST_USD = 0.015
X_POST_WITH_URL_COST_USD = 0.200


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
    x_posts: int = 0
    x_posts_with_url: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def x_cost_usd(self) -> float:
        with_url = self.x_posts_with_url * X_POST_WITH_URL_COST_USD
        return round(with_url + (self.x_posts - self.x_posts_with_url) * X_POST_COST_USD, 3)

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)

    def as_dict(self) -> dict[str, Any]:
        content = self.content
        return {
            "post": self.post_key,
            "occurrence": self.occurrence,
            "channel": self.channel_id,
            "network": self.network.value,
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
            "x_cost_usd": self.x_cost_usd,
            "problems": [p.as_dict() for p in self.problems],
        }


def _media_checks(root: Path, media: tuple[str, ...]) -> list[MediaCheck]:
    checks = []
    for item in media:
        path = Path(item) if Path(item).is_absolute() else root / item
        exists = path.is_file()
        checks.append(MediaCheck(item, exists, path.stat().st_size if exists else None))
    return checks


def _link_in_text(link: str, text: str) -> bool:
    base = link.split("?", 1)[0].rstrip("/")
    return link in text or base in text


def content_problems(
    network: Network, channel_id: str, content: RenderedContent, media: list[MediaCheck]
) -> list[Problem]:
    """Every problem of a rendered post on ``network``, placed on its template file."""
    file = content.template_file
    problems: list[Problem] = []
    limits = NETWORK_TEXT_LIMITS[network]
    if not content.text.strip():
        problems.append(Problem(file, None, None, f"{channel_id}: the text is empty",
                                "write the post's text in the template"))
    length = text_length(network, content.text)
    if limits.text_max is not None and length > limits.text_max:
        if network is Network.X and content.thread:
            pass  # split into a thread; each part is within the limit by construction
        else:
            fix = "shorten the text"
            if network is Network.X:
                fix += " or set thread: true to publish it as a numbered thread"
            problems.append(Problem(
                file, None, None,
                f"{channel_id}: {length} {limits.unit}, more than the {limits.text_max} "
                f"{network.value} accepts", fix))
    if limits.media_max is not None and len(content.media) > limits.media_max:
        if limits.media_max == 0:
            problems.append(Problem(
                file, None, None, f"{channel_id}: {network.value} posts carry no media; "
                f"{len(content.media)} will be ignored", "remove media for this channel "
                "(overrides: {channel: {media: []}})", Severity.WARNING))
        else:
            problems.append(Problem(
                file, None, None, f"{channel_id}: {len(content.media)} media, more than the "
                f"{limits.media_max} {network.value} accepts",
                "keep fewer images, or override media for this channel"))
    for check in media:
        if not check.exists:
            problems.append(Problem(
                file, None, None, f"{channel_id}: media file {check.path} not found",
                "put the file in the workspace (e.g. assets/) or fix the path"))
    # X and manual channels have no link attachment: a link not in the text is lost.
    link = content.link
    if link and network in (Network.X, Network.MANUAL) and not _link_in_text(link, content.text):
        problems.append(Problem(
            file, None, None,
            f"{channel_id}: the post has a link but the text does not contain it",
            f"add {{{{ link }}}} to {file}", Severity.WARNING))
    if network is Network.YOUTUBE:
        if content.title is not None:
            for message in youtube_title_problems(content.title):
                problems.append(Problem(file, None, None, f"{channel_id}: {message}",
                                        "shorten the title option"))
        for message in youtube_description_problems(content.text):
            problems.append(Problem(file, None, None, f"{channel_id}: {message}",
                                    "shorten the text; remove < and >"))
    return problems


def preview_delivery(
    workspace: Workspace,
    renderer: TemplateRenderer,
    delivery: PlannedDelivery,
    *,
    session_links: Mapping[str, str] | None = None,
) -> DeliveryPreview:
    """Render ``delivery`` and check it. Template errors become problems, never exceptions."""
    tz = ZoneInfo(workspace.schedules.timezone)
    preview = DeliveryPreview(
        post_key=delivery.post_key,
        occurrence=delivery.occurrence,
        channel_id=delivery.channel_id,
        network=delivery.network,
        due_at=delivery.due_at.astimezone(tz),
        template=delivery.template or "",
    )
    limits = NETWORK_TEXT_LIMITS[delivery.network]
    preview.limit, preview.unit = limits.text_max, limits.unit
    try:
        template, context = context_for(workspace, delivery, session_links=session_links)
        preview.template = template
        content = renderer.render_for(delivery.network, template, context)
    except TemplateError as error:
        preview.problems.append(error.problem)
        return preview
    preview.content = content
    preview.wire_text = wire_text(delivery.network, content.text)
    preview.length = text_length(delivery.network, content.text)
    preview.media = _media_checks(workspace.root, content.media)
    if delivery.network is Network.X:
        parts = split_thread(content.text) if content.thread else [content.text]
        preview.thread_parts = parts if len(parts) > 1 else []
        preview.x_posts = len(parts)
        preview.x_posts_with_url = sum(1 for part in parts if contains_url(part))
    preview.problems = content_problems(
        delivery.network, delivery.channel_id, content, preview.media
    )
    return preview
