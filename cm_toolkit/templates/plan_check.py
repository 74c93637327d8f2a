"""The plan check: render every planned delivery and report what would go wrong.

``check_plan(workspace, deliveries)`` renders each delivery (``preview_delivery``) and collects:
template errors, texts over a network's limit, too many media, missing media files, a link the
text forgot (X and manual channels have no link attachment), YouTube titles and descriptions
the API would refuse; plus a summary with the X cost estimate (post $0.015, post with a URL
$0.200, each part of a thread counted). ``plan_problems`` returns the problems only.

A problem repeated by many deliveries (one template, eight occurrences) is reported once, with
the first delivery it was seen on and how many more share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cm_toolkit.channels.text_rules import youtube_description_problems, youtube_title_problems
from cm_toolkit.errors import Problem, Severity
from cm_toolkit.planning.models import DeliveryKind, PlannedDelivery
from cm_toolkit.templates.delivery import renderer_for
from cm_toolkit.templates.preview import (
    X_POST_COST_USD,
    X_POST_WITH_URL_COST_USD,
    DeliveryPreview,
    preview_delivery,
)
from cm_toolkit.workspace.models import Network, Workspace


@dataclass
class PlanCheck:
    problems: list[Problem]
    previews: list[DeliveryPreview] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


def _label(delivery: PlannedDelivery) -> str:
    occurrence = f" #{delivery.occurrence}" if delivery.occurrence != 1 else ""
    return f"{delivery.post_key}{occurrence} on {delivery.channel_id}"


def _live_setup_problems(delivery: PlannedDelivery) -> list[Problem]:
    """A YouTube broadcast takes the session's own title and description."""
    if delivery.network is not Network.YOUTUBE:
        return []
    session = delivery.content.get("session") or {}
    title, description = str(session.get("title", "")), str(session.get("description", ""))
    where = f"live session {delivery.session_id}"
    problems = [
        Problem("schedules.yaml", None, None, f"{where}: {m}", "shorten the session's title")
        for m in youtube_title_problems(title)
    ]
    problems += [
        Problem("schedules.yaml", None, None, f"{where}: {m}",
                "shorten the session's description")
        for m in youtube_description_problems(description)
    ]
    return problems


def _merge(found: list[tuple[Problem, str]]) -> list[Problem]:
    groups: dict[tuple[Any, ...], list[tuple[Problem, str]]] = {}
    for problem, label in found:
        key = (problem.file, problem.line, problem.column, problem.message, problem.fix,
               problem.severity)
        groups.setdefault(key, []).append((problem, label))
    merged = []
    for items in groups.values():
        problem, label = items[0]
        more = f", and {len(items) - 1} more" if len(items) > 1 else ""
        merged.append(Problem(problem.file, problem.line, problem.column,
                              f"{problem.message} ({label}{more})", problem.fix,
                              problem.severity))
    merged.sort(key=lambda p: (p.severity is not Severity.ERROR, p.file, p.line or 0))
    return merged


def check_plan(
    workspace: Workspace,
    deliveries: Iterable[PlannedDelivery],
    *,
    session_links: Mapping[str, str] | None = None,
) -> PlanCheck:
    """Render and check every delivery (live setups: their YouTube title and description)."""
    renderer = renderer_for(workspace)
    found: list[tuple[Problem, str]] = []
    previews: list[DeliveryPreview] = []
    by_network: dict[str, int] = {}
    for delivery in deliveries:
        if delivery.kind is DeliveryKind.LIVE_SETUP:
            found += [(p, _label(delivery)) for p in _live_setup_problems(delivery)]
            continue
        preview = preview_delivery(workspace, renderer, delivery, session_links=session_links)
        previews.append(preview)
        by_network[delivery.network.value] = by_network.get(delivery.network.value, 0) + 1
        found += [(p, _label(delivery)) for p in preview.problems]
    problems = _merge(found)
    x_posts = sum(p.x_posts for p in previews)
    x_with_url = sum(p.x_posts_with_url for p in previews)
    summary = {
        "deliveries": len(previews),
        "by_network": dict(sorted(by_network.items())),
        "errors": sum(1 for p in problems if p.severity is Severity.ERROR),
        "warnings": sum(1 for p in problems if p.severity is Severity.WARNING),
        "x": {
            "posts": x_posts,
            "posts_with_url": x_with_url,
            "cost_usd": round(sum(p.x_cost_usd for p in previews), 3),
            "prices_usd": {"post": X_POST_COST_USD, "post_with_url": X_POST_WITH_URL_COST_USD},
        },
    }
    return PlanCheck(problems, previews, summary)


def plan_problems(workspace: Workspace, deliveries: Iterable[PlannedDelivery]) -> list[Problem]:
    """Every problem the planned deliveries would meet (see ``check_plan`` for the summary)."""
    return check_plan(workspace, deliveries).problems
