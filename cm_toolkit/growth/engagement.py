"""Engagement of published posts: per post, per network, top posts.

Counters are cumulative, so a post's engagement is its **latest** measurement. Its engagement
rate is its interactions (reactions + comments + shares) divided by the channel's followers at
the time it was published (the last snapshot at or before, else the first after), in percent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cm_toolkit.ledger.report_reads import published_with_engagement
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.workspace.models import Network


@dataclass(frozen=True)
class PostPerformance:
    delivery_id: int
    post_key: str
    channel_id: str
    network: Network
    published_at: datetime
    url: str | None
    text: str | None
    reactions: int | None
    comments: int | None
    shares: int | None
    views: int | None
    measured_at: datetime | None
    followers: int | None  # the channel's followers when it was published

    @property
    def interactions(self) -> int | None:
        counts = [c for c in (self.reactions, self.comments, self.shares) if c is not None]
        return sum(counts) if counts else None

    @property
    def rate(self) -> float | None:
        if self.interactions is None or not self.followers:
            return None
        return 100.0 * self.interactions / self.followers


@dataclass(frozen=True)
class NetworkEngagement:
    network: Network
    posts: int  # published posts in the period
    measured: int  # of which have a measurement
    reactions: int
    comments: int
    shares: int
    views: int | None  # None: the network reports no views
    followers_sum: int  # followers at publication, summed over measured posts

    @property
    def interactions(self) -> int:
        return self.reactions + self.comments + self.shares

    @property
    def per_post(self) -> float | None:
        return self.interactions / self.measured if self.measured else None

    @property
    def rate(self) -> float | None:
        return 100.0 * self.interactions / self.followers_sum if self.followers_sum else None


def post_performance(
    ledger: Ledger,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel_id: str | None = None,
) -> list[PostPerformance]:
    """Published deliveries (publication time in the period), newest first, with engagement."""
    result: list[PostPerformance] = []
    for row in published_with_engagement(ledger, since=since, until=until,
                                         channel_id=channel_id):
        delivery, engagement, followers = row.delivery, row.engagement, row.followers
        result.append(PostPerformance(
            delivery.id, delivery.post_key, delivery.channel_id, delivery.network,
            delivery.updated_at, delivery.remote_url, delivery.rendered_text,
            engagement.reactions if engagement else None,
            engagement.comments if engagement else None,
            engagement.shares if engagement else None,
            engagement.views if engagement else None,
            engagement.measured_at if engagement else None,
            followers,
        ))
    return result


def per_network(posts: Sequence[PostPerformance]) -> list[NetworkEngagement]:
    """Totals per network; rate = interactions / followers at publication, over measured posts."""
    networks = sorted({p.network for p in posts})
    result: list[NetworkEngagement] = []
    for network in networks:
        mine = [p for p in posts if p.network == network]
        measured = [p for p in mine if p.measured_at is not None]
        views = [p.views for p in measured if p.views is not None]
        result.append(NetworkEngagement(
            network, len(mine), len(measured),
            sum(p.reactions or 0 for p in measured),
            sum(p.comments or 0 for p in measured),
            sum(p.shares or 0 for p in measured),
            sum(views) if views else None,
            sum(p.followers or 0 for p in measured if p.followers),
        ))
    return result


def top_posts(posts: Sequence[PostPerformance], limit: int = 10) -> list[PostPerformance]:
    """The most engaging posts (interactions, then views), measured ones only."""
    measured = [p for p in posts if p.interactions is not None]
    return sorted(measured, key=lambda p: (-(p.interactions or 0), -(p.views or 0),
                                           p.delivery_id))[:limit]
