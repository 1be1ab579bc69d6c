"""csat_responses: the one-click survey links used, each once

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

from store.base import UtcDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'csat_responses',
        sa.Column('survey_id', sa.String(length=60), nullable=False),
        sa.Column('ticket_id', sa.String(length=40), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('used_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('survey_id'),
    )


def downgrade() -> None:
    op.drop_table('csat_responses')
