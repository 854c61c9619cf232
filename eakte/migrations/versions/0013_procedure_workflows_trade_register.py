"""workflows per procedure; procedure metadata; the trade register (entries, transmissions, retrievals)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:40:00

A case type may run its workflow per procedure (a trade notification is a procedure of the business's case):
workflow instances and tasks name their procedure, and a case keeps at most one case-level instance and a
procedure at most one instance (two partial unique indexes replace the unique case_id). Existing instances are
case-level (procedure_id NULL) and existing procedures carry no metadata, so no data step is needed.

SQLite cannot drop the unique constraint of `workflow_instances.case_id` in place: the table is rebuilt, with
foreign keys switched off meanwhile (outside a transaction, where SQLite honours the pragma), as SQLite's own
procedure for schema changes prescribes; tasks and workflow events keep their references by table name.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
ENTRIES_MESSAGE = "trade register entries are immutable"
INSTANCE_COLUMNS = "id, case_id, case_type, status, current_step, started_at, finished_at"


def _rebuild_sqlite_instances(with_procedure: bool) -> None:
    ctx = op.get_context()
    with ctx.autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    procedure = ", procedure_id INTEGER REFERENCES procedures (id)" if with_procedure else ""
    unique = "" if with_procedure else ", UNIQUE (case_id)"
    op.execute(
        "CREATE TABLE _new_workflow_instances (id INTEGER NOT NULL PRIMARY KEY, "
        "case_id INTEGER NOT NULL REFERENCES cases (id), case_type VARCHAR(64) NOT NULL, "
        "status VARCHAR(20) NOT NULL, current_step VARCHAR(64), started_at DATETIME NOT NULL, "
        f"finished_at DATETIME{procedure}{unique}, "
        "CONSTRAINT ck_workflow_status CHECK (status IN ('running', 'completed', 'rejected')))")
    op.execute(f"INSERT INTO _new_workflow_instances ({INSTANCE_COLUMNS}) "
               f"SELECT {INSTANCE_COLUMNS} FROM workflow_instances")
    op.execute("DROP TABLE workflow_instances")
    op.execute("ALTER TABLE _new_workflow_instances RENAME TO workflow_instances")
    with ctx.autocommit_block():
        op.execute("PRAGMA foreign_keys=ON")


def _immutable_entries() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER trade_entries_no_{event.lower()} BEFORE {event} ON trade_entries "
                       f"BEGIN SELECT RAISE(ABORT, '{ENTRIES_MESSAGE}'); END")
        return
    op.execute("CREATE FUNCTION eakte_trade_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"RAISE EXCEPTION '{ENTRIES_MESSAGE}'; END $$")
    op.execute("CREATE TRIGGER trade_entries_immutable BEFORE UPDATE OR DELETE ON trade_entries "
               "FOR EACH ROW EXECUTE FUNCTION eakte_trade_entries_immutable()")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        # Plain ADD COLUMN (see 0011): a batch copy of `procedures` is refused while other tables refer to it.
        op.execute("ALTER TABLE procedures ADD COLUMN metadata JSON NOT NULL DEFAULT '{}'")
        op.execute('ALTER TABLE tasks ADD COLUMN procedure_id INTEGER REFERENCES procedures (id)')
        _rebuild_sqlite_instances(with_procedure=True)
    else:
        op.add_column('procedures', sa.Column('metadata', sa.JSON(), nullable=False, server_default='{}'))
        op.add_column('tasks', sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=True))
        op.add_column('workflow_instances', sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'),
                                                      nullable=True))
        op.drop_constraint('workflow_instances_case_id_key', 'workflow_instances', type_='unique')
    op.create_index('ix_tasks_procedure_id', 'tasks', ['procedure_id'])
    op.create_index('ix_workflow_instances_case_id', 'workflow_instances', ['case_id'])
    op.create_index('uq_workflow_instances_case', 'workflow_instances', ['case_id'], unique=True,
                    sqlite_where=sa.text('procedure_id IS NULL'), postgresql_where=sa.text('procedure_id IS NULL'))
    op.create_index('uq_workflow_instances_procedure', 'workflow_instances', ['procedure_id'], unique=True,
                    sqlite_where=sa.text('procedure_id IS NOT NULL'),
                    postgresql_where=sa.text('procedure_id IS NOT NULL'))

    op.create_table(
        'trade_entries',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('notification', sa.String(20), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by', ID, sa.ForeignKey('users.id'), nullable=False),
        sa.UniqueConstraint('case_id', 'version'),
    )
    op.create_index('ix_trade_entries_case_id', 'trade_entries', ['case_id'])
    op.create_index('ix_trade_entries_procedure_id', 'trade_entries', ['procedure_id'])
    _immutable_entries()
    op.create_table(
        'trade_transmissions',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('procedure_id', ID, sa.ForeignKey('procedures.id'), nullable=False),
        sa.Column('recipient', sa.String(64), nullable=False),
        sa.Column('format', sa.String(8), nullable=False),
        sa.Column('document_id', ID, sa.ForeignKey('documents.id'), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.UniqueConstraint('procedure_id', 'recipient'),
        sa.CheckConstraint("status IN ('pending', 'sent', 'confirmed', 'failed')",
                           name='ck_trade_transmission_status'),
    )
    op.create_index('ix_trade_transmissions_case_id', 'trade_transmissions', ['case_id'])
    op.create_index('ix_trade_transmissions_status_due', 'trade_transmissions', ['status', 'due_at'])
    op.create_table(
        'trade_retrievals',
        sa.Column('id', ID, primary_key=True),
        sa.Column('case_id', ID, sa.ForeignKey('cases.id'), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('requester', sa.String(300), nullable=True),
        sa.Column('requester_kind', sa.String(20), nullable=True),
        sa.Column('interest', sa.Text(), nullable=True),
        sa.Column('purpose', sa.Text(), nullable=True),
        sa.Column('reference', sa.String(200), nullable=True),
        sa.Column('retrieved_at', sa.DateTime(), nullable=False),
        sa.Column('retrieved_by', ID, sa.ForeignKey('users.id'), nullable=True),
        sa.CheckConstraint("kind IN ('simple', 'extended')", name='ck_trade_retrieval_kind'),
    )
    op.create_index('ix_trade_retrievals_case_id', 'trade_retrievals', ['case_id'])
    op.create_index('ix_trade_retrievals_retrieved_at', 'trade_retrievals', ['retrieved_at'])


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.drop_table('trade_retrievals')
    op.drop_table('trade_transmissions')
    if not sqlite:
        op.execute("DROP TRIGGER IF EXISTS trade_entries_immutable ON trade_entries")
        op.execute("DROP FUNCTION IF EXISTS eakte_trade_entries_immutable()")
    op.drop_table('trade_entries')
    # Procedure-level workflows cannot be kept by the older schema.
    op.execute("DELETE FROM workflow_events WHERE instance_id IN "
               "(SELECT id FROM workflow_instances WHERE procedure_id IS NOT NULL)")
    op.execute("DELETE FROM tasks WHERE procedure_id IS NOT NULL")
    op.execute("DELETE FROM workflow_instances WHERE procedure_id IS NOT NULL")
    op.drop_index('uq_workflow_instances_procedure', 'workflow_instances')
    op.drop_index('uq_workflow_instances_case', 'workflow_instances')
    op.drop_index('ix_workflow_instances_case_id', 'workflow_instances')
    op.drop_index('ix_tasks_procedure_id', 'tasks')
    if sqlite:
        _rebuild_sqlite_instances(with_procedure=False)
        op.execute('ALTER TABLE tasks DROP COLUMN procedure_id')
        op.execute('ALTER TABLE procedures DROP COLUMN metadata')
    else:
        op.create_unique_constraint('workflow_instances_case_id_key', 'workflow_instances', ['case_id'])
        op.drop_column('workflow_instances', 'procedure_id')
        op.drop_column('tasks', 'procedure_id')
        op.drop_column('procedures', 'metadata')
