"""Plan summaries for people and machines: what ``cm plan`` / ``cm apply`` print.

Grouped by (campaign, network): how many deliveries are created, changed, cancelled, and the
first due time among them. ``plan_as_dict`` is the ``--json`` form (times in UTC, ISO 8601).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cm_toolkit.ledger.apply import PlanDiff


@dataclass
class SummaryRow:
    campaign_id: str
    network: str
    create: int = 0
    change: int = 0
    cancel: int = 0
    first_due: datetime | None = None

    def see(self, due_at: datetime) -> None:
        if self.first_due is None or due_at < self.first_due:
            self.first_due = due_at


def summarize(plan_diff: PlanDiff) -> list[SummaryRow]:
    rows: dict[tuple[str, str], SummaryRow] = {}

    def row(campaign_id: str, network: str) -> SummaryRow:
        return rows.setdefault((campaign_id, network), SummaryRow(campaign_id, network))

    for planned in plan_diff.create:
        target = row(planned.campaign_id, planned.network)
        target.create += 1
        target.see(planned.due_at)
    for change in plan_diff.change:
        target = row(change.planned.campaign_id, change.planned.network)
        if change.revive:
            target.create += 1
        else:
            target.change += 1
        target.see(change.planned.due_at)
    for cancel in plan_diff.cancel:
        target = row(cancel.row.campaign_id, cancel.row.network)
        target.cancel += 1
        target.see(cancel.row.due_at)
    return sorted(rows.values(), key=lambda r: (r.campaign_id, r.network))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def plan_as_dict(plan_diff: PlanDiff) -> dict[str, Any]:
    create = [
        {"post_key": p.post_key, "channel": p.channel_id, "occurrence": p.occurrence,
         "network": p.network, "campaign": p.campaign_id, "kind": p.kind.value,
         "due_at": _iso(p.due_at), "fingerprint": p.fingerprint}
        for p in plan_diff.create
    ] + [
        {"post_key": c.planned.post_key, "channel": c.planned.channel_id,
         "occurrence": c.planned.occurrence, "network": c.planned.network,
         "campaign": c.planned.campaign_id, "kind": c.planned.kind.value,
         "due_at": _iso(c.planned.due_at), "fingerprint": c.planned.fingerprint,
         "delivery_id": c.row.id, "was": c.row.state.value}
        for c in plan_diff.revived
    ]
    change = [
        {"delivery_id": c.row.id, "post_key": c.planned.post_key, "channel": c.planned.channel_id,
         "occurrence": c.planned.occurrence, "network": c.planned.network,
         "campaign": c.planned.campaign_id, "state": c.row.state.value,
         "due_at": [_iso(c.row.due_at), _iso(c.planned.due_at)] if c.due_changed else None,
         "content_changed": c.content_changed}
        for c in plan_diff.change if not c.revive
    ]
    cancel = [
        {"delivery_id": c.row.id, "post_key": c.key[0], "channel": c.key[1],
         "occurrence": c.key[2], "network": c.row.network, "campaign": c.row.campaign_id,
         "due_at": _iso(c.row.due_at), "state": c.row.state.value}
        for c in plan_diff.cancel
    ]
    return {
        "summary": [
            {"campaign": r.campaign_id, "network": r.network, "create": r.create,
             "change": r.change, "cancel": r.cancel, "first_due": _iso(r.first_due)}
            for r in summarize(plan_diff)
        ],
        "create": create,
        "change": change,
        "cancel": cancel,
        "unchanged": plan_diff.unchanged,
        "locked": plan_diff.locked,
    }
