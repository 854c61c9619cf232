"""the misallocation levy: surveys, table versions, assessments and payments (immutable), notices, objections

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 18:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _immutable(table: str) -> None:
    """UPDATE and DELETE refused by the database itself: the table is append-only (as the audit trail)."""
    message = f"{table.replace('_', ' ')} are immutable"
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{message}'); END")
        return
    op.execute(f"CREATE FUNCTION eakte_{table}_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"RAISE EXCEPTION '{message}'; END $$")
    op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
               f"FOR EACH ROW EXECUTE FUNCTION eakte_{table}_immutable()")


def upgrade() -> None:
    op.create_table(
        'levy_surveys',
        sa.Column('id', ID, primary_key=True),
        sa.Column('unit_id', ID, sa.ForeignKey('units.id'), nullable=False),
        sa.Column('landlord', sa.String(300), nullable=False),
        sa.Column('reference_date', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('source_name', sa.String(255), nullable=True),
        sa.Column('batch_sha256', sa.String(64), nullable=True),
        sa.Column('batch_size', sa.BigInteger(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', ID, sa.ForeignKey('users.id'), nullable=False),
    )
    op.create_table(
        'levy_table_versions',
        sa.Column('id', ID, primary_key=True),
        sa.Column('label', sa.String(64), nullable=False, unique=True),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('sha256', sa.String(64), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('loaded_at', sa.DateTime(), nullable=False),
        sa.Column('loaded_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('confirmed_by', ID, sa.ForeignKey('users.id'), nullable=True),
    )
    op.create_table(
        'levy_assessments',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('inputs', sa.JSON(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=False),
        sa.Column('monthly_levy', sa.String(32), nullable=False),
        sa.Column('table_version', sa.String(64), nullable=False),
        sa.Column('table_sha256', sa.String(64), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('computed_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.UniqueConstraint('procedure_id', 'number'),
    )
    op.create_index('ix_levy_assessments_case_id', 'levy_assessments', ['case_id'])
    op.create_index('ix_levy_assessments_procedure_id', 'levy_assessments', ['procedure_id'])
    _immutable('levy_assessments')
    op.create_table(
        'levy_notices',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=False),
        sa.Column('assessment_id', ID, sa.ForeignKey('levy_assessments.id'), nullable=True),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('effective_to', sa.Date(), nullable=False),
        sa.Column('monthly_levy', sa.String(32), nullable=False),
        sa.Column('document_id', ID, sa.ForeignKey('documents.id'), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('issued_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('sent_on', sa.Date(), nullable=True),
        sa.Column('superseded_from', sa.Date(), nullable=True),
        sa.CheckConstraint("kind IN ('assessment', 'change', 'cancellation')", name='ck_levy_notice_kind'),
    )
    op.create_index('ix_levy_notices_case_id', 'levy_notices', ['case_id'])
    op.create_index('ix_levy_notices_procedure_id', 'levy_notices', ['procedure_id'])
    op.create_table(
        'levy_objections',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=False),
        sa.Column('notice_id', ID, sa.ForeignKey('levy_notices.id'), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('late', sa.Boolean(), nullable=False),
        sa.Column('grounds', sa.Text(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=True),
        sa.Column('forwarded_to', sa.String(300), nullable=True),
        sa.CheckConstraint("status IN ('open', 'remedied', 'rejected')", name='ck_levy_objection_status'),
    )
    op.create_index('ix_levy_objections_case_id', 'levy_objections', ['case_id'])
    op.create_index('ix_levy_objections_procedure_id', 'levy_objections', ['procedure_id'])
    op.create_table(
        'levy_payments',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=False),
        sa.Column('paid_on', sa.Date(), nullable=False),
        sa.Column('amount', sa.String(32), nullable=False),
        sa.Column('reference', sa.String(140), nullable=True),
        sa.Column('booking_id', sa.String(64), nullable=True, unique=True),
        sa.Column('source', sa.String(20), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by', ID, sa.ForeignKey('users.id'), nullable=False),
        # A reversal, or the cash office's line for a payment typed in by hand, names the payment it supersedes.
        sa.Column('supersedes_id', ID, sa.ForeignKey('levy_payments.id'), nullable=True, unique=True),
        sa.Column('note', sa.String(500), nullable=True),
        sa.CheckConstraint("source IN ('manual', 'import', 'reversal')", name='ck_levy_payment_source'),
        sa.CheckConstraint("source != 'reversal' OR (supersedes_id IS NOT NULL AND note IS NOT NULL)",
                           name='ck_levy_payment_reversal'),
    )
    op.create_index('ix_levy_payments_case_id', 'levy_payments', ['case_id'])
    op.create_index('ix_levy_payments_procedure_id', 'levy_payments', ['procedure_id'])
    _immutable('levy_payments')


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in ('levy_payments', 'levy_objections', 'levy_notices'):
        op.drop_table(table)
        if postgres and table == 'levy_payments':
            op.execute("DROP FUNCTION IF EXISTS eakte_levy_payments_immutable()")
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS levy_assessments_immutable ON levy_assessments")
        op.execute("DROP FUNCTION IF EXISTS eakte_levy_assessments_immutable()")
    op.drop_table('levy_assessments')
    op.drop_table('levy_table_versions')
    op.drop_table('levy_surveys')
