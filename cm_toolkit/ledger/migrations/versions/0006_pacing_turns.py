"""Pacing across workers on the network's side: when each granted send left and was answered.

A grant says when a request may leave; under load it leaves late, and two workers' requests on
one account could reach the network closer than the spacing. ``left_at`` (the request left) and
``done_at`` (its answer came, or it failed) let the next request on the account wait for the
previous one's answer plus the spacing, whichever worker sent it (``scheduler/global_pacing.py``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("pacing_slots") as batch:
        batch.add_column(sa.Column("left_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("done_at", UTC_TIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pacing_slots") as batch:
        batch.drop_column("done_at")
        batch.drop_column("left_at")
