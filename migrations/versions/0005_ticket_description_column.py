"""tickets.description as a column; the whole-state document goes

The projection no longer copies the workflow's whole state (description, policy snapshot)
into every recording: the row keeps its facts, written once, and the changed columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 08:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=False, server_default=''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE tickets SET description = COALESCE(state->>'description', '')")
    else:
        op.execute("UPDATE tickets SET description = COALESCE(json_extract(state, '$.description'), '')")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('state')


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('description')
