"""Crash recovery at start: deliveries left ``sending`` by a dead process of this machine.

Each goes back to waiting when that process's in-flight file proves its request never started
(``sending/inflight.py``): it is then sent once, at the next alarm. Otherwise its request may
have reached the network, and it becomes ``unknown`` now (rather than when its lease ends): a
person checks the network and decides with ``cm resolve``; it is never re-sent automatically.
A ``sending`` delivery of another machine's worker is left to its lease (``expire_leases``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.schedule import sending_claims
from cm_toolkit.ledger.states import DeliveryState, EventKind
from cm_toolkit.scheduler.notify import Notifier
from cm_toolkit.sending import inflight
from cm_toolkit.sending.worker import died_here

log = logging.getLogger("cm.runner")


def recover_orphans(ledger: Ledger, worker_id: str, now: datetime, folder: Path,
                    notifier: Notifier | None) -> list[int]:
    """Settle the orphans of dead local workers; their ids, released or made unknown."""
    orphans = [(delivery_id, str(claimed_by)) for delivery_id, claimed_by in sending_claims(ledger)
               if claimed_by != worker_id and died_here(claimed_by)]
    started = {worker: inflight.started_ids(folder, worker)
               for worker in {worker for _, worker in orphans}}
    for delivery_id, worker in orphans:
        ids = started[worker]
        if ids is not None and delivery_id not in ids:
            back = ledger.release_unsent(delivery_id, worker, now,
                                         "its process stopped before the request left")
            if back is not None:
                log.info("delivery %s -> %s (its process stopped before sending it)",
                         delivery_id, back.value)
                continue
        if ledger.transition(
            delivery_id, DeliveryState.UNKNOWN, now, EventKind.LEASE_EXPIRED,
            {"reason": "the process sending it stopped; it may have been published"},
            lease_until=None,
            last_error="the process stopped while sending: check the network, then cm resolve",
        ):
            log.warning("delivery %s -> unknown (process died while sending)", delivery_id)
            if notifier:
                notifier.notify(delivery_id, "unknown", "process died while sending")
    inflight.forget_dead(folder, died_here)
    return [delivery_id for delivery_id, _ in orphans]
