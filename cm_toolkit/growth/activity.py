"""The activity report's data: deliveries per network and week, failures, live sessions, growth,
and the inbox's interactivity (``growth.interactivity``).

``build_activity`` reads everything once from the ledger; the CSV and HTML writers
(``growth.report``) and the dashboard only format what it returns.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from cm_toolkit.growth.context import GrowthContext
from cm_toolkit.growth.engagement import (
    NetworkEngagement,
    PostPerformance,
    per_network,
    post_performance,
    top_posts,
)
from cm_toolkit.growth.interactivity import Interactivity, build_interactivity
from cm_toolkit.growth.metrics import GrowthTable, Period, bucket_of, growth_table
from cm_toolkit.ledger.models import LiveSessionHost
from cm_toolkit.ledger.report_reads import deliveries_due, live_sessions
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.planning.models import DeliveryKind
from cm_toolkit.workspace.models import Network

NEEDS_REVIEW: tuple[DeliveryState, ...] = (
    DeliveryState.UNKNOWN, DeliveryState.FAILED, DeliveryState.MISSED,
    DeliveryState.AWAITING_DONE,
)
"""States a person has to look at (the dashboard's review list, the report's failures)."""


@dataclass(frozen=True)
class DeliveryLine:
    id: int
    post_key: str
    kind: DeliveryKind
    campaign_id: str
    channel_id: str
    network: Network
    due_at: datetime
    week: date  # first local day of the ISO week of ``due_at``
    state: DeliveryState
    attempts: int
    updated_at: datetime
    url: str | None
    error: str | None
    text: str | None = None  # the text as rendered for its network (sent, or to be sent)


@dataclass(frozen=True)
class HostLink:
    channel_id: str
    network: Network
    url: str | None
    event_link: str | None


@dataclass(frozen=True)
class SessionLine:
    id: str
    title: str
    start: datetime
    duration_minutes: int
    hosts: list[HostLink]


@dataclass
class ActivityReport:
    context: GrowthContext
    since: datetime | None
    until: datetime | None
    generated_at: datetime
    deliveries: list[DeliveryLine]
    sessions: list[SessionLine]
    growth: GrowthTable
    posts: list[PostPerformance]
    engagement: list[NetworkEngagement] = field(default_factory=list)
    top: list[PostPerformance] = field(default_factory=list)
    interactivity: Interactivity | None = None

    @property
    def failures(self) -> list[DeliveryLine]:
        return [d for d in self.deliveries if d.state in NEEDS_REVIEW]

    def weekly_states(self) -> list[tuple[date, Network, Counter[DeliveryState]]]:
        """(week, network) -> count of deliveries per state, weeks in order."""
        counts: dict[tuple[date, Network], Counter[DeliveryState]] = {}
        for line in self.deliveries:
            counts.setdefault((line.week, line.network), Counter())[line.state] += 1
        return [(week, network, counts[(week, network)])
                for week, network in sorted(counts, key=lambda k: (k[0], k[1]))]

    def states_present(self) -> list[DeliveryState]:
        seen = {line.state for line in self.deliveries}
        return [state for state in DeliveryState if state in seen]


def delivery_lines(
    ledger: Ledger, context: GrowthContext, *, since: datetime | None = None,
    until: datetime | None = None, states: tuple[DeliveryState, ...] | None = None,
    limit: int | None = None,
) -> list[DeliveryLine]:
    """Deliveries due in the period (by due time), oldest first."""
    return [
        DeliveryLine(d.id, d.post_key, row.kind, row.campaign_id, d.channel_id, d.network,
                     d.due_at, bucket_of(d.due_at, Period.WEEK, context.zone), d.state,
                     d.attempts, d.updated_at, d.remote_url, d.last_error, d.rendered_text)
        for row in deliveries_due(ledger, since=since, until=until, states=states, limit=limit)
        for d in (row.delivery,)
    ]


def session_lines(
    ledger: Ledger, *, since: datetime | None = None, until: datetime | None = None,
    limit: int | None = None,
) -> list[SessionLine]:
    """Live sessions starting in the period, with the link of each host."""
    return [SessionLine(s.id, s.title, s.start, s.duration_seconds // 60,
                        [_host_link(host) for host in hosts])
            for s, hosts in live_sessions(ledger, since=since, until=until, limit=limit)]


def _host_link(host: LiveSessionHost) -> HostLink:
    details = host.details or {}
    event_link = details.get("event_link")
    return HostLink(host.channel_id, host.network, host.remote_url,
                    event_link if isinstance(event_link, str) else None)


def build_activity(
    ledger: Ledger, context: GrowthContext, *, since: datetime | None = None,
    until: datetime | None = None, now: datetime,
) -> ActivityReport:
    """Everything the activity report shows for the period ``[since, until]``."""
    posts = post_performance(ledger, since=since, until=until)
    return ActivityReport(
        context=context,
        since=since,
        until=until,
        generated_at=now,
        deliveries=delivery_lines(ledger, context, since=since, until=until),
        sessions=session_lines(ledger, since=since, until=until),
        growth=growth_table(ledger, context, since=since, until=until),
        posts=posts,
        engagement=per_network(posts),
        top=top_posts(posts),
        interactivity=build_interactivity(ledger, context.zone, since=since, until=until,
                                          now=now),
    )
