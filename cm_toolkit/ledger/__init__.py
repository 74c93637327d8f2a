"""The ledger: the database that is the truth about every delivery (SQLite or PostgreSQL).

``open_ledger`` opens (creates, migrates) it; ``Ledger`` holds the state machine
(``claim``, ``record_outcome``...); ``apply.diff``/``apply.apply`` bring a plan into it.
See docs/ledger.md.
"""

from __future__ import annotations

from cm_toolkit.ledger.engine import LedgerAccess, default_database_url, open_ledger
from cm_toolkit.ledger.repository import DueDelivery, Ledger, StateCount
from cm_toolkit.ledger.states import ALLOWED_TRANSITIONS, DeliveryState, EventKind

__all__ = [
    "ALLOWED_TRANSITIONS",
    "DeliveryState",
    "DueDelivery",
    "EventKind",
    "Ledger",
    "LedgerAccess",
    "StateCount",
    "default_database_url",
    "open_ledger",
]
