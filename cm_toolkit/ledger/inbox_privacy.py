"""Retention and a person's data on the inbox tables (``InboxLedger`` inherits these).

Messages carry learners' personal data (docs/inbox.md, "Privacy"): ``purge`` removes the text,
author and link of old messages (their counts and times stay, for the metrics), ``export_author``
gives everything held about one person.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update

from cm_toolkit.ledger.models import InboxEvent, InboxMessage, InboxReply
from cm_toolkit.ledger.repository import Ledger
from cm_toolkit.ledger.states import DeliveryState, InboxEventKind


class PrivacyRows:
    ledger: Ledger

    def purge(self, received_before: datetime, now: datetime) -> int:
        """Retention: messages received before the limit lose their text, author and link;
        replies to them lose their text once settled. Counts and times stay (the metrics)."""
        if now.tzinfo is None:
            raise ValueError("the inbox ledger needs aware datetimes (UTC)")
        old = and_(InboxMessage.received_at < received_before, InboxMessage.purged_at.is_(None))
        settled = [DeliveryState.PUBLISHED, DeliveryState.FAILED, DeliveryState.CANCELLED]
        with self.ledger.write_engine.begin() as connection:
            ids = list(connection.scalars(select(InboxMessage.id).where(old)))
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                connection.execute(
                    update(InboxMessage).where(InboxMessage.id.in_(chunk))
                    .values(text=None, author_id=None, author_name=None, url=None,
                            suggestions=None, purged_at=now, updated_at=now,
                            version=InboxMessage.version + 1))
                connection.execute(
                    update(InboxReply).where(InboxReply.message_id.in_(chunk),
                                             InboxReply.state.in_(settled))
                    .values(rendered_text="", updated_at=now))
                connection.execute(insert(InboxEvent), [
                    {"at": now, "message_id": message_id, "kind": InboxEventKind.PURGED,
                     "actor": "retention", "detail": {}} for message_id in chunk])
        return len(ids)

    def export_author(self, author: str) -> list[dict[str, Any]]:
        """Everything the ledger holds about one person (by author name or network id)."""
        with self.ledger.reading() as session:
            rows = list(session.scalars(
                select(InboxMessage).where((InboxMessage.author_name == author)
                                           | (InboxMessage.author_id == author))
                .order_by(InboxMessage.received_at, InboxMessage.id)))
            replies: Mapping[int, list[InboxReply]] = {}
            if rows:
                found: dict[int, list[InboxReply]] = {}
                for reply in session.scalars(select(InboxReply).where(
                        InboxReply.message_id.in_([r.id for r in rows]))
                        .order_by(InboxReply.id)):
                    found.setdefault(reply.message_id, []).append(reply)
                replies = found
        return [{
            "id": r.id, "channel": r.channel_id, "network": r.network,
            "remote_id": r.remote_id, "kind": r.kind, "author_id": r.author_id,
            "author_name": r.author_name, "text": r.text, "language": r.language, "url": r.url,
            "received_at": r.received_at.isoformat(), "state": r.state.value,
            "assignee": r.assignee,
            "replies": [{"id": p.id, "state": p.state.value, "text": p.rendered_text,
                         "remote_url": p.remote_url, "at": p.updated_at.isoformat()}
                        for p in replies.get(r.id, [])],
        } for r in rows]
