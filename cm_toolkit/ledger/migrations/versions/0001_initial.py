"""Initial ledger schema: campaigns, posts, live sessions and hosts, deliveries, follower
snapshots, engagement, events.

Written from Alembic's autogenerate output, then made self-contained: times are
``DateTime(timezone=True)`` (the ORM's ``UtcDateTime`` is a Python-side wrapper of it) and enum
columns are ``VARCHAR(32)`` holding lowercase names, so later changes of the Python enums never
change what this revision creates.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIME = sa.DateTime(timezone=True)
ENUM = sa.String(length=32)


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('start', UTC_TIME, nullable=True),
    sa.Column('in_workspace', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('follower_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('taken_at', UTC_TIME, nullable=False),
    sa.Column('followers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follower_snapshots')),
    sa.UniqueConstraint('channel_id', 'taken_at', name=op.f('uq_follower_snapshots_channel_id_taken_at'))
    )
    op.create_table('live_sessions',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('campaign_id', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('start', UTC_TIME, nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('in_workspace', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_live_sessions_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_sessions'))
    )
    op.create_table('posts',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('kind', ENUM, nullable=False),
    sa.Column('campaign_id', sa.String(length=200), nullable=False),
    sa.Column('post_id', sa.String(length=200), nullable=True),
    sa.Column('session_id', sa.String(length=200), nullable=True),
    sa.Column('template', sa.String(length=300), nullable=True),
    sa.Column('in_workspace', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_posts_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_posts'))
    )
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_key', sa.String(length=300), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('due_at', UTC_TIME, nullable=False),
    sa.Column('state', ENUM, nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC_TIME, nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', UTC_TIME, nullable=True),
    sa.Column('lease_until', UTC_TIME, nullable=True),
    sa.Column('remote_id', sa.String(length=300), nullable=True),
    sa.Column('remote_url', sa.String(length=2000), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('rendered_text', sa.Text(), nullable=True),
    sa.Column('grace_seconds', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['post_key'], ['posts.key'], name=op.f('fk_deliveries_post_key_posts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('post_key', 'channel_id', 'occurrence', name=op.f('uq_deliveries_post_key_channel_id_occurrence'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_state_due_at', ['state', 'due_at'], unique=False)

    op.create_table('live_session_hosts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=200), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('remote_id', sa.String(length=300), nullable=True),
    sa.Column('remote_url', sa.String(length=2000), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('remote_created_at', UTC_TIME, nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['live_sessions.id'], name=op.f('fk_live_session_hosts_session_id_live_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_session_hosts')),
    sa.UniqueConstraint('session_id', 'channel_id', name=op.f('uq_live_session_hosts_session_id_channel_id'))
    )
    op.create_table('engagement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('reactions', sa.Integer(), nullable=True),
    sa.Column('comments', sa.Integer(), nullable=True),
    sa.Column('shares', sa.Integer(), nullable=True),
    sa.Column('views', sa.Integer(), nullable=True),
    sa.Column('measured_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_engagement_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_engagement'))
    )
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_engagement_delivery_id'), ['delivery_id'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTC_TIME, nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('kind', ENUM, nullable=False),
    sa.Column('from_state', ENUM, nullable=True),
    sa.Column('to_state', ENUM, nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_events_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_delivery_id'), ['delivery_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_delivery_id'))

    op.drop_table('events')
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_engagement_delivery_id'))

    op.drop_table('engagement')
    op.drop_table('live_session_hosts')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_state_due_at')

    op.drop_table('deliveries')
    op.drop_table('posts')
    op.drop_table('live_sessions')
    op.drop_table('follower_snapshots')
    op.drop_table('campaigns')
