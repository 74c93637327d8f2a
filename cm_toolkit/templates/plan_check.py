"""The plan check: render every planned delivery, check it, and add up what the plan asks.

``check_plan(workspace, deliveries, now=...)`` renders each delivery (every occurrence of every
recurring post, every announcement, on every channel) and reports, all at once:

- template errors (``templates/<file>:<line>``), a text over the network's limit, too many,
  missing, oversized or refused media, a link the text forgot, what the network's own rules
  refuse (``delivery_checks``; the adapter's ``plan_problems``: a YouTube title, X's media
  combinations), live sessions whose title the host would refuse (``live_problems``);
- quota and rate-limit warnings, spam-like bursts, and a summary with X's price and each
  network's peaks (``quotas``).

Identical problems (same place, same kind, same channel) are reported once, with the first
delivery they were seen on and "and N other occurrences". ``PlanChecker`` plugs the check into
``cm check`` (``check_workspace(..., extra_checks=[checker])``) and keeps the summary;
``check_everything`` is that whole check, and ``checked_plan`` makes ``cm plan`` and ``cm apply``
refuse what it refuses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cm_toolkit.channels.facts import LinkHandling
from cm_toolkit.cores import processes, split_work
from cm_toolkit.errors import Problem, Severity, TemplateError, WorkspaceError
from cm_toolkit.planning import plan_workspace
from cm_toolkit.planning.models import DeliveryKey, DeliveryKind, Plan, PlannedDelivery
from cm_toolkit.planning.past_due import PublishedLookup, settle_past_due
from cm_toolkit.templates import plan_heap
from cm_toolkit.templates.context import SessionLinks
from cm_toolkit.templates.delivery_checks import (
    SCHEDULES_FILE,
    Finding,
    MediaProbe,
    Wheres,
    check_content,
    sent_text,
)
from cm_toolkit.templates.duplicate_texts import DuplicateTexts
from cm_toolkit.templates.expiring_tokens import expiring_tokens
from cm_toolkit.templates.findings import Findings
from cm_toolkit.templates.live_checks import reminders_before_creation
from cm_toolkit.templates.network_rules import NetworkRules, rules_for
from cm_toolkit.templates.plan_render import PlanRenderer, occurrence_contexts
from cm_toolkit.templates.quotas import Send, SendKind, check_quotas, inbox_polling
from cm_toolkit.templates.render import RenderedContent
from cm_toolkit.templates.schedule_lines import ScheduleLines
from cm_toolkit.workspace.check import CheckReport, FileCheck, check_workspace
from cm_toolkit.workspace.models import Workspace


@dataclass
class PlanCheck:
    problems: list[Problem]
    summary: dict[str, Any] = field(default_factory=dict)
    # each delivery's ``text_digest`` (deliveries whose template renders); ``cm plan`` compares
    # them with the ledger's, so that a template edit shows which texts change
    texts: dict[DeliveryKey, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)


def text_digest(rules: NetworkRules, content: RenderedContent, sent: str | None = None) -> str:
    """What a person reads of a delivery, hashed: the text as sent (``sent``, when known:
    ``sent_text``), its title, description and link. Equal digests, same words."""
    parts = (sent_text(rules, content) if sent is None else sent, content.title or "",
             content.description or "", content.link or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def problem_order(problem: Problem) -> tuple[Any, ...]:
    """Errors first, the templates' before the schedule's, then by place."""
    return (problem.severity is not Severity.ERROR, problem.file != SCHEDULES_FILE,
            problem.file, problem.line or 0, problem.message)


def live_setup_problems(delivery: PlannedDelivery) -> list[Problem]:
    """What the hosting network would refuse in the session's own title and description
    (its adapter's ``live_problems``: YouTube's title and description rules)."""
    session = delivery.content.get("session") or {}
    title, description = str(session.get("title", "")), str(session.get("description", ""))
    where = f"live session {delivery.session_id}"
    return [Problem(SCHEDULES_FILE, None, None, f"{where}: {problem.message}", problem.fix)
            for problem in rules_for(delivery.network).live_problems(title, description)]


def _groups_of(workspace: Workspace) -> dict[str, str]:
    """Channel id -> its app or project: channels of one network naming the same ``client_id``
    secret share one app (an X app, a Google Cloud project)."""
    groups = {}
    for channel_id, channel in workspace.channels.items():
        ref = channel.secrets.get("client_id")
        source = (ref.env or ref.keyring) if ref is not None else None
        groups[channel_id] = f"{channel.network}:{source}" if source else channel_id
    return groups


@dataclass(frozen=True)
class Failed:
    """A delivery (or all of a post's) that could not be rendered: its problems."""

    problems: tuple[Problem, ...]


# What the check found for one delivery: (text_digest, findings, (text as sent, attached link)
# on a network that refuses duplicates or None, posts it makes, of them with a URL). A tuple:
# 100,000 of them are pickled across processes (``cm_toolkit.cores``).
Checked = tuple[str, tuple[Finding, ...], tuple[str, str | None] | None, int, int]
GroupOutcome = Failed | list[Checked | Failed]
PER_PROCESS = 5_000  # deliveries a process is given at least: below, one process is faster


def _chunks(indices: list[int], sizes: list[int], count: int) -> list[list[int]]:
    """``indices`` cut into ``count`` runs (in order) of about the same total size."""
    total = sum(sizes)
    chunks: list[list[int]] = [[] for _ in range(count)]
    done = 0
    for index, size in zip(indices, sizes, strict=True):
        chunks[min(count - 1, done * count // max(1, total))].append(index)
        done += size
    return [chunk for chunk in chunks if chunk]


class _PlanRun:
    def __init__(self, workspace: Workspace, session_links: SessionLinks | None) -> None:
        self.workspace = workspace
        self.session_links = session_links
        self.tz = ZoneInfo(workspace.schedules.timezone)
        self._lines: ScheduleLines | None = None
        self.renderer = PlanRenderer.for_workspace(workspace)
        self.probe = MediaProbe(workspace.root, self.renderer.paths)
        self.wheres = Wheres(workspace, self.renderer)
        self.findings = Findings(self.tz, self.lines)
        self.duplicates = DuplicateTexts()
        self.texts: dict[DeliveryKey, str] = {}
        self.sends: list[Send] = []
        self.by_network: dict[str, int] = {}
        self.live_setups: dict[str, int] = {}

    def lines(self) -> ScheduleLines:
        if self._lines is None:
            self._lines = ScheduleLines.read(self.workspace.root)
        return self._lines

    def live_setups_of(self, items: list[PlannedDelivery]) -> None:
        for delivery in items:
            network = delivery.network
            self.live_setups[network] = self.live_setups.get(network, 0) + 1
            for problem in live_setup_problems(delivery):
                self.findings.add_problem(problem, delivery)
            self.sends.append(Send(delivery.due_at, delivery.channel_id, delivery.network,
                                   SendKind.LIVE_SETUP, ref=delivery))

    def outcome_of(self, items: list[PlannedDelivery]) -> GroupOutcome:
        """Render and check the occurrences of one (post, channel); changes nothing in the run
        (``apply`` does), so that groups can be checked in other processes (``cm_toolkit.cores``)."""
        try:
            template, context_at = occurrence_contexts(self.workspace, items, self.session_links)
        except TemplateError as error:
            return Failed(tuple(error.problems))
        first = items[0]
        rules = rules_for(first.network)
        where = self.wheres.of(first, template)
        # A template that cannot vary between occurrences is rendered once (see
        # ``PlanRenderer.varies``); a text that repeats is checked once.
        same_text = not self.renderer.varies(first.network, template)
        refused = rules.duplicates_refused
        attached = rules.link_handling is LinkHandling.ATTACHED
        rendered: RenderedContent | TemplateError | None = None
        last: tuple[RenderedContent, Checked] | None = None
        outcomes: list[Checked | Failed] = []
        for delivery in items:
            if rendered is None or not same_text:
                try:
                    rendered = self.renderer.render_for(first.network, template,
                                                        context_at(delivery))
                except TemplateError as error:
                    rendered = error
            if isinstance(rendered, TemplateError):
                outcomes.append(Failed(tuple(rendered.problems)))
                continue
            if last is None or last[0] != rendered:
                sent = sent_text(rules, rendered)  # once for the three below
                checked = check_content(rules, rendered, where, self.probe, sent)
                duplicate = (sent, rendered.link if attached else None) if refused else None
                last = (rendered, (text_digest(rules, rendered, sent), checked.findings,
                                   duplicate, checked.posts, checked.posts_with_url))
            outcomes.append(last[1])
        return outcomes

    def apply(self, items: list[PlannedDelivery], outcome: GroupOutcome) -> None:
        """Record what ``outcome_of`` found for ``items`` (in the order of the groups)."""
        first = items[0]
        network = first.network
        self.by_network[network] = self.by_network.get(network, 0) + len(items)
        if isinstance(outcome, Failed):  # the post itself could not be found
            for delivery in items:
                for problem in outcome.problems:
                    self.findings.add_problem(problem, delivery)
            return
        display_name = rules_for(network).display_name
        for delivery, checked in zip(items, outcome, strict=True):
            if isinstance(checked, Failed):  # never sent: not counted in the quotas
                for problem in checked.problems:
                    self.findings.add_problem(problem, delivery)
                continue
            digest, findings, duplicate, posts, posts_with_url = checked
            self.texts[delivery.key] = digest
            for finding in findings:
                self.findings.add(finding, delivery)
            if duplicate is not None:
                self.duplicates.add_sent(delivery, *duplicate, display_name)
            self.sends.append(Send(delivery.due_at, delivery.channel_id, network, SendKind.POST,
                                   posts, posts_with_url, delivery))

    def check_groups(self, groups: list[list[PlannedDelivery]]) -> None:
        """Check every (post, channel) group, on several cores when there are many posts
        (``cm_toolkit.cores``); the outcomes are applied in the groups' order either way, so the
        result is the same."""
        posts = [index for index, items in enumerate(groups)
                 if items[0].kind is not DeliveryKind.LIVE_SETUP]
        count = processes(sum(len(groups[index]) for index in posts), PER_PROCESS)
        outcomes: dict[int, GroupOutcome] = {}
        if count > 1:
            chunks = _chunks(posts, [len(groups[index]) for index in posts], count)

            def work(indices: Sequence[int]) -> list[GroupOutcome]:
                return [self.outcome_of(groups[index]) for index in indices]

            for indices, found in zip(chunks, split_work(work, chunks), strict=True):
                outcomes.update(zip(indices, found, strict=True))
        for index, items in enumerate(groups):
            if items[0].kind is DeliveryKind.LIVE_SETUP:
                self.live_setups_of(items)
            else:
                outcome = outcomes.pop(index, None)
                self.apply(items, self.outcome_of(items) if outcome is None else outcome)

    def run(self, deliveries: Iterable[PlannedDelivery], now: datetime | None) -> PlanCheck:
        groups: dict[tuple[str, str], list[PlannedDelivery]] = {}
        for delivery in deliveries:
            groups.setdefault((delivery.post_key, delivery.channel_id), []).append(delivery)
        first_at: datetime | None = None
        last_at: datetime | None = None
        for items in groups.values():
            items.sort(key=lambda d: d.due_at)
            first_at = min(first_at or items[0].due_at, items[0].due_at)
            last_at = max(last_at or items[-1].due_at, items[-1].due_at)
        self.check_groups(list(groups.values()))
        everything = [d for items in groups.values() for d in items]
        last_due: dict[str, datetime] = {}
        for delivery in everything:
            last_due[delivery.channel_id] = max(delivery.due_at,
                                                last_due.get(delivery.channel_id, delivery.due_at))
        for problem, reminder in reminders_before_creation(everything):
            self.findings.add_problem(problem, reminder)
        quotas = check_quotas(self.sends, groups=_groups_of(self.workspace), timezone=self.tz,
                              now=now, locate=self.findings.locate)
        problems = (self.findings.problems() + quotas.problems
                    + self.duplicates.problems(self.findings.locate, self.tz)
                    + expiring_tokens(self.workspace, last_due, self.tz))
        problems.sort(key=problem_order)

        def show(moment: datetime | None) -> str | None:
            return moment.astimezone(self.tz).isoformat() if moment else None

        summary: dict[str, Any] = {
            "deliveries": sum(self.by_network.values()),
            "by_network": dict(sorted(self.by_network.items())),
            "live_setups": dict(sorted(self.live_setups.items())),
            "first": show(first_at),
            "last": show(last_at),
            "errors": sum(1 for p in problems if p.severity is Severity.ERROR),
            "warnings": sum(1 for p in problems if p.severity is Severity.WARNING),
            **quotas.summary,
            "inbox": inbox_polling(self.workspace),
        }
        return PlanCheck(problems, summary, self.texts)


def check_plan(
    workspace: Workspace,
    deliveries: Iterable[PlannedDelivery],
    *,
    session_links: SessionLinks | None = None,
    now: datetime | None = None,
) -> PlanCheck:
    """Render and check every delivery; add up quotas and costs (see the module docstring).

    ``now`` (aware) enables the Facebook scheduling-window counts of the summary.
    """
    return _PlanRun(workspace, session_links).run(deliveries, now)


def plan_problems(workspace: Workspace, deliveries: Iterable[PlannedDelivery]) -> list[Problem]:
    """Every problem the planned deliveries would meet (see ``check_plan`` for the summary)."""
    return check_plan(workspace, deliveries).problems


class PlanChecker:
    """An extra checker for ``check_workspace``: plans the workspace, checks the plan, and keeps
    the plan and the result (``result.summary`` is the ``plan`` part of ``cm check --json``)."""

    def __init__(
        self, now: datetime | None = None, *, session_links: SessionLinks | None = None
    ) -> None:
        self.now = now
        self.plan: Plan | None = None
        self.session_links = session_links  # of the created live sessions (from the ledger)
        self.result: PlanCheck | None = None

    def __call__(self, workspace: Workspace) -> list[Problem]:
        try:
            self.plan = plan_workspace(workspace)
        except WorkspaceError as error:
            return list(error.problems)
        plan_heap.rendering()
        self.result = check_plan(workspace, self.plan.deliveries,
                                 session_links=self.session_links, now=self.now)
        return self.result.problems


def check_everything(
    root: Path,
    now: datetime,
    *,
    session_links: SessionLinks | None = None,
    published: PublishedLookup | None = None,
    file_checks: Sequence[FileCheck] = (),
) -> tuple[CheckReport, PlanChecker]:
    """What ``cm check`` checks: the files, then every planned delivery rendered and checked.
    ``file_checks`` check the files beside the workspace's own (the CLI passes the inbox's
    ``faq.yaml`` check: the templates package does not depend on the inbox).

    ``cm check`` shows the report; ``cm plan`` and ``cm apply`` go through ``checked_plan`` so
    that they refuse what ``cm check`` refuses (a template that does not render would otherwise
    be applied, and its deliveries fail when due). ``published`` (when there is a ledger) drops
    the "has passed" warnings of deliveries already published (``planning.past_due``).
    """
    checker = PlanChecker(now, session_links=session_links)
    with plan_heap.bulk_check():
        report = check_workspace(root, now, extra_checks=[checker], file_checks=file_checks)
    if published is not None and checker.plan is not None:
        report.problems = settle_past_due(report.problems, checker.plan.deliveries, published,
                                          now)
    return report, checker


@dataclass(frozen=True)
class CheckedPlan:
    """What ``cm plan`` and ``cm apply`` take from the check: the plan, the warnings to show,
    and each delivery's ``text_digest``."""

    workspace: Workspace
    plan: Plan
    warnings: list[Problem]
    texts: dict[DeliveryKey, str]


def checked_plan(
    root: Path, now: datetime, *, published: PublishedLookup | None = None,
    file_checks: Sequence[FileCheck] = (),
) -> CheckedPlan:
    """The plan once ``check_everything`` found no error; raises ``WorkspaceError`` with every
    problem (the same lines as ``cm check``) otherwise."""
    report, checker = check_everything(root, now, published=published, file_checks=file_checks)
    if (not report.ok or report.workspace is None or checker.plan is None
            or checker.result is None):
        raise WorkspaceError(report.problems)
    return CheckedPlan(report.workspace, checker.plan, report.warnings, checker.result.texts)
