"""Planning: expand a workspace into dated deliveries (``plan_workspace``).

The planner is pure: it reads a ``Workspace`` and returns a ``Plan``; comparing the plan with
the ledger and applying it is ``cm_toolkit.ledger.apply``.
"""

from __future__ import annotations

from cm_toolkit.planning.expand import announcement_key, live_setup_key, plan_workspace
from cm_toolkit.planning.growth import growth_snapshot_times
from cm_toolkit.planning.models import (
    DeliveryKey,
    DeliveryKind,
    Plan,
    PlannedCampaign,
    PlannedDelivery,
    PlannedHost,
    PlannedItem,
    PlannedSession,
)

__all__ = [
    "DeliveryKey",
    "DeliveryKind",
    "Plan",
    "PlannedCampaign",
    "PlannedDelivery",
    "PlannedHost",
    "PlannedItem",
    "PlannedSession",
    "announcement_key",
    "growth_snapshot_times",
    "live_setup_key",
    "plan_workspace",
]
