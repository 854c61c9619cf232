"""restricted-case access: case subjects, unique case keys, access requests; adverse items; recorded destruction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:40:00

Existing cases have no subject and no keys (no personnel files existed as a case type), so the upgrade needs no
data step. Versions stay immutable; a version may now be deleted only together with a `document_destructions`
row for its document, written in the same transaction (removal of an adverse item, BBG §112).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# As in 0005: every column of document_versions except text_status and text_error.
FROZEN = ("id", "document_id", "number", "blob_key", "sha256", "size", "mime_type", "filename", "uploaded_by",
          "uploaded_at")
MESSAGE = "document versions are immutable"
DESTROYED = "EXISTS (SELECT 1 FROM document_destructions d WHERE d.document_id = OLD.document_id)"


def _versions_delete_only_when_destroyed() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_versions_no_delete")
        op.execute("CREATE TRIGGER document_versions_no_delete BEFORE DELETE ON document_versions "
                   f"WHEN NOT {DESTROYED} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        return
    new = ", ".join(f"NEW.{c}" for c in FROZEN)
    old = ", ".join(f"OLD.{c}" for c in FROZEN)
    op.execute("CREATE OR REPLACE FUNCTION eakte_document_versions_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
               f"BEGIN IF TG_OP = 'DELETE' THEN IF NOT {DESTROYED} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
               f"RETURN OLD; END IF; IF ({new}) IS DISTINCT FROM ({old}) THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
               "RETURN NEW; END $$")


def _versions_never_deleted() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_versions_no_delete")
        op.execute("CREATE TRIGGER document_versions_no_delete BEFORE DELETE ON document_versions "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        return
    new = ", ".join(f"NEW.{c}" for c in FROZEN)
    old = ", ".join(f"OLD.{c}" for c in FROZEN)
    op.execute("CREATE OR REPLACE FUNCTION eakte_document_versions_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ "
               f"BEGIN IF TG_OP = 'DELETE' OR ({new}) IS DISTINCT FROM ({old}) THEN "
               f"RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END $$")


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # Plain ADD COLUMN (see 0011): a batch copy of `cases` is refused while other tables refer to it.
        op.execute('ALTER TABLE cases ADD COLUMN subject_user_id INTEGER REFERENCES users (id)')
        op.create_index('ix_cases_subject_user_id', 'cases', ['subject_user_id'])
    else:
        with op.batch_alter_table('cases', schema=None) as batch_op:
            batch_op.add_column(sa.Column('subject_user_id', ID, nullable=True))
            batch_op.create_foreign_key('fk_cases_subject_user_id', 'users', ['subject_user_id'], ['id'])
            batch_op.create_index('ix_cases_subject_user_id', ['subject_user_id'])
    op.create_table(
        'case_keys',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('case_type', sa.String(64), nullable=False),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('value', sa.String(200), nullable=False),
        sa.UniqueConstraint('case_type', 'name', 'value'),
    )
    op.create_index('ix_case_keys_case_id', 'case_keys', ['case_id'])
    op.create_table(
        'access_requests',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('immediate', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'granted', 'refused', 'withdrawn')",
                           name='ck_access_request_status'),
    )
    op.create_index('ix_access_requests_case_id', 'access_requests', ['case_id'])
    op.create_index('ix_access_requests_user_status', 'access_requests', ['user_id', 'status', 'expires_at'])
    op.create_table(
        'document_destructions',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('document_id', ID, nullable=False, unique=True),
        sa.Column('destroyed_at', sa.DateTime(), nullable=False),
        sa.Column('destroyed_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('ground', sa.String(64), nullable=False),
    )
    op.create_index('ix_document_destructions_case_id', 'document_destructions', ['case_id'])
    op.create_table(
        'adverse_items',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=True),
        sa.Column('document_id', ID, sa.ForeignKey('documents.id'), nullable=True),
        sa.Column('kind', sa.String(32), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('hearing_due_on', sa.Date(), nullable=False),
        sa.Column('followup_id', ID, sa.ForeignKey('followups.id'), nullable=True),
        sa.Column('statement_document_id', ID, sa.ForeignKey('documents.id'), nullable=True),
        sa.Column('statement_declined', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('heard_at', sa.DateTime(), nullable=True),
        sa.Column('heard_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('filed_at', sa.DateTime(), nullable=True),
        sa.Column('filed_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('removal_due_on', sa.Date(), nullable=True),
        sa.Column('removed_at', sa.DateTime(), nullable=True),
        sa.Column('removed_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('removal_ground', sa.String(32), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.CheckConstraint("status IN ('hearing', 'filed', 'removed')", name='ck_adverse_status'),
    )
    op.create_index('ix_adverse_items_case_id', 'adverse_items', ['case_id'])
    op.create_index('ix_adverse_items_status_removal', 'adverse_items', ['status', 'removal_due_on'])
    _versions_delete_only_when_destroyed()


def downgrade() -> None:
    _versions_never_deleted()
    op.drop_table('adverse_items')
    op.drop_table('document_destructions')
    op.drop_table('access_requests')
    op.drop_table('case_keys')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_subject_user_id')
        if op.get_bind().dialect.name != 'sqlite':
            batch_op.drop_constraint('fk_cases_subject_user_id', type_='foreignkey')
        batch_op.drop_column('subject_user_id')
