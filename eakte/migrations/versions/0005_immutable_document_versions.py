"""document versions are immutable in the database

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:00:00

A stored version is evidence: its bytes (blob key, hash, size), its type and who filed it when never change, and
it is never removed. Only the text-extraction state (text_status, text_error) is filled in after the upload by
the extraction job, so those two columns stay writable; every other column is frozen and DELETE is refused, as
for the audit trail.
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Every column of document_versions except text_status and text_error.
FROZEN = ("id", "document_id", "number", "blob_key", "sha256", "size", "mime_type", "filename", "uploaded_by",
          "uploaded_at")
MESSAGE = "document versions are immutable"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # WHEN compares values, so an UPDATE that only re-sets a frozen column to its value is let through.
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in FROZEN)
        op.execute("CREATE TRIGGER document_versions_frozen BEFORE UPDATE ON document_versions "
                   f"WHEN {changed} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        op.execute("CREATE TRIGGER document_versions_no_delete BEFORE DELETE ON document_versions "
                   f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")
        return
    new = ", ".join(f"NEW.{c}" for c in FROZEN)
    old = ", ".join(f"OLD.{c}" for c in FROZEN)
    op.execute("CREATE FUNCTION eakte_document_versions_frozen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
               f"IF TG_OP = 'DELETE' OR ({new}) IS DISTINCT FROM ({old}) THEN "
               f"RAISE EXCEPTION '{MESSAGE}'; END IF; RETURN NEW; END $$")
    op.execute("CREATE TRIGGER document_versions_frozen BEFORE UPDATE OR DELETE ON document_versions "
               "FOR EACH ROW EXECUTE FUNCTION eakte_document_versions_frozen()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS document_versions_frozen")
        op.execute("DROP TRIGGER IF EXISTS document_versions_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS document_versions_frozen ON document_versions")
    op.execute("DROP FUNCTION IF EXISTS eakte_document_versions_frozen()")
