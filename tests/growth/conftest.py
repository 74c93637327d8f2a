"""Growth tests: a ledger on SQLite (tmp file) and on PostgreSQL (own schema, skipped with the
reason when the server is unreachable), and helpers that write snapshots and deliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from cm_toolkit.ledger import Ledger
from cm_toolkit.ledger.models import Campaign, Delivery, Engagement, FollowerSnapshot, Post
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.planning.models import DeliveryKind
from cm_toolkit.workspace.models import Network
from tests.ledger_fixtures import database_url, ledger  # noqa: F401 (fixtures)

T0 = datetime(2027, 2, 1, 5, 0, tzinfo=UTC)


def add_snapshots(target: Ledger, channel_id: str, network: Network,
                  points: list[tuple[datetime, int]]) -> None:
    with target.writing() as session:
        for at, followers in points:
            session.add(FollowerSnapshot(channel_id=channel_id, network=network, taken_at=at,
                                         followers=followers))


def add_published(target: Ledger, key: str, channel_id: str, network: Network,
                  published_at: datetime, counts: tuple[int, int, int] | None,
                  state: DeliveryState = DeliveryState.PUBLISHED, error: str | None = None,
                  text: str | None = None) -> int:
    with target.writing() as session:
        if session.get(Campaign, "c") is None:
            session.add(Campaign(id="c", name="Campaign", start=T0, created_at=T0,
                                 updated_at=T0))
            session.flush()  # no ORM relationships: flush parents before children
        session.add(Post(key=key, kind=DeliveryKind.POST, campaign_id="c", post_id=key,
                         template="t", created_at=T0, updated_at=T0))
        session.flush()
        delivery = Delivery(post_key=key, channel_id=channel_id, network=network, occurrence=0,
                            due_at=published_at, state=state, attempts=1, fingerprint="f",
                            grace_seconds=3600, created_at=T0, updated_at=published_at,
                            remote_url=f"https://example.org/{key}", last_error=error,
                            rendered_text=text)
        session.add(delivery)
        session.flush()
        if counts is not None:
            reactions, comments, shares = counts
            session.add(Engagement(delivery_id=delivery.id, reactions=reactions // 2,
                                   comments=0, shares=0, measured_at=published_at))
            session.add(Engagement(delivery_id=delivery.id, reactions=reactions,
                                   comments=comments, shares=shares,
                                   measured_at=published_at.replace(hour=23)))
        return delivery.id
