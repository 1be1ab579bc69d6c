"""tickets.priority, sla_events.priority: VARCHAR(16), for any priority id of the policy

Priorities, plans and channels are the policy's own ids (at most 16 characters, e.g. `P0`,
`urgent`); `plan` and `channel` were VARCHAR(16) already, `priority` was VARCHAR(2).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_COLUMNS = (('tickets', 'priority'), ('sla_events', 'priority'))


def upgrade() -> None:
    for table, column in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=2),
                type_=sa.String(length=16),
                existing_nullable=False,
            )


def downgrade() -> None:
    # Fails, as it should, while a row holds a priority id longer than two characters.
    for table, column in _COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column,
                existing_type=sa.String(length=16),
                type_=sa.String(length=2),
                existing_nullable=False,
            )
