"""approvals and ledger_entries: refunds, credits and cancellations by authority level

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

from store.base import UtcDateTime


revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'approvals',
        sa.Column('id', sa.String(length=48), nullable=False),
        sa.Column('ticket_id', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('purchase_date', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('approver_role', sa.String(length=32), nullable=False),
        sa.Column('first_role', sa.String(length=32), nullable=False),
        sa.Column('escalations', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=False),
        sa.Column('requested_at', UtcDateTime(), nullable=False),
        sa.Column('due_at', UtcDateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_role', sa.String(length=32), nullable=True),
        sa.Column('decided_at', UtcDateTime(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('execution', sa.String(length=16), nullable=True),
        sa.Column('effective_at', UtcDateTime(), nullable=True),
        sa.Column('executed_at', UtcDateTime(), nullable=True),
        sa.Column('settled_at', UtcDateTime(), nullable=True),
        sa.Column('payment_reference', sa.String(length=100), nullable=True),
        sa.Column('automatic', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_approvals_ticket_id', 'approvals', ['ticket_id'])
    op.create_index('ix_approvals_status', 'approvals', ['status'])
    op.create_index('ix_approvals_approver_role', 'approvals', ['approver_role'])
    op.create_index('ix_approvals_requested_at', 'approvals', ['requested_at'])
    op.create_table(
        'ledger_entries',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('ticket_id', sa.String(length=40), nullable=False),
        sa.Column('approval_id', sa.String(length=48), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.Numeric(14, 2), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('trigger', sa.String(length=64), nullable=True),
        sa.Column('adapter', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reference', sa.String(length=100), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('settled_at', UtcDateTime(), nullable=True),
        sa.Column('claim_token', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_ledger_entries_ticket_id', 'ledger_entries', ['ticket_id'])


def downgrade() -> None:
    op.drop_index('ix_ledger_entries_ticket_id', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    for column in ('requested_at', 'approver_role', 'status', 'ticket_id'):
        op.drop_index(f'ix_approvals_{column}', table_name='approvals')
    op.drop_table('approvals')
