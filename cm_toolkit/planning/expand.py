"""Expand a ``Workspace`` into a ``Plan``: every delivery, past or future, with its due time.

Rules (documented in docs/ledger.md):

- ``at``: one delivery (occurrence 1). Naive times are in the workspace time zone.
- ``every``: cron fire times in the workspace time zone, starting at the campaign's ``start``
  (required: without it the occurrences would depend on when the plan was made), stopping after
  ``count`` occurrences or at ``until`` (inclusive), whichever comes first. Occurrence numbers
  count fire times from the campaign start (1, 2, ...).
- ``session``: the session start minus ``before`` plus ``after`` (at the start when neither).
- each announcement of a live session: one delivery per channel (default: ``announce_on``),
  key ``<session>/announce/<index>``; each session: one live setup per ``hosted_on`` channel at
  ``start - create_before``, key ``<session>/live``, grace ``create_before``.
- overrides: the override keyed by the channel id applies; otherwise the one keyed by the
  channel's network name; ``skip: true`` drops the channel.

Nothing is dropped because it is in the past: the scheduler marks such deliveries missed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cm_toolkit.errors import Problem, WorkspaceError
from cm_toolkit.planning.fingerprint import canonical, canonical_content, canonical_fingerprint
from cm_toolkit.planning.models import (
    DeliveryKind,
    Plan,
    PlannedCampaign,
    PlannedDelivery,
    PlannedHost,
    PlannedItem,
    PlannedSession,
)
from cm_toolkit.workspace.models import (
    Campaign,
    ChannelOverride,
    LiveSession,
    Network,
    Post,
    Workspace,
)
from cm_toolkit.workspace.recurrence_checks import MAX_OCCURRENCES
from cm_toolkit.workspace.session_keys import announcement_key
from cm_toolkit.workspace.times import CronSyntaxError, cron_times, shift, to_utc

SCHEDULES_FILE = "schedules.yaml"
"""A recurring post expanding past this is almost surely a mistake (e.g. every minute)."""


_CANONICAL_PARTS = frozenset({"variables", "utm"})  # of a post's content, as _plan_post makes it


def plan_workspace(workspace: Workspace) -> Plan:
    """Expand every campaign of ``workspace``. Raises ``WorkspaceError`` listing all problems."""
    return _Planner(workspace).run()


def live_setup_key(session_id: str) -> str:
    return f"{session_id}/live"


class _Planner:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.schedules = workspace.schedules
        self.problems: list[Problem] = []
        self.deliveries: list[PlannedDelivery] = []
        self.items: list[PlannedItem] = []
        self.sessions: dict[str, tuple[Campaign, LiveSession]] = {}
        self.canonical_utm = canonical(self.schedules.defaults.utm.model_dump())  # once
        # Per campaign (and live session): its variables made canonical, shared by its posts.
        self.bases: dict[tuple[int, int], dict[str, Any]] = {}
        try:
            self.tz = ZoneInfo(self.schedules.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self._problem(
                f"unknown time zone {self.schedules.timezone!r}",
                "use an IANA name such as Europe/Paris or America/New_York",
            )
            raise WorkspaceError(self.problems) from None

    def _problem(self, message: str, fix: str = "") -> None:
        self.problems.append(Problem(SCHEDULES_FILE, None, None, message, fix))

    def run(self) -> Plan:
        for campaign in self.schedules.campaigns:
            for session in campaign.live_sessions:
                self.sessions[session.id] = (campaign, session)
        planned_sessions: list[PlannedSession] = []
        for campaign in self.schedules.campaigns:
            for session in campaign.live_sessions:
                planned_sessions.append(self._plan_session(campaign, session))
            for post in campaign.posts:
                self._plan_post(campaign, post)
        self._check_unique_keys()
        if self.problems:
            raise WorkspaceError(self.problems)
        campaigns = [
            PlannedCampaign(
                c.id, c.name, to_utc(c.start, self.tz) if c.start is not None else None
            )
            for c in self.schedules.campaigns
        ]
        self.deliveries.sort(key=lambda d: (d.due_at, d.post_key, d.channel_id, d.occurrence))
        return Plan(self.schedules.timezone, self.deliveries, campaigns, self.items, planned_sessions)

    # -- shared pieces -------------------------------------------------------------------------

    def _network(self, channel_id: str, owner: str) -> Network | None:
        channel = self.workspace.channels.get(channel_id)
        if channel is None:
            known = ", ".join(sorted(self.workspace.channels)) or "none"
            self._problem(
                f"{owner} names channel {channel_id!r}, which has no file in channels/",
                f"create channels/{channel_id}.yaml or use one of: {known}",
            )
            return None
        return channel.network

    def _session_content(self, session: LiveSession) -> dict[str, Any]:
        return {
            "id": session.id,
            "title": session.title,
            "description": session.description,
            "start": to_utc(session.start, self.tz),
            "duration": session.duration,
            "variables": session.variables,
        }

    def _base_variables(self, campaign: Campaign, session: LiveSession | None) -> dict[str, Any]:
        variables = dict(self.schedules.variables)
        variables.update(campaign.variables)
        if session is not None:
            variables.update(session.variables)
        return variables

    def _add(
        self,
        *,
        item: PlannedItem,
        channel_id: str,
        network: Network,
        times: list[tuple[int, datetime]],
        grace: timedelta,
        content: dict[str, Any],
    ) -> None:
        """One delivery per (occurrence, due_at) of ``times``; ``content`` is canonical
        (``canonical_content``) and starts with the kind and network. The content never depends
        on the time: it is fingerprinted once for all the occurrences (a recurring post has
        thousands; doing it per occurrence dominated the planning time)."""
        digest = canonical_fingerprint(content)
        for occurrence, due_at in times:
            self.deliveries.append(
                PlannedDelivery(
                    post_key=item.post_key,
                    channel_id=channel_id,
                    occurrence=occurrence,
                    due_at=due_at,
                    kind=item.kind,
                    network=network,
                    campaign_id=item.campaign_id,
                    post_id=item.post_id,
                    session_id=item.session_id,
                    template=content.get("template"),
                    fingerprint=digest,
                    grace=grace,
                    content=content,
                )
            )

    # -- live sessions -------------------------------------------------------------------------

    def _plan_session(self, campaign: Campaign, session: LiveSession) -> PlannedSession:
        start = to_utc(session.start, self.tz)
        session_content = self._session_content(session)
        hosts: list[PlannedHost] = []
        setup = PlannedItem(live_setup_key(session.id), DeliveryKind.LIVE_SETUP, campaign.id,
                            None, session.id, None)
        self.items.append(setup)
        for channel_id in session.hosted_on:
            network = self._network(channel_id, f"live session {session.id!r} (hosted_on)")
            if network is None:
                continue
            hosts.append(PlannedHost(channel_id, network))
            self._add(
                item=setup, channel_id=channel_id, network=network,
                times=[(1, start - session.create_before)], grace=session.create_before,
                content=canonical_content(
                    {"kind": setup.kind, "network": network, "session": session_content}),
            )
        for index, announcement in enumerate(session.announcements):
            item = PlannedItem(announcement_key(session.id, index), DeliveryKind.ANNOUNCEMENT,
                               campaign.id, None, session.id, announcement.template)
            self.items.append(item)
            offset = (announcement.after or timedelta()) - (announcement.before or timedelta())
            variables = self._base_variables(campaign, session)
            variables.update(announcement.variables)
            channels = announcement.channels if announcement.channels is not None else (
                session.announce_on
            )
            for channel_id in channels:
                network = self._network(
                    channel_id, f"announcement {index} of live session {session.id!r}"
                )
                if network is None:
                    continue
                self._add(
                    item=item, channel_id=channel_id, network=network,
                    times=[(1, shift(start, offset, self.tz))], grace=self.schedules.defaults.grace,
                    content=canonical_content({
                        "kind": item.kind, "network": network, **self._post_content(
                            announcement.template, variables, None, [], False, session_content)
                    }),
                )
        return PlannedSession(session.id, campaign.id, session.title, session.description,
                              start, session.duration, tuple(hosts))

    # -- posts ---------------------------------------------------------------------------------

    def _post_content(
        self,
        template: str,
        variables: dict[str, Any],
        link: str | None,
        media: list[str],
        thread: bool,
        session_content: dict[str, Any] | None,
    ) -> dict[str, Any]:
        defaults = self.schedules.defaults
        return {
            "template": template,
            "variables": variables,
            "link": link,
            "media": media,
            "thread": thread,
            "language": defaults.language,
            "utm": self.canonical_utm,
            "session": session_content,
        }

    def _canonical_base(self, campaign: Campaign, session: LiveSession | None) -> dict[str, Any]:
        """``_base_variables`` made canonical, once per campaign and session: 100,000 posts of
        one campaign would make its variables canonical again for each. (Their keys are text:
        merging canonical variables gives the canonical merged ones.)"""
        key = (id(campaign), id(session))  # both live as long as the planner
        base = self.bases.get(key)
        if base is None:
            base = self.bases[key] = canonical_content(self._base_variables(campaign, session))
        return base

    def _post_times(self, campaign: Campaign, post: Post) -> list[tuple[int, datetime]]:
        rules = [name for name in ("at", "every", "session") if getattr(post, name) is not None]
        where = f"post {post.id!r} of campaign {campaign.id!r}"
        if len(rules) != 1:
            self._problem(
                f"{where} has {len(rules)} time rules ({', '.join(rules) or 'none'})",
                "give exactly one of at, every or session",
            )
            return []
        if post.at is not None:
            return [(1, to_utc(post.at, self.tz))]
        if post.session is not None:
            found = self.sessions.get(post.session)
            if found is None:
                known = ", ".join(sorted(self.sessions)) or "none"
                self._problem(f"{where} refers to unknown live session {post.session!r}",
                              f"use one of: {known}")
                return []
            offset = (post.after or timedelta()) - (post.before or timedelta())
            return [(1, shift(to_utc(found[1].start, self.tz), offset, self.tz))]
        assert post.every is not None
        if campaign.start is None:
            self._problem(
                f"{where} repeats (every) but campaign {campaign.id!r} has no start",
                f"add start: to campaign {campaign.id!r}; recurrences begin there",
            )
            return []
        if post.count is None and post.until is None:
            self._problem(f"{where} repeats forever", "add count: N or until: DATE")
            return []
        until = to_utc(post.until, self.tz) if post.until is not None else None
        times: list[tuple[int, datetime]] = []
        skipped: set[date] = set()
        number = 0
        try:
            for fire in cron_times(post.every, self.tz, to_utc(campaign.start, self.tz)):
                if fire.astimezone(self.tz).date() in post.skip:
                    skipped.add(fire.astimezone(self.tz).date())
                    continue  # a holiday: the series pauses, numbers go on after it
                number += 1
                if post.count is not None and number > post.count:
                    break
                if until is not None and fire > until:
                    break
                if number > MAX_OCCURRENCES:
                    self._problem(f"{where} expands to more than {MAX_OCCURRENCES} occurrences",
                                  "check every:, or set a nearer until: / a smaller count:")
                    return []
                times.append((number, fire))
        except CronSyntaxError as exc:
            self._problem(f"{where}: every: {exc}",
                          "write 5 fields, e.g. '0 9 * * 1' for Mondays at 09:00")
            return []
        for day in sorted(set(post.skip) - skipped):
            self._problem(f"{where}: skip: {day} is not a date of this post",
                          f"list dates it falls on (every: {post.every!r})")
        return times

    def _override(self, post: Post, channel_id: str, network: Network) -> ChannelOverride | None:
        if channel_id in post.overrides:
            return post.overrides[channel_id]
        return post.overrides.get(network)

    def _plan_post(self, campaign: Campaign, post: Post) -> None:
        times = self._post_times(campaign, post)
        session = self.sessions[post.session][1] if post.session in self.sessions else None
        item = PlannedItem(post.id, DeliveryKind.POST, campaign.id, post.id,
                           session.id if session else None, post.template)
        self.items.append(item)
        grace = post.grace if post.grace is not None else self.schedules.defaults.grace
        session_content = self._session_content(session) if session is not None else None
        own_variables = canonical_content(post.variables)
        for channel_id in post.channels:
            network = self._network(channel_id, f"post {post.id!r}")
            if network is None:
                continue
            override = self._override(post, channel_id, network)
            if override is not None and override.skip:
                continue
            variables = dict(self._canonical_base(campaign, session))
            variables.update(own_variables)
            template, link, media = post.template, post.link, list(post.media)
            if override is not None:
                variables.update(canonical_content(override.variables))
                template = override.template or template
                link = override.link if override.link is not None else link
                media = list(override.media) if override.media is not None else media
            # canonical_content({"kind": ..., "network": ..., **_post_content(...)}), without
            # making the variables and utm canonical again (they are).
            content = {"kind": canonical(item.kind), "network": canonical(network)}
            for name, value in self._post_content(template, variables, link, media, post.thread,
                                                  session_content).items():
                content[name] = value if name in _CANONICAL_PARTS else canonical(value)
            self._add(item=item, channel_id=channel_id, network=network, times=times,
                      grace=grace, content=content)

    def _check_unique_keys(self) -> None:
        seen: set[str] = set()
        for item in self.items:
            if item.post_key in seen:
                self._problem(f"two posts or sessions share the id {item.post_key!r}",
                              "give every post and live session its own id")
            seen.add(item.post_key)
