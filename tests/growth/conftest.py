"""Growth tests: a ledger on SQLite (tmp file) and on PostgreSQL (own schema, skipped with the
reason when the server is unreachable), and helpers that write snapshots and deliveries."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from cm_toolkit.ledger import Ledger, open_ledger
from cm_toolkit.ledger.models import Campaign, Delivery, Engagement, FollowerSnapshot, Post
from cm_toolkit.ledger.states import DeliveryState
from cm_toolkit.planning.models import DeliveryKind
from cm_toolkit.workspace.models import Network

POSTGRES_URL = os.environ.get(
    "CM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
T0 = datetime(2027, 2, 1, 5, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    admin = sa.create_engine(POSTGRES_URL)
    schema = f"cm_growth_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {str(exc.orig).splitlines()[0]}")
    url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def ledger(database_url: str, tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(database_url, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def add_snapshots(ledger: Ledger, channel_id: str, network: Network,
                  points: list[tuple[datetime, int]]) -> None:
    with ledger.writing() as session:
        for at, followers in points:
            session.add(FollowerSnapshot(channel_id=channel_id, network=network, taken_at=at,
                                         followers=followers))


def add_published(ledger: Ledger, key: str, channel_id: str, network: Network,
                  published_at: datetime, counts: tuple[int, int, int] | None,
                  state: DeliveryState = DeliveryState.PUBLISHED, error: str | None = None,
                  text: str | None = None) -> int:
    with ledger.writing() as session:
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
