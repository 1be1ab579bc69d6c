"""webhooks: subscriptions, the delivery outbox and its attempts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

from store.base import UtcDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'webhook_subscriptions',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('event_types', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.Column('failing_since', UtcDateTime(), nullable=True),
        sa.Column('paused_at', UtcDateTime(), nullable=True),
        sa.Column('pause_reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', BigIntId, sa.Identity(), nullable=False),
        sa.Column('subscription_id', sa.String(length=40), nullable=False),
        sa.Column('event_id', sa.String(length=60), nullable=False),
        sa.Column('ticket_id', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('occurred_at', UtcDateTime(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('window_started_at', UtcDateTime(), nullable=False),
        sa.Column('next_attempt_at', UtcDateTime(), nullable=False),
        sa.Column('delivered_at', UtcDateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('claim_token', sa.String(length=36), nullable=True),
        sa.Column('claimed_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('subscription_id', 'event_id', name='uq_webhook_deliveries_event'),
    )
    op.create_index(
        'ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at']
    )
    op.create_index(
        'ix_webhook_deliveries_order',
        'webhook_deliveries',
        ['subscription_id', 'ticket_id', 'seq'],
    )
    op.create_table(
        'webhook_attempts',
        sa.Column('id', BigIntId, sa.Identity(), nullable=False),
        sa.Column('delivery_id', BigIntId, nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        op.f('ix_webhook_attempts_delivery_id'), 'webhook_attempts', ['delivery_id']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_webhook_attempts_delivery_id'), table_name='webhook_attempts')
    op.drop_table('webhook_attempts')
    op.drop_index('ix_webhook_deliveries_order', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_subscriptions')
