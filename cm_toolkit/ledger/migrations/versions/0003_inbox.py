"""The inbox: conversations, messages, replies, sync cursors, read costs and the inbox journal.

What the community says back (docs/inbox.md). Messages are unique per ``(channel_id,
remote_id)`` so a sync run twice stores nothing twice; replies carry the deliveries' states and
are claimed with the same compare-and-set. Written from Alembic's autogenerate output, made
self-contained like 0001 (times ``DateTime(timezone=True)``, enums ``VARCHAR(32)``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

UTC_TIME = sa.DateTime(timezone=True)
ENUM = sa.String(length=32)


def upgrade() -> None:
    op.create_table('inbox_cursors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('cursor', sa.String(length=2000), nullable=True),
    sa.Column('last_sync_at', UTC_TIME, nullable=True),
    sa.Column('next_sync_at', UTC_TIME, nullable=True),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_cursors')),
    sa.UniqueConstraint('channel_id', 'source', name=op.f('uq_inbox_cursors_channel_id_source'))
    )
    op.create_table('inbox_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('at', UTC_TIME, nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('cost_usd', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_reads'))
    )
    op.create_index('ix_inbox_reads_channel_id_at', 'inbox_reads', ['channel_id', 'at'], unique=False)
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('thread_remote_id', sa.String(length=300), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.String(length=200), nullable=True),
    sa.Column('last_message_at', UTC_TIME, nullable=False),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_conversations_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('channel_id', 'thread_remote_id', name=op.f('uq_conversations_channel_id_thread_remote_id'))
    )
    op.create_table('inbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('remote_id', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('parent_remote_id', sa.String(length=300), nullable=True),
    sa.Column('author_id', sa.String(length=300), nullable=True),
    sa.Column('author_name', sa.String(length=300), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('is_question', sa.Boolean(), nullable=False),
    sa.Column('from_us', sa.Boolean(), nullable=False),
    sa.Column('received_at', UTC_TIME, nullable=False),
    sa.Column('synced_at', UTC_TIME, nullable=False),
    sa.Column('state', ENUM, nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=True),
    sa.Column('first_answered_at', UTC_TIME, nullable=True),
    sa.Column('auto_answered', sa.Boolean(), nullable=False),
    sa.Column('suggestions', sa.JSON(), nullable=True),
    sa.Column('purged_at', UTC_TIME, nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_inbox_messages_conversation_id_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages')),
    sa.UniqueConstraint('channel_id', 'remote_id', name=op.f('uq_inbox_messages_channel_id_remote_id'))
    )
    op.create_index('ix_inbox_messages_author_id', 'inbox_messages', ['author_id'], unique=False)
    op.create_index('ix_inbox_messages_conversation_id', 'inbox_messages', ['conversation_id'], unique=False)
    op.create_index('ix_inbox_messages_state_received_at', 'inbox_messages', ['state', 'received_at'], unique=False)
    # the Inbox page filtered by channel or network: one index range per state, newest first
    op.create_index('ix_inbox_messages_channel_id_state_received_at', 'inbox_messages', ['channel_id', 'state', 'received_at'], unique=False)
    op.create_index('ix_inbox_messages_network_state_received_at', 'inbox_messages', ['network', 'state', 'received_at'], unique=False)
    op.create_table('inbox_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('network', ENUM, nullable=False),
    sa.Column('state', ENUM, nullable=False),
    sa.Column('rendered_text', sa.Text(), nullable=False),
    sa.Column('faq_id', sa.String(length=200), nullable=True),
    sa.Column('auto', sa.Boolean(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', UTC_TIME, nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', UTC_TIME, nullable=True),
    sa.Column('lease_until', UTC_TIME, nullable=True),
    sa.Column('remote_id', sa.String(length=300), nullable=True),
    sa.Column('remote_url', sa.String(length=2000), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', UTC_TIME, nullable=False),
    sa.Column('updated_at', UTC_TIME, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'], name=op.f('fk_inbox_replies_message_id_inbox_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_replies'))
    )
    op.create_index(op.f('ix_inbox_replies_message_id'), 'inbox_replies', ['message_id'], unique=False)
    op.create_index('ix_inbox_replies_state', 'inbox_replies', ['state'], unique=False)
    op.create_table('inbox_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', UTC_TIME, nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('reply_id', sa.Integer(), nullable=True),
    sa.Column('kind', ENUM, nullable=False),
    sa.Column('from_state', sa.String(length=32), nullable=True),
    sa.Column('to_state', sa.String(length=32), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'], name=op.f('fk_inbox_events_message_id_inbox_messages')),
    sa.ForeignKeyConstraint(['reply_id'], ['inbox_replies.id'], name=op.f('fk_inbox_events_reply_id_inbox_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_events'))
    )
    op.create_index(op.f('ix_inbox_events_message_id'), 'inbox_events', ['message_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_inbox_events_message_id'), table_name='inbox_events')
    op.drop_table('inbox_events')
    op.drop_index('ix_inbox_replies_state', table_name='inbox_replies')
    op.drop_index(op.f('ix_inbox_replies_message_id'), table_name='inbox_replies')
    op.drop_table('inbox_replies')
    op.drop_index('ix_inbox_messages_network_state_received_at', table_name='inbox_messages')
    op.drop_index('ix_inbox_messages_channel_id_state_received_at', table_name='inbox_messages')
    op.drop_index('ix_inbox_messages_state_received_at', table_name='inbox_messages')
    op.drop_index('ix_inbox_messages_conversation_id', table_name='inbox_messages')
    op.drop_index('ix_inbox_messages_author_id', table_name='inbox_messages')
    op.drop_table('inbox_messages')
    op.drop_table('conversations')
    op.drop_index('ix_inbox_reads_channel_id_at', table_name='inbox_reads')
    op.drop_table('inbox_reads')
    op.drop_table('inbox_cursors')
