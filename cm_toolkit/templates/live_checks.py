"""A live reminder that cannot carry its session's link: due (grace included) before the
session's broadcast or event is created. The publisher would hold it back for the link until its
grace window closes, then mark it ``missed``: ``cm check`` says so beforehand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from cm_toolkit.errors import Problem
from cm_toolkit.planning.models import DeliveryKind, PlannedDelivery
from cm_toolkit.workspace.durations import format_duration

SCHEDULES_FILE = "schedules.yaml"


def reminders_before_creation(
    deliveries: Iterable[PlannedDelivery],
) -> Iterator[tuple[Problem, PlannedDelivery]]:
    """(problem, announcement) for each announcement whose grace ends before its session has
    any host created (the earliest live setup of the session)."""
    items = list(deliveries)
    created: dict[str, tuple[datetime, PlannedDelivery]] = {}
    for setup in items:
        if setup.kind is DeliveryKind.LIVE_SETUP and setup.session_id is not None:
            known = created.get(setup.session_id)
            if known is None or setup.due_at < known[0]:
                created[setup.session_id] = (setup.due_at, setup)
    for delivery in items:
        if delivery.kind is not DeliveryKind.ANNOUNCEMENT or delivery.session_id is None:
            continue
        first = created.get(delivery.session_id)
        if first is None or delivery.due_at + delivery.grace >= first[0]:
            continue
        session_start = first[1].due_at + first[1].grace  # the setup's grace is create_before
        early = format_duration(session_start - delivery.due_at)
        yield Problem(
            SCHEDULES_FILE, None, None,
            f"{delivery.post_key} is due {early} before live session {delivery.session_id!r} "
            f"starts, but the session is created only {format_duration(first[1].grace)} before "
            "(create_before): this reminder would wait for its link and be missed",
            f"set create_before to at least {early} on the session, or send this reminder later",
        ), delivery
