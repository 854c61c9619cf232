"""Migration 0011 (procedures, notes, follow-ups, confidentiality) upgrades a database that holds records: the
rows are written with plain SQL at revision 0010, as an installation of that version left them."""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, text

from eakte.db import Database
from eakte.models import Case, Document
from eakte.services import procedures
from eakte.services.access import Actor, Principal
from workflows.registry import load_registry

PG_URL = os.environ.get("EAKTE_TEST_DATABASE_URL")
NOW = "2026-03-02 10:00:00"
ANNA = Actor(Principal(1, "anna", {1: frozenset({"clerk"})}), "test")  # the clerk inserted below


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own (not the session's, which is at head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    if not PG_URL:
        pytest.skip("EAKTE_TEST_DATABASE_URL not set: PostgreSQL variant skipped")
    name = f"eakte_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


ROWS = [
    ("INSERT INTO units (id, code, name, created_at) VALUES (1, '20', 'Kämmerei', :now)", {}),
    ("INSERT INTO users (id, username, display_name, is_active, created_at, must_change_password) "
     "VALUES (1, 'anna', 'Anna', :yes, :now, :no)", {}),
    ("INSERT INTO memberships (id, user_id, unit_id, role) VALUES (1, 1, 1, 'clerk')", {}),
    ("INSERT INTO file_plan_nodes (id, code, title, retention_years, disposal, created_at) "
     "VALUES (1, '20.30', 'Rechnungen', 10, 'archive', :now)", {}),
    ("INSERT INTO case_counters (file_plan_node_id, year, last_number) VALUES (1, 2026, 42)", {}),
    ("INSERT INTO cases (id, reference, file_plan_node_id, year, number, title, case_type, unit_id, status, "
     "metadata, created_at, created_by, updated_at) VALUES (1, '20.30/0042/2026', 1, 2026, 42, 'Altakte', "
     "'general', 1, 'open', '{}', :now, 1, :now)", {}),
    ("INSERT INTO documents (id, case_id, title, kind, created_at, created_by, current_version) "
     "VALUES (1, 1, 'Rechnung', 'document', :now, 1, 1)", {}),
    ("INSERT INTO document_versions (id, document_id, number, blob_key, sha256, size, mime_type, filename, "
     "uploaded_by, uploaded_at, text_status) VALUES (1, 1, 1, 'ab/cd', :sha, 3, 'application/pdf', 'r.pdf', 1, "
     ":now, 'done')", {}),
]


def test_upgrade_keeps_records_at_case_level(empty_db: str) -> None:
    db = Database(empty_db)
    try:
        command.upgrade(db.alembic_config(), "0010")
        with db.engine.begin() as conn:
            for sql, extra in ROWS:
                conn.execute(text(sql), {"now": NOW, "yes": True, "no": False, "sha": "0" * 64, **extra})
        db.upgrade()
        assert db.current_revision() == db.head_revision()
        with db.engine.connect() as conn:
            case = conn.execute(text("SELECT confidentiality, last_procedure_number FROM cases")).one()
            assert tuple(case) == ("open", 0)
            assert conn.execute(text("SELECT procedure_id, checked_out_by FROM documents")).one() == (None, None)
            assert conn.execute(text("SELECT count(*) FROM procedures")).scalar() == 0
        with db.write() as session:
            procedure = procedures.create_procedure(session, ANNA, load_registry(), 1, "Widerspruch")
            assert (procedure.number, procedure.reference) == (1, "20.30/0042/2026-1")
        with db.read() as session:
            assert session.get(Case, 1).last_procedure_number == 1
            assert session.get(Document, 1).procedure_id is None and len(session.get(Document, 1).versions) == 1
    finally:
        db.dispose()
