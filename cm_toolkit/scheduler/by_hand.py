"""What a person does beside ``cm run``: publish a post now (``cm publish --now``), and say that a
manual channel's task was done (``cm done``). Library functions: the CLI only parses and prints.

``publish_now`` goes through the same publisher and the same ledger claim as ``cm run``, so a
``cm run`` running meanwhile never sends the delivery a second time. A crash at any line is safe:
before the claim, the delivery waits, due now, for the next ``cm run``; after it, this process's
in-flight file tells recovery whether the request had started (``sending/inflight.py``): not
started -> sent once by the next ``cm run``; started -> ``unknown``, for a person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cm_toolkit.channels.base import Capability
from cm_toolkit.clock import Clock
from cm_toolkit.errors import UsageError
from cm_toolkit.ledger import decisions
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import CLAIMABLE, DeliveryState, EventKind
from cm_toolkit.scheduler.pacing import Pacer
from cm_toolkit.scheduler.publisher import Attempt, Publisher, Step
from cm_toolkit.scheduler.workspace_host import ChannelsFactory, WorkspaceHost
from cm_toolkit.sending.inflight import InflightLog
from cm_toolkit.sending.worker import new_worker_id
from cm_toolkit.workspace.models import Workspace
from cm_toolkit.workspace.networks import network_capabilities


@dataclass(frozen=True)
class SentNow:
    channel_id: str
    attempt: Attempt

    @property
    def sent(self) -> bool:
        return self.attempt.step in (Step.PUBLISHED, Step.AWAITING_DONE)


def publish_now(*, root: Path, ledger: Ledger, clock: Clock, load: Callable[[Path], Workspace],
                channels: ChannelsFactory, post: str, channel: str | None = None,
                each: Callable[[SentNow], None] = lambda _sent: None) -> list[SentNow]:
    """Send the next waiting delivery of ``post`` on each of its channels (only ``channel``'s
    when given), now, after applying the workspace. One that is not sent keeps the date it was
    planned for. ``each`` hears every outcome as it comes (the CLI prints it). ``UsageError``
    when nothing of the post is waiting."""
    host = WorkspaceHost(root=root, ledger=ledger, now=clock.now, load=load, channels=channels)
    host.reload()
    waiting: dict[str, int] = {}
    planned: dict[int, datetime] = {}
    for row in decisions.deliveries_of(ledger, post, channel):
        if row.state in CLAIMABLE and row.channel_id not in waiting:
            planned[row.id] = row.due_at
            decisions.publish_now(ledger, row, clock.now())
            waiting[row.channel_id] = row.id
    if not waiting:
        raise UsageError(f"{post!r} has no delivery waiting to be sent",
                         fix="cm status shows its deliveries; cm retry re-plans a failed one")
    worker_id = new_worker_id()
    sends = InflightLog(root / ".cm" / "inflight", worker_id)  # before the first claim
    publisher = Publisher(
        ledger=ledger, view=host.current_view, channels=host, clock=clock,
        worker_id=worker_id, pacer=Pacer(timedelta(0), budgets={}),  # --now: no spacing
        inflight=sends,
    )
    results = []
    for channel_id, delivery_id in waiting.items():
        result = SentNow(channel_id, publisher.run(delivery_id))
        if not result.sent:  # it keeps the date it was planned for
            decisions.keep_planned_date(ledger, delivery_id, planned[delivery_id], clock.now())
        results.append(result)
        each(result)
    # every outcome is recorded: the file has served (left behind if an error stopped us, so
    # that recovery can tell whether a request had left)
    sends.close()
    return results


@dataclass(frozen=True)
class Done:
    delivery_id: int
    channel_id: str
    already: bool  # it was marked published before


def delivery_id_of(name: str) -> int:
    """The id in what a task file says: ``cm-delivery-42``, ``task:cm-delivery-42`` or ``42``."""
    text = name.removeprefix("task:").removeprefix("cm-delivery-")
    if not text.isdigit():
        raise UsageError(
            f"{name!r} is not a delivery id",
            fix="use the id the task file gives, e.g. `cm done cm-delivery-42` or `cm done 42`",
        )
    return int(text)


def mark_done(ledger: Ledger, name: str, now: datetime) -> Done:
    """A manual channel's task was published by a person: ``awaiting_done`` -> ``published``."""
    delivery_id = delivery_id_of(name)
    row = ledger.get(delivery_id)
    if row is None:
        raise UsageError(f"there is no delivery {delivery_id}", fix="see `cm status` for the ids")
    if Capability.MANUAL.value not in network_capabilities(row.network):
        raise UsageError(
            f"delivery {delivery_id} is on {row.network} channel {row.channel_id}, which "
            "publishes by itself",
            fix="`cm done` is for manual channels",
        )
    if row.state is DeliveryState.PUBLISHED:
        return Done(delivery_id, row.channel_id, already=True)
    if not ledger.transition(row.id, DeliveryState.PUBLISHED, now, EventKind.RESOLVED,
                             {"by": "cm done"}):
        raise UsageError(
            f"delivery {delivery_id} is {row.state.value}: it cannot be marked published",
            fix="only a task handed to you (awaiting_done) can be marked done",
        )
    return Done(delivery_id, row.channel_id, already=False)
