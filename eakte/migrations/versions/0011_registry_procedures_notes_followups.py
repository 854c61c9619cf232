"""procedures (Vorgänge, sub-files), notes, follow-ups; documents in procedures and checked out; confidentiality

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:00:00

A case holds procedures or the named sub-files its type declares, each with its own documents; existing
documents stay at case level (procedure_id NULL), existing cases are `open` (offen) and have handed out no
procedure number yet, so the upgrade needs no data step beyond the column defaults.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
NOTES_MESSAGE = "notes are immutable"


def _immutable_notes() -> None:
    """A Vermerk is a record: once saved it is never changed nor removed (a correction is a new note)."""
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER notes_no_{event.lower()} BEFORE {event} ON notes "
                       f"BEGIN SELECT RAISE(ABORT, '{NOTES_MESSAGE}'); END")
        return
    op.execute("CREATE FUNCTION eakte_notes_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"RAISE EXCEPTION '{NOTES_MESSAGE}'; END $$")
    op.execute("CREATE TRIGGER notes_immutable BEFORE UPDATE OR DELETE ON notes "
               "FOR EACH ROW EXECUTE FUNCTION eakte_notes_immutable()")


def upgrade() -> None:
    op.create_table(
        'procedures',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('reference', sa.String(120), nullable=False, unique=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('subfile', sa.String(64), nullable=True),
        sa.Column('title', sa.String(500), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.Date(), nullable=True),
        sa.UniqueConstraint('case_id', 'number'),
        sa.UniqueConstraint('case_id', 'subfile'),
        sa.CheckConstraint("status IN ('open', 'closed')", name='ck_procedure_status'),
        sa.CheckConstraint("kind IN ('procedure', 'subfile')", name='ck_procedure_kind'),
    )
    op.create_index('ix_procedures_case_id', 'procedures', ['case_id'])
    op.create_table(
        'notes',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=True),
        sa.Column('noted_on', sa.Date(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('corrects_id', ID, sa.ForeignKey('notes.id'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', ID, sa.ForeignKey('users.id'), nullable=False),
    )
    op.create_index('ix_notes_case_id', 'notes', ['case_id'])
    op.create_index('ix_notes_procedure_id', 'notes', ['procedure_id'])
    _immutable_notes()
    op.create_table(
        'followups',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('done_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done')", name='ck_followup_status'),
    )
    op.create_index('ix_followups_case_id', 'followups', ['case_id'])
    op.create_index('ix_followups_open_due', 'followups', ['status', 'due_on'])
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidentiality', sa.String(32), server_default='open', nullable=False))
        batch_op.add_column(sa.Column('last_procedure_number', sa.Integer(), server_default='0', nullable=False))
    if op.get_bind().dialect.name == 'sqlite':
        # Plain ADD COLUMN with its REFERENCES clause: a batch would copy the table and drop the old one, which
        # SQLite's enforced foreign keys refuse while document_versions refers to it (a database with records;
        # tests/test_migrations_registry.py).
        op.execute('ALTER TABLE documents ADD COLUMN procedure_id INTEGER REFERENCES procedures (id)')
        op.execute('ALTER TABLE documents ADD COLUMN checked_out_by INTEGER REFERENCES users (id)')
        op.add_column('documents', sa.Column('checked_out_at', sa.DateTime(), nullable=True))
        op.create_index('ix_documents_procedure_id', 'documents', ['procedure_id'])
    else:
        with op.batch_alter_table('documents', schema=None) as batch_op:
            batch_op.add_column(sa.Column('procedure_id', ID, nullable=True))
            batch_op.add_column(sa.Column('checked_out_by', ID, nullable=True))
            batch_op.add_column(sa.Column('checked_out_at', sa.DateTime(), nullable=True))
            batch_op.create_foreign_key('fk_documents_procedure_id', 'procedures', ['procedure_id'], ['id'])
            batch_op.create_foreign_key('fk_documents_checked_out_by', 'users', ['checked_out_by'], ['id'])
            batch_op.create_index('ix_documents_procedure_id', ['procedure_id'])


def downgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_procedure_id')
        batch_op.drop_constraint('fk_documents_checked_out_by', type_='foreignkey')
        batch_op.drop_constraint('fk_documents_procedure_id', type_='foreignkey')
        batch_op.drop_column('checked_out_at')
        batch_op.drop_column('checked_out_by')
        batch_op.drop_column('procedure_id')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('last_procedure_number')
        batch_op.drop_column('confidentiality')
    op.drop_table('followups')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS notes_no_update")
        op.execute("DROP TRIGGER IF EXISTS notes_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS notes_immutable ON notes")
        op.execute("DROP FUNCTION IF EXISTS eakte_notes_immutable()")
    op.drop_table('notes')
    op.drop_table('procedures')
