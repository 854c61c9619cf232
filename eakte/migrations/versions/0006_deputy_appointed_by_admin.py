"""deputies appointed by an admin

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:10:00

A deputy a user names themselves acts only in the units both share; one appointed by an admin may come from
another unit. Existing rows count as self-appointed: the narrower scope, so nothing gains rights by upgrading.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('by_admin', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('deputies', schema=None) as batch_op:
        batch_op.drop_column('by_admin')
