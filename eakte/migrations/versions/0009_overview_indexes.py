"""index documents (created_by, created_at); cases (unit_id, status, updated_at)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:55:00

The overview lists the documents a user filed last and the open cases of the user's units, newest change first:
found by these indexes, not by sorting every document or every case of a busy unit. The new cases index starts
with the columns of ix_cases_unit_status, which it replaces.
"""
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_documents_created_by_created_at', 'documents', ['created_by', 'created_at'])
    op.create_index('ix_cases_unit_status_updated', 'cases', ['unit_id', 'status', 'updated_at'])
    op.drop_index('ix_cases_unit_status', 'cases')


def downgrade() -> None:
    op.create_index('ix_cases_unit_status', 'cases', ['unit_id', 'status'])
    op.drop_index('ix_cases_unit_status_updated', 'cases')
    op.drop_index('ix_documents_created_by_created_at', 'documents')
