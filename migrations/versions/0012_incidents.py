"""major incidents: numbers, rows, timelines; tickets' incident and parent; subject keywords

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

from store.base import UtcDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'incident_numbers',
        sa.Column('id', BigIntId, sa.Identity(), nullable=False),
        sa.Column('allocated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'incidents',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('component', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('commander', sa.String(length=50), nullable=True),
        sa.Column('escalation_level', sa.Integer(), nullable=False),
        sa.Column('linked_count', sa.Integer(), nullable=False),
        sa.Column('updates_sent', sa.Integer(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.Column('acknowledged_at', UtcDateTime(), nullable=True),
        sa.Column('resolved_at', UtcDateTime(), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('report_submitted_at', UtcDateTime(), nullable=True),
        sa.Column('last_seq', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_incidents_status_created', 'incidents', ['status', 'created_at'])
    op.create_table(
        'incident_events',
        sa.Column('incident_id', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('incident_id', 'seq'),
    )
    op.create_table(
        'ticket_keywords',
        sa.Column('ticket_id', sa.String(length=40), nullable=False),
        sa.Column('keyword', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id', 'keyword'),
    )
    op.create_index('ix_ticket_keywords_keyword', 'ticket_keywords', ['keyword'])
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('parent_id', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_tickets_incident', ['incident_id'])
        batch_op.create_index('ix_tickets_parent', ['parent_id'])


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_parent')
        batch_op.drop_index('ix_tickets_incident')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('incident_id')
    op.drop_index('ix_ticket_keywords_keyword', table_name='ticket_keywords')
    op.drop_table('ticket_keywords')
    op.drop_table('incident_events')
    op.drop_index('ix_incidents_status_created', table_name='incidents')
    op.drop_table('incidents')
    op.drop_table('incident_numbers')
