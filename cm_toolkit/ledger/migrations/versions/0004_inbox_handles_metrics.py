"""The inbox: authors' handles, and a covering index for the interactivity metrics.

- ``inbox_messages.author_handle``: the author's @username where the network has one (X). A
  reply on X addresses its author (``@username ...``): X refuses an identical text from the same
  account, and an answer that names its reader differs from the last one. Purged with the
  author.
- ``ix_inbox_messages_metrics`` on ``(from_us, network, received_at, state, is_question,
  auto_answered, first_answered_at, updated_at)``: ``growth/interactivity.py`` reads a network's
  weeks as index ranges holding every column it needs, never the wide message rows
  (bench/README.md, ``interactivity_bench.py``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

METRICS_COLUMNS = ["from_us", "network", "received_at", "state", "is_question", "auto_answered",
                   "first_answered_at", "updated_at"]


def upgrade() -> None:
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_handle", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_inbox_messages_metrics", METRICS_COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_messages_metrics")
        batch_op.drop_column("author_handle")
