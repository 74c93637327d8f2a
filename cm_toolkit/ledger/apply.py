"""Plan/apply: compare a ``Plan`` with the ledger, then write the difference in one transaction.

Semantics (docs/ledger.md):

- **create**: a planned delivery with no ledger row; or a ``cancelled`` row whose item is back in
  the workspace; or a ``missed`` row whose due time was moved (both come back as ``planned``).
- **change**: a row still ``planned`` or ``retry_wait`` (nothing sent yet) whose due time,
  content fingerprint or grace differ. Whether its due time is past does not matter: it has not
  started, so it takes the new rules (the scheduler marks it missed if its grace is over).
  A ``retry_wait`` row whose due time moved goes back to ``planned``.
- **cancel**: a ``planned`` or ``retry_wait`` row no longer in the workspace.
- **locked**: rows that differ from the workspace but already started (``sending``,
  ``published``, ``unknown``, ``failed``): never altered; counted so the plan can say so.

``apply`` re-checks every row's version in its UPDATE: if the scheduler claimed a row since the
diff was computed, nothing is written and ``LedgerError`` asks to plan again. Applying the same
plan twice writes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from cm_toolkit.errors import LedgerError
from cm_toolkit.ledger import models as m
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import NOT_STARTED, DeliveryState, EventKind
from cm_toolkit.ledger.texts import recorded_texts
from cm_toolkit.planning.models import DeliveryKey, Plan, PlannedDelivery
from cm_toolkit.workspace.models import Network

S = DeliveryState


@dataclass(frozen=True)
class LedgerRow:
    """What the diff needs of an existing delivery."""

    id: int
    version: int
    state: DeliveryState
    due_at: datetime
    fingerprint: str
    grace_seconds: int
    network: Network
    campaign_id: str
    held: bool = False

    @staticmethod
    def of(row: m.Delivery, campaign_id: str) -> LedgerRow:
        return LedgerRow(row.id, row.version, row.state, row.due_at, row.fingerprint,
                         row.grace_seconds, row.network, campaign_id, bool(row.held))


@dataclass(frozen=True)
class DeliveryChange:
    """An existing row that will take the planned values. ``revive``: it comes back to planned
    from ``cancelled`` or ``missed`` (shown as a creation)."""

    row: LedgerRow
    planned: PlannedDelivery
    revive: bool = False

    @property
    def due_changed(self) -> bool:
        return self.row.due_at != self.planned.due_at

    @property
    def content_changed(self) -> bool:
        return self.row.fingerprint != self.planned.fingerprint


@dataclass(frozen=True)
class DeliveryCancel:
    key: DeliveryKey
    row: LedgerRow


@dataclass(frozen=True)
class TextChange:
    """A delivery not sent yet whose text (``text_digest``) is not the one the last ``cm apply``
    recorded: ``was`` None when none was recorded (then it is only recorded, not shown)."""

    row: LedgerRow
    planned: PlannedDelivery
    was: str | None
    now: str


@dataclass
class PlanDiff:
    plan: Plan
    create: list[PlannedDelivery] = field(default_factory=list)
    change: list[DeliveryChange] = field(default_factory=list)
    cancel: list[DeliveryCancel] = field(default_factory=list)
    unchanged: int = 0
    locked: int = 0
    texts: Mapping[DeliveryKey, str] = field(default_factory=dict)  # the digests of now
    retext: list[TextChange] = field(default_factory=list)

    @property
    def texts_changed(self) -> list[TextChange]:
        """The deliveries whose text changed since the last ``cm apply`` (templates edited)."""
        return [t for t in self.retext if t.was is not None]

    @property
    def revived(self) -> list[DeliveryChange]:
        return [change for change in self.change if change.revive]

    @property
    def is_empty(self) -> bool:
        return not (self.create or self.change or self.cancel)


def _grace_seconds(planned: PlannedDelivery) -> int:
    return int(planned.grace.total_seconds())


def _differs(row: LedgerRow, planned: PlannedDelivery) -> bool:
    return (row.due_at != planned.due_at or row.fingerprint != planned.fingerprint
            or row.grace_seconds != _grace_seconds(planned))


def diff(plan: Plan, ledger: Ledger, texts: Mapping[DeliveryKey, str] | None = None) -> PlanDiff:
    """What ``apply`` would do to bring ``ledger`` to ``plan``. Reads only.

    ``texts`` (each delivery's ``text_digest``, from the checks of ``cm plan`` / ``cm apply``)
    adds the deliveries not sent yet whose text is not the last one recorded
    (``ledger/texts.py``)."""
    with ledger.reading() as session:
        rows = {
            (row.post_key, row.channel_id, row.occurrence): LedgerRow.of(row, campaign_id)
            for row, campaign_id in session.execute(
                select(m.Delivery, m.Post.campaign_id).join(
                    m.Post, m.Post.key == m.Delivery.post_key
                )
            )
        }
    result = PlanDiff(plan, texts=texts or {})
    recorded = recorded_texts(ledger) if texts else {}
    for planned in plan.deliveries:
        row = rows.pop(planned.key, None)
        if row is not None and row.state in NOT_STARTED and texts:
            now = texts.get(planned.key)
            if now is not None and recorded.get(row.id) != now:
                result.retext.append(TextChange(row, planned, recorded.get(row.id), now))
        if row is None:
            result.create.append(planned)
        elif row.state is S.CANCELLED and row.held:
            result.locked += 1  # a person cancelled it: it stays cancelled
        elif row.state is S.CANCELLED or (row.state is S.MISSED and row.due_at != planned.due_at):
            result.change.append(DeliveryChange(row, planned, revive=True))
        elif not _differs(row, planned) or row.state is S.MISSED:
            result.unchanged += 1
        elif row.state in NOT_STARTED:
            result.change.append(DeliveryChange(row, planned))
        else:
            result.locked += 1
    for key, row in rows.items():
        if row.state in NOT_STARTED:
            result.cancel.append(DeliveryCancel(key, row))
    result.cancel.sort(key=lambda c: (c.row.due_at, c.key))
    return result


@dataclass(frozen=True)
class ApplyResult:
    created: int
    changed: int
    cancelled: int
    catalogue_rows: int  # campaigns, posts, sessions and hosts inserted or updated


def apply(plan_diff: PlanDiff, ledger: Ledger, now: datetime) -> ApplyResult:
    """Write ``plan_diff`` in one transaction, with one event per delivery touched."""
    if now.tzinfo is None:
        raise ValueError("apply needs an aware 'now'")
    with ledger.writing() as session:
        catalogue = _upsert_catalogue(session, plan_diff.plan, now)
        session.flush()
        created = [
            m.Delivery(
                post_key=p.post_key, channel_id=p.channel_id, network=p.network,
                occurrence=p.occurrence, due_at=p.due_at, state=S.PLANNED, attempts=0,
                fingerprint=p.fingerprint, grace_seconds=_grace_seconds(p),
                created_at=now, updated_at=now, version=1, held=False,
            )
            for p in plan_diff.create
        ]
        session.add_all(created)
        session.flush()
        for row, planned in zip(created, plan_diff.create, strict=True):
            detail = {"due_at": row.due_at.isoformat()}
            if planned.key in plan_diff.texts:
                detail["text"] = plan_diff.texts[planned.key]
            session.add(m.Event(at=now, delivery_id=row.id, kind=EventKind.PLANNED,
                                from_state=None, to_state=S.PLANNED, detail=detail))
        for change in plan_diff.change:
            _write_change(session, change, now, plan_diff.texts.get(change.planned.key))
        for text in plan_diff.retext:
            # the journal only: the text is rendered again at sending, whatever this says
            session.add(m.Event(at=now, delivery_id=text.row.id, kind=EventKind.TEXT,
                                from_state=text.row.state, to_state=text.row.state,
                                detail={"text": [text.was, text.now]}))
        for cancel in plan_diff.cancel:
            _compare_and_set(session, cancel.row, now, {"state": S.CANCELLED})
            session.add(m.Event(at=now, delivery_id=cancel.row.id, kind=EventKind.CANCELLED,
                                from_state=cancel.row.state, to_state=S.CANCELLED,
                                detail={"reason": "no longer in the workspace"}))
    return ApplyResult(len(created) + len(plan_diff.revived),
                       len(plan_diff.change) - len(plan_diff.revived),
                       len(plan_diff.cancel), catalogue)


def _compare_and_set(session: Any, row: LedgerRow, now: datetime, values: dict[str, Any]) -> None:
    result = cast(
        CursorResult[Any],
        session.execute(
            update(m.Delivery)
            .where(m.Delivery.id == row.id, m.Delivery.version == row.version)
            .values(version=m.Delivery.version + 1, updated_at=now, **values)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        raise LedgerError(
            f"delivery {row.id} changed while the plan was being applied (the scheduler may "
            "have started it); nothing was written",
            fix="run cm plan / cm apply again",
        )


def _write_change(session: Any, change: DeliveryChange, now: datetime,
                  text: str | None = None) -> None:
    planned, row = change.planned, change.row
    values: dict[str, Any] = {
        "due_at": planned.due_at, "fingerprint": planned.fingerprint,
        "grace_seconds": _grace_seconds(planned), "network": planned.network,
    }
    target = row.state
    if change.revive or (row.state is S.RETRY_WAIT and change.due_changed):
        target = S.PLANNED
        values.update(state=S.PLANNED, next_attempt_at=None)
    _compare_and_set(session, row, now, values)
    detail: dict[str, Any] = {}
    if change.due_changed:
        detail["due_at"] = [row.due_at.isoformat(), planned.due_at.isoformat()]
    if change.content_changed:
        detail["fingerprint"] = [row.fingerprint, planned.fingerprint]
    if change.revive and text is not None:
        detail["text"] = text  # back from cancelled or missed: its text of now
    session.add(m.Event(at=now, delivery_id=row.id,
                        kind=EventKind.REPLANNED if change.revive else EventKind.CHANGED,
                        from_state=row.state, to_state=target, detail=detail))


def _sync(session: Any, model: type[Any], key: Any, values: dict[str, Any], now: datetime) -> int:
    """Insert or update one catalogue row; 1 when something was written."""
    row = session.get(model, key)
    if row is None:
        session.add(model(**values, created_at=now, updated_at=now))
        return 1
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    if changed:
        row.updated_at = now
    return 1 if changed else 0


def _upsert_catalogue(session: Any, plan: Plan, now: datetime) -> int:
    written = 0
    for campaign in plan.campaigns:
        written += _sync(session, m.Campaign, campaign.id,
                         {"id": campaign.id, "name": campaign.name, "start": campaign.start,
                          "in_workspace": True}, now)
    session.flush()  # posts and sessions refer to campaigns
    for live in plan.sessions:
        written += _sync(session, m.LiveSession, live.id,
                         {"id": live.id, "campaign_id": live.campaign_id, "title": live.title,
                          "description": live.description, "start": live.start,
                          "duration_seconds": int(live.duration.total_seconds()),
                          "in_workspace": True}, now)
    for item in plan.items:
        written += _sync(session, m.Post, item.post_key,
                         {"key": item.post_key, "kind": item.kind,
                          "campaign_id": item.campaign_id, "post_id": item.post_id,
                          "session_id": item.session_id, "template": item.template,
                          "in_workspace": True}, now)
    session.flush()
    hosts = {(h.session_id, h.channel_id) for h in session.scalars(select(m.LiveSessionHost))}
    for live in plan.sessions:
        for host in live.hosts:
            if (live.id, host.channel_id) not in hosts:
                session.add(m.LiveSessionHost(session_id=live.id, channel_id=host.channel_id,
                                              network=host.network, created_at=now,
                                              updated_at=now))
                written += 1
    # Rows that left the workspace stay (history, published deliveries refer to them).
    present: list[tuple[Any, set[str]]] = [
        (select(m.Campaign).where(m.Campaign.in_workspace.is_(True)), {c.id for c in plan.campaigns}),
        (select(m.LiveSession).where(m.LiveSession.in_workspace.is_(True)),
         {s.id for s in plan.sessions}),
        (select(m.Post).where(m.Post.in_workspace.is_(True)), {i.post_key for i in plan.items}),
    ]
    for query, keys in present:
        for row in session.scalars(query):
            if (row.key if isinstance(row, m.Post) else row.id) not in keys:
                row.in_workspace = False
                row.updated_at = now
                written += 1
    return written
