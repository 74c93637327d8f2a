from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cm_toolkit.errors import LedgerError
from cm_toolkit.ledger import DeliveryState, EventKind, Ledger
from cm_toolkit.ledger import models as m
from cm_toolkit.ledger.apply import apply, diff
from cm_toolkit.planning import plan_workspace
from tests.claiming import claim

from .conftest import workspace

NOW = datetime(2027, 1, 1, tzinfo=UTC)
WEEKLY = {"id": "weekly", "template": "tip", "channels": ["x-mooc", "facebook-page"],
          "every": "0 9 * * 1", "count": 4, "variables": {"n": 1}}
ONCE = {"id": "once", "template": "hello", "channels": ["x-mooc"],
        "at": datetime(2027, 2, 1, 10)}
SESSION = {"id": "live1", "title": "Q&A", "start": datetime(2027, 3, 1, 18),
           "duration": timedelta(hours=1), "hosted_on": ["youtube"],
           "announce_on": ["x-mooc"], "announcements": [{"template": "r", "before": "PT1H"}]}


def apply_workspace(ledger: Ledger, root: Path, posts: list[dict[str, Any]],
                    **campaign: Any) -> Any:
    result_diff = diff(plan_workspace(workspace(root, posts, **campaign)), ledger)
    apply(result_diff, ledger, NOW)
    return result_diff


def states(ledger: Ledger) -> dict[tuple[str, str, int], DeliveryState]:
    with ledger.reading() as session:
        return {(d.post_key, d.channel_id, d.occurrence): d.state
                for d in session.scalars(select(m.Delivery))}


def publish(ledger: Ledger, delivery_id: int) -> None:
    row = ledger.get(delivery_id)
    assert row is not None
    assert claim(ledger, delivery_id, "w1", row.due_at, timedelta(minutes=5))
    ledger.record_outcome(delivery_id, "w1", DeliveryState.PUBLISHED, row.due_at,
                          remote_id="123", rendered_text="sent")


def ids_by_key(ledger: Ledger) -> dict[tuple[str, str, int], int]:
    with ledger.reading() as session:
        return {(d.post_key, d.channel_id, d.occurrence): d.id
                for d in session.scalars(select(m.Delivery))}


def test_apply_creates_every_delivery_with_events(ledger: Ledger, tmp_path: Path) -> None:
    first = apply_workspace(ledger, tmp_path, [WEEKLY, ONCE], live_sessions=[SESSION])
    assert len(first.create) == 8 + 1 + 2  # 4 weeks x 2 channels, once, live setup + reminder
    assert set(states(ledger).values()) == {DeliveryState.PLANNED}
    with ledger.reading() as session:
        assert session.scalar(select(func.count()).select_from(m.Event)
                              .where(m.Event.kind == EventKind.PLANNED)) == 11
        assert session.get(m.Campaign, "mooc") is not None
        assert session.get(m.Post, "live1/live").kind.value == "live_setup"  # type: ignore
        hosts = session.scalars(select(m.LiveSessionHost)).all()
        assert [(h.session_id, h.channel_id) for h in hosts] == [("live1", "youtube")]
        due = session.scalars(select(m.Delivery.due_at).where(m.Delivery.post_key == "once"))
        assert list(due) == [datetime(2027, 2, 1, 9, tzinfo=UTC)]


def test_reapply_is_a_no_op(ledger: Ledger, tmp_path: Path) -> None:
    apply_workspace(ledger, tmp_path, [WEEKLY, ONCE], live_sessions=[SESSION])
    with ledger.reading() as session:
        events_before = session.scalar(select(func.count()).select_from(m.Event))
        versions_before = list(session.scalars(select(m.Delivery.version)))
    second = apply_workspace(ledger, tmp_path, [WEEKLY, ONCE], live_sessions=[SESSION])
    assert second.is_empty and second.unchanged == 11
    with ledger.reading() as session:
        assert session.scalar(select(func.count()).select_from(m.Event)) == events_before
        assert list(session.scalars(select(m.Delivery.version))) == versions_before


def test_edit_changes_only_deliveries_not_yet_sent(ledger: Ledger, tmp_path: Path) -> None:
    apply_workspace(ledger, tmp_path, [WEEKLY])
    ids = ids_by_key(ledger)
    publish(ledger, ids[("weekly", "x-mooc", 1)])
    publish(ledger, ids[("weekly", "x-mooc", 2)])
    old = ledger.get(ids[("weekly", "x-mooc", 1)])
    assert old is not None

    edited = apply_workspace(ledger, tmp_path, [{**WEEKLY, "variables": {"n": 2}}])
    changed = {(c.planned.channel_id, c.planned.occurrence) for c in edited.change}
    assert changed == {("x-mooc", 3), ("x-mooc", 4)} | {("facebook-page", n) for n in range(1, 5)}
    assert edited.locked == 2 and not edited.create and not edited.cancel
    assert all(c.content_changed and not c.due_changed for c in edited.change)

    published = ledger.get(ids[("weekly", "x-mooc", 1)])
    assert published is not None
    assert (published.fingerprint, published.version, published.state) == (
        old.fingerprint, old.version, DeliveryState.PUBLISHED)
    later = ledger.get(ids[("weekly", "x-mooc", 3)])
    new = next(c.planned for c in edited.change if c.planned.key == ("weekly", "x-mooc", 3))
    assert later is not None and later.fingerprint == new.fingerprint != old.fingerprint
    kinds = [e.kind for e in ledger.events(ids[("weekly", "x-mooc", 3)])]
    assert kinds == [EventKind.PLANNED, EventKind.CHANGED]


def test_moving_a_post_changes_its_due_time(ledger: Ledger, tmp_path: Path) -> None:
    apply_workspace(ledger, tmp_path, [ONCE])
    moved = apply_workspace(ledger, tmp_path, [{**ONCE, "at": datetime(2027, 2, 2, 10)}])
    assert len(moved.change) == 1 and moved.change[0].due_changed
    assert not moved.change[0].content_changed
    row = ledger.get(ids_by_key(ledger)[("once", "x-mooc", 1)])
    assert row is not None and row.due_at == datetime(2027, 2, 2, 9, tzinfo=UTC)


def test_removed_posts_are_cancelled_and_published_kept(ledger: Ledger, tmp_path: Path) -> None:
    apply_workspace(ledger, tmp_path, [WEEKLY, ONCE])
    ids = ids_by_key(ledger)
    publish(ledger, ids[("weekly", "x-mooc", 1)])
    removed = apply_workspace(ledger, tmp_path, [ONCE])
    assert len(removed.cancel) == 7  # 8 weekly deliveries, one already published
    after = states(ledger)
    assert after[("weekly", "x-mooc", 1)] is DeliveryState.PUBLISHED
    assert after[("weekly", "facebook-page", 4)] is DeliveryState.CANCELLED
    assert after[("once", "x-mooc", 1)] is DeliveryState.PLANNED
    with ledger.reading() as session:
        post = session.get(m.Post, "weekly")
        assert post is not None and post.in_workspace is False

    back = apply_workspace(ledger, tmp_path, [WEEKLY, ONCE])
    assert len(back.revived) == 7 and not back.create
    assert set(states(ledger).values()) == {DeliveryState.PLANNED, DeliveryState.PUBLISHED}
    kinds = [e.kind for e in ledger.events(ids[("weekly", "facebook-page", 4)])]
    assert kinds == [EventKind.PLANNED, EventKind.CANCELLED, EventKind.REPLANNED]


def test_fewer_occurrences_cancel_the_extra_ones(ledger: Ledger, tmp_path: Path) -> None:
    apply_workspace(ledger, tmp_path, [WEEKLY])
    shorter = apply_workspace(ledger, tmp_path, [{**WEEKLY, "count": 2}])
    assert sorted(c.key for c in shorter.cancel) == sorted(
        ("weekly", ch, n) for ch in ("x-mooc", "facebook-page") for n in (3, 4))


def test_apply_refuses_when_the_scheduler_started_a_row(ledger: Ledger, tmp_path: Path) -> None:
    apply_workspace(ledger, tmp_path, [ONCE])
    pending = diff(plan_workspace(workspace(tmp_path, [{**ONCE, "template": "bye"}])), ledger)
    delivery_id = ids_by_key(ledger)[("once", "x-mooc", 1)]
    assert claim(ledger, delivery_id, "w1", datetime(2027, 2, 1, 9, tzinfo=UTC),
                        timedelta(minutes=5))
    with pytest.raises(LedgerError, match="changed while the plan was being applied"):
        apply(pending, ledger, NOW)
    row = ledger.get(delivery_id)
    assert row is not None and row.state is DeliveryState.SENDING
    assert row.fingerprint != pending.change[0].planned.fingerprint
