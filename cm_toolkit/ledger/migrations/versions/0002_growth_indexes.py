"""Index for the growth reports and the dashboard: a channel's published deliveries.

``deliveries (channel_id, state, updated_at)`` serves a channel's post performance (dashboard
channel page, engagement refresh of recent posts by the snapshotter) without reading every
delivery of every channel. Follower snapshots need no new index: their unique constraint's index
``(channel_id, taken_at)`` already answers every growth lookup with one seek.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_channel_id_state_updated_at",
                              ["channel_id", "state", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_channel_id_state_updated_at")
