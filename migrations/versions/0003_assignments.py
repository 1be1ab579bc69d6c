"""assignments: every routing assignment, the round-robin's memory

Revision ID: 0003a
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003a"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("ticket_id", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.String(length=50), nullable=False),
        sa.Column("team", sa.String(length=50), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_agent_id"), ["agent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_agent_id"))
    op.drop_table("assignments")
