"""Scale-out on PostgreSQL: the workers of a cluster and the pacing slots they share.

``workers``: one row per ``cm run`` worker (host, pid, heartbeat, deliveries in flight), shown by
``cm status``. ``pacing_slots``: spacing and budgets per account held in the database, so that
they hold across workers. Both exist on SQLite too (one schema everywhere) and stay empty there.
Procrastinate's own tables are not Alembic's: ``cm run`` creates them on PostgreSQL
(``scheduler/queue.py``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("last_seen_at", UTC_TIME, nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.Column("stopped_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    op.create_table(
        "pacing_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.String(length=200), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pacing_slots")),
    )
    op.create_index("ix_pacing_slots_channel_id_at", "pacing_slots", ["channel_id", "at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_pacing_slots_channel_id_at", table_name="pacing_slots")
    op.drop_table("pacing_slots")
    op.drop_table("workers")
