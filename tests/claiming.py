"""The tests' way to claim a delivery by id: read it, then the ledger's one claim (the
publisher's own two steps, without rendering or sending)."""

from __future__ import annotations

from datetime import datetime, timedelta

from cm_toolkit.ledger.repository import Ledger


def claim(ledger: Ledger, delivery_id: int, worker_id: str, now: datetime,
          lease: timedelta) -> bool:
    seen = ledger.snapshot(delivery_id)
    return seen is not None and ledger.claim(seen, worker_id, now, lease)
