"""The "has passed" warnings checked against the ledger: a delivery already published is no news.

``cm check``, ``cm plan`` and ``cm apply`` warn for each time of schedules.yaml that has passed
("it will not be published", a ``PastDue``). When a ledger exists, the deliveries a warning is
about (those of its item or live session due before now) are looked up there: the warning is
dropped when every one of them was published, and says how many were when only some were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable
from datetime import datetime

from cm_toolkit.errors import Problem
from cm_toolkit.planning.models import DeliveryKey, PlannedDelivery
from cm_toolkit.workspace.time_rules import PastDue

PublishedLookup = Callable[[Collection[str]], set[DeliveryKey]]
"""Of the deliveries of these post keys, the keys of those the ledger holds as published."""


def settle_past_due(
    problems: list[Problem],
    deliveries: Iterable[PlannedDelivery],
    published: PublishedLookup,
    now: datetime,
) -> list[Problem]:
    """``problems`` without the past-time warnings whose deliveries were all published."""
    if not any(isinstance(problem, PastDue) for problem in problems):
        return problems  # the ledger is not even read
    of_item: dict[str, list[DeliveryKey]] = {}
    of_session: dict[str, list[DeliveryKey]] = {}
    for delivery in deliveries:
        if delivery.due_at >= now:
            continue  # still ahead: not what the warning is about
        of_item.setdefault(delivery.post_key, []).append(delivery.key)
        session = delivery.session_id
        if session is not None and delivery.post_key.startswith(f"{session}/"):
            of_session.setdefault(session, []).append(delivery.key)  # setup, announcements

    def concerned(problem: PastDue) -> list[DeliveryKey]:
        if problem.session_id is not None:
            return of_session.get(problem.session_id, [])
        return of_item.get(problem.post_key, []) if problem.post_key is not None else []

    wanted = {key[0] for p in problems if isinstance(p, PastDue) for key in concerned(p)}
    sent = published(wanted) if wanted else set()
    settled: list[Problem] = []
    for problem in problems:
        if isinstance(problem, PastDue):
            keys = concerned(problem)
            done = sum(1 for key in keys if key in sent)
            if keys and done == len(keys):
                continue
            if done:
                problem = dataclasses.replace(
                    problem, message=f"{problem.message} ({done} of its {len(keys)} deliveries "
                    "were published)",
                    fix="the others will not be: change its time if they still should be")
        settled.append(problem)
    return settled
