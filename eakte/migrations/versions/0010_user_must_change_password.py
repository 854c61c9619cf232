"""users.must_change_password; index audit_events (object_type, object_id)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00

An admin who sets a user's password (a new account, a forgotten password) knows it: the user must replace it at
the next login, before any other page. The admin's user page shows the user's history: the events about that object.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.create_index('ix_audit_events_object', 'audit_events', ['object_type', 'object_id'])


def downgrade() -> None:
    op.drop_index('ix_audit_events_object', 'audit_events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
