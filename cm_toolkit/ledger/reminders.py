"""Live reminders whose moment has passed: ``cm review`` must not suggest sending them again.

A reminder is written for its instant ("demain à 18:00", "we are live now"). Retried later, it
would say "tomorrow" on the day itself, announce a session that has started, or repeat news a
later reminder already gave. ``out_of_date`` says why, for each such reminder in a review list;
the others keep their usual advice (``ReviewItem.what_to_do``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cm_toolkit.ledger.decisions import ReviewItem
from cm_toolkit.ledger.models import Delivery, LiveSession
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState

ANNOUNCE = "/announce/"
RESENDABLE = (DeliveryState.FAILED, DeliveryState.MISSED, DeliveryState.UNKNOWN)


def out_of_date(
    ledger: Ledger, items: Iterable[ReviewItem], now: datetime, tz: ZoneInfo
) -> dict[int, str]:
    """{delivery id: why its reminder must not be sent now} for the reminders among ``items``."""
    reminders = [i for i in items if ANNOUNCE in i.post_key and i.state in RESENDABLE]
    if not reminders:
        return {}
    sessions = {i.post_key.split(ANNOUNCE, 1)[0] for i in reminders}
    with ledger.reading() as session:
        starts = dict(session.execute(
            select(LiveSession.id, LiveSession.start).where(LiveSession.id.in_(sessions))).all())
        siblings = session.execute(
            select(Delivery.post_key, Delivery.channel_id, Delivery.due_at).where(
                Delivery.post_key.like("%" + ANNOUNCE + "%"), Delivery.due_at <= now)).all()
    today = now.astimezone(tz).date()
    reasons: dict[int, str] = {}
    for item in reminders:
        session_id = item.post_key.split(ANNOUNCE, 1)[0]
        start = starts.get(session_id)
        later = sorted(
            (due, key) for key, channel, due in siblings
            if channel == item.channel_id and key != item.post_key
            and key.startswith(session_id + ANNOUNCE) and due > item.due_at)
        if start is not None and start <= now:
            reasons[item.id] = (f"live session {session_id} started at "
                                f"{start.astimezone(tz):%Y-%m-%d %H:%M}")
        elif later:
            due, key = later[-1]
            reasons[item.id] = (f"a later reminder ({key}) was due at "
                                f"{due.astimezone(tz):%Y-%m-%d %H:%M}")
        elif (start is not None and item.due_at.astimezone(tz).date() < today
              and start.astimezone(tz).date() == today):
            reasons[item.id] = (f"it was written for {item.due_at.astimezone(tz):%Y-%m-%d} and "
                                f"live session {session_id} is today: it would say the wrong day")
    return reasons


def advice(item: ReviewItem, reason: str) -> str:
    """What to do with an out-of-date reminder (instead of ``cm retry``)."""
    if item.state is DeliveryState.UNKNOWN:
        return (f"check {item.network} for the post: cm resolve {item.id} --published URL if it "
                f"is online, else cm resolve {item.id} --drop ({reason}: not to be sent now)")
    return f"cm resolve {item.id} --drop: {reason}, so sending it now would mislead"
