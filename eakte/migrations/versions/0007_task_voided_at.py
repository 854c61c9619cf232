"""tasks: voided_at (decisions voided by a return to an earlier step)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:20:00

A decision voided by returning the case to an earlier step stays in the history, marked, never deleted; the
fields it froze are writable again until the step is decided anew.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('voided_at')
