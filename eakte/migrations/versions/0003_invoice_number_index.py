"""index the invoice number of invoice cases (the duplicate check at intake)

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# The expressions are exactly what SQLAlchemy emits for Case.metadata_["invoice_number"].as_string() on each
# dialect, so the planner uses the index instead of reading every invoice's JSON.
_EXPRESSION = {
    "postgresql": "(metadata ->> 'invoice_number')",
    "sqlite": "CAST(JSON_EXTRACT(metadata, '$.\"invoice_number\"') AS VARCHAR)",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"CREATE INDEX ix_cases_invoice_number ON cases ({_EXPRESSION[dialect]}) "
               "WHERE case_type = 'invoice'")


def downgrade() -> None:
    op.execute("DROP INDEX ix_cases_invoice_number")
