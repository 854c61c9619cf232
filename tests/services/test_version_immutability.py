"""Document versions are immutable in the database itself: raw SQL cannot change a version's content columns or
delete it; only the extraction state may be filled in."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from eakte.models import DocumentVersion
from tests.helpers import create_case, pdf_bytes, upload


@pytest.fixture
def version_id(rt, client, town) -> int:  # type: ignore[no-untyped-def]
    h = town.auth("anna")
    case = create_case(client, h)
    resp = upload(client, h, case["id"], pdf_bytes("Unveränderlich"))
    assert resp.status_code == 201, resp.get_json()
    with rt.db.read() as session:
        return session.execute(select(DocumentVersion.id).where(
            DocumentVersion.sha256 == resp.get_json()["version"]["sha256"])).scalar_one()


def _raw(rt, sql: str, **params: object) -> None:  # type: ignore[no-untyped-def]
    with rt.db.engine.begin() as conn:
        conn.execute(text(sql), params)


def _row(rt, version_id: int) -> DocumentVersion:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.execute(select(DocumentVersion).where(DocumentVersion.id == version_id)).scalar_one()


@pytest.mark.parametrize("sql", [
    "UPDATE document_versions SET sha256 = 'f00d' WHERE id = :id",
    "UPDATE document_versions SET blob_key = 'sha256/00/00/0000' WHERE id = :id",
    "UPDATE document_versions SET size = size + 1 WHERE id = :id",
    "UPDATE document_versions SET number = 7 WHERE id = :id",
    "UPDATE document_versions SET mime_type = 'text/plain' WHERE id = :id",
    "DELETE FROM document_versions WHERE id = :id",
], ids=["sha256", "blob_key", "size", "number", "mime_type", "delete"])
def test_database_refuses_changing_or_deleting_a_version(rt, version_id, sql) -> None:  # type: ignore[no-untyped-def]
    before = _row(rt, version_id)
    with pytest.raises(DBAPIError, match="immutable"):
        _raw(rt, sql, id=version_id)
    after = _row(rt, version_id)
    assert (after.sha256, after.blob_key, after.size, after.number, after.mime_type) == \
        (before.sha256, before.blob_key, before.size, before.number, before.mime_type)


def test_extraction_state_stays_writable(rt, version_id) -> None:  # type: ignore[no-untyped-def]
    # What the extraction job does (services/extraction.py), plus a no-op re-set of a frozen column.
    _raw(rt, "UPDATE document_versions SET text_status = 'failed', text_error = 'x', sha256 = sha256 WHERE id = :id",
         id=version_id)
    assert (_row(rt, version_id).text_status, _row(rt, version_id).text_error) == ("failed", "x")


@pytest.mark.parametrize("sql", [
    "UPDATE notes SET text = 'nachträglich geändert' WHERE id = :id",
    "UPDATE notes SET noted_on = noted_on WHERE id = :id",
    "DELETE FROM notes WHERE id = :id",
], ids=["text", "same-value", "delete"])
def test_database_refuses_changing_or_deleting_a_note(rt, client, town, sql) -> None:  # type: ignore[no-untyped-def]
    """A Vermerk is immutable below the API too: a correction is a new note, never an edit."""
    h = town.auth("anna")
    case = create_case(client, h)
    resp = client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "Telefonat mit dem Lieferanten"}, headers=h)
    assert resp.status_code == 201, resp.get_json()
    note_id = resp.get_json()["id"]
    with pytest.raises(DBAPIError, match="immutable"):
        _raw(rt, sql, id=note_id)
    with rt.db.read() as session:
        assert session.execute(text("SELECT text FROM notes WHERE id = :id"), {"id": note_id}).scalar_one() == \
            "Telefonat mit dem Lieferanten"
