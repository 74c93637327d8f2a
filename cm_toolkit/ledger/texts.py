"""The texts ``cm apply`` saw, so that ``cm plan`` can say which ones a template edit changes.

A delivery's fingerprint covers what decides its content but not the template *files* (they are
rendered when it is sent, so an edit always takes effect): editing a template changes no row,
and the plan said "0 to change". ``cm plan`` and ``cm apply`` render every delivery anyway (the
checks of ``cm check``); each one's ``text_digest`` is recorded in the journal by ``cm apply``
(the ``text`` of its ``planned``, ``replanned`` or ``text`` event), and the plan compares the
digests of now with the last recorded ones. Nothing here changes a delivery: a text is always
rendered again at sending.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cm_toolkit.ledger.models import Event
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import EventKind

TEXT_KINDS = (EventKind.PLANNED, EventKind.REPLANNED, EventKind.TEXT)


def text_of(detail: dict[str, Any] | None) -> str | None:
    """The digest an event recorded: ``"text": DIGEST`` or ``"text": [WAS, NOW]``."""
    value = (detail or {}).get("text")
    if isinstance(value, list):
        value = value[-1] if value else None
    return value if isinstance(value, str) else None


def recorded_texts(ledger: Ledger) -> dict[int, str]:
    """Delivery id -> the digest of its text at the last ``cm apply`` that recorded one."""
    found: dict[int, str] = {}
    with ledger.reading() as session:
        rows = session.execute(
            select(Event.delivery_id, Event.detail)
            .where(Event.kind.in_(TEXT_KINDS), Event.delivery_id.is_not(None))
            .order_by(Event.id))
        for delivery_id, detail in rows:
            digest = text_of(detail)
            if digest is not None and delivery_id is not None:
                found[delivery_id] = digest
    return found
