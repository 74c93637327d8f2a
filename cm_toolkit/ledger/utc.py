"""``UtcDateTime``: a column type that only accepts aware datetimes and always returns UTC.

SQLite has no time zone type and PostgreSQL returns ``timestamptz`` in the session's zone; this
type makes both behave the same: aware UTC in, aware UTC out. A naive datetime is refused
because its meaning would depend on the machine's clock settings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: the ledger stores UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite stores text; a fixed naive-UTC form keeps ordering and comparisons right.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
