"""Adverse items of a personnel file (issue 12, point 6): the hearing cannot be skipped, the statement is filed
beside the item, removal on application only from its date, unfounded at once; a removal destroys the documents
(versions, texts, index entries) and leaves a record that something was removed, never what."""
from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from eakte.app import create_app
from eakte.clock import office_today, set_clock
from eakte.models import AdverseItem, AuditEvent, DocumentDestruction, DocumentVersion, ExtractedText
from eakte.services import integrity
from tests.conftest import OPERATOR, make_runtime
from tests.helpers import pdf_bytes
from tests.personnel import PersonnelOffice, build_personnel_office

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
ITEM_TITLE = "Abmahnung wegen Verspätung Quastenflosser"
ITEM_FILE = "abmahnung-quastenflosser.pdf"
ITEM_WORD = "Rotfeuerfischhaltung"  # only in the item's document
STATEMENT_WORD = "Seeanemonenpflege"  # only in the employee's statement
STATEMENT_FILE = "stellungnahme-seeanemone.pdf"


@pytest.fixture
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


@pytest.fixture
def env(tmp_path, db_url, clock):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    client = create_app(rt).test_client()
    office = build_personnel_office(rt, client)
    yield rt, client, office
    rt.close()


def _case_id(office: PersonnelOffice) -> int:
    return int(office.file.case["id"])


def _file(client: Any, office: PersonnelOffice, user: str = "petra", *, kind: str = "warning",
          procedure_id: int | None = None) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(pdf_bytes(ITEM_TITLE, f"Vorfall {ITEM_WORD}")), ITEM_FILE,
                                     "application/pdf"), "title": ITEM_TITLE, "kind": kind}
    if procedure_id is not None:
        data["procedure_id"] = str(procedure_id)
    return client.post(f"/api/v1/cases/{_case_id(office)}/adverse-items", headers=office.auth(user),
                       content_type="multipart/form-data", data=data)


def _filed_item(client: Any, office: PersonnelOffice, **kw: Any) -> dict[str, Any]:
    resp = _file(client, office, **kw)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _statement(client: Any, office: PersonnelOffice, item_id: int, user: str = "petra") -> Any:
    return client.post(f"/api/v1/adverse-items/{item_id}/statement", headers=office.auth(user),
                       content_type="multipart/form-data", data={"file": (io.BytesIO(pdf_bytes(
                           "Stellungnahme", f"Ich widerspreche {STATEMENT_WORD}")), STATEMENT_FILE,
                           "application/pdf")})


def _declined(client: Any, office: PersonnelOffice, item_id: int, user: str = "petra") -> Any:
    return client.post(f"/api/v1/adverse-items/{item_id}/statement", headers=office.auth(user),
                       content_type="multipart/form-data", data={"declined": "true"})


def _post(client: Any, office: PersonnelOffice, path: str, user: str = "petra", **body: Any) -> Any:
    return client.post(f"/api/v1{path}", headers=office.auth(user), json=body if body else None)


def _hits(client: Any, office: PersonnelOffice, word: str, user: str = "petra") -> int:
    resp = client.get("/api/v1/search", headers=office.auth(user), query_string={"q": word})
    assert resp.status_code == 200, resp.get_json()
    return int(resp.get_json()["total"])


def test_hearing_cannot_be_skipped_then_statement_and_filed(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    case_id = _case_id(office)
    # The plain upload refuses the managed kinds, at the field `kind`, on the case and in a sub-file.
    for kind in ("warning", "complaint", "statement"):
        resp = client.post(f"/api/v1/cases/{case_id}/documents", headers=office.auth("petra"),
                           content_type="multipart/form-data", data={
                               "file": (io.BytesIO(pdf_bytes("x", "y")), "x.pdf", "application/pdf"),
                               "title": "Abmahnung", "kind": kind})
        assert resp.status_code == 422, resp.get_json()
        assert resp.get_json()["field"] == "kind" and "werden über" in resp.get_json()["detail_de"]
    resp = client.post(f"/api/v1/procedures/{office.file.subfiles['beurteilungen']}/documents",
                       headers=office.auth("petra"), content_type="multipart/form-data", data={
                           "file": (io.BytesIO(pdf_bytes("x", "y")), "x.pdf", "application/pdf"),
                           "title": "Abmahnung", "kind": "warning"})
    assert resp.status_code == 422 and resp.get_json()["field"] == "kind"
    assert _file(client, office, kind="appraisal").status_code == 422  # not an adverse kind

    sub = office.file.subfiles["beurteilungen"]
    item = _filed_item(client, office, procedure_id=sub)
    assert item["status"] == "hearing" and item["title"] == ITEM_TITLE and item["procedure_id"] == sub
    assert item["hearing_due_on"] == (office_today() + dt.timedelta(days=14)).isoformat()
    assert item["may_file"] is False and item["may_record_hearing"] is True
    document = client.get(f"/api/v1/documents/{item['document_id']}", headers=office.auth("petra")).get_json()
    assert document["kind"] == "warning" and document["procedure_id"] == sub

    # Filing before the hearing: refused, with the German reason.
    resp = _post(client, office, f"/adverse-items/{item['id']}/file")
    assert resp.status_code == 409 and resp.mimetype == "application/problem+json"
    assert "anzuhören" in resp.get_json()["detail_de"]
    # Neither a file nor declined: refused.
    resp = client.post(f"/api/v1/adverse-items/{item['id']}/statement", headers=office.auth("petra"),
                       content_type="multipart/form-data", data={})
    assert resp.status_code == 422

    resp = _statement(client, office, item["id"])
    assert resp.status_code == 200, resp.get_json()
    heard = resp.get_json()
    assert heard["heard_by"] == "petra" and heard["statement_document_id"] and not heard["statement_declined"]
    statement = client.get(f"/api/v1/documents/{heard['statement_document_id']}",
                           headers=office.auth("petra")).get_json()
    assert statement["kind"] == "statement" and statement["procedure_id"] == sub  # beside the item
    assert _declined(client, office, item["id"]).status_code == 409  # the hearing is recorded once

    resp = _post(client, office, f"/adverse-items/{item['id']}/file")
    assert resp.status_code == 200, resp.get_json()
    filed = resp.get_json()
    assert filed["status"] == "filed" and filed["filed_by"] == "petra"
    assert filed["removal_due_on"] == office_today().replace(year=office_today().year + 2).isoformat()
    assert _post(client, office, f"/adverse-items/{item['id']}/file").status_code == 409
    fu = client.get(f"/api/v1/cases/{case_id}/followups", headers=office.auth("petra")).get_json()["items"]
    assert [f["status"] for f in fu if f["id"] == item["followup_id"]] == ["done"]
    listed = client.get(f"/api/v1/cases/{case_id}/adverse-items", headers=office.auth("hanna")).get_json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]
    # The managed documents' events carry neither title nor file name.
    with rt.db.read() as session:
        details = [e.details for e in session.execute(sa.select(AuditEvent).where(
            AuditEvent.object_id.in_([str(item["document_id"]), str(heard["statement_document_id"])]),
            AuditEvent.object_type == "document")).scalars()]
    assert details and all("title" not in d and "filename" not in d for d in details)
    # What was heard is what stays: neither the item nor the statement takes a new version or moves away.
    for document_id in (item["document_id"], heard["statement_document_id"]):
        resp = client.post(f"/api/v1/documents/{document_id}/versions", headers=office.auth("petra"),
                           content_type="multipart/form-data", data={
                               "file": (io.BytesIO(pdf_bytes("milder", "harmlos")), "v2.pdf", "application/pdf")})
        assert resp.status_code == 409 and resp.get_json()["field"] == "kind", resp.get_json()
        resp = client.post(f"/api/v1/documents/{document_id}/move", headers=office.auth("petra"),
                           json={"procedure_id": None})
        assert resp.status_code == 409, resp.get_json()


def test_hearing_followup_in_petras_postkorb(env) -> None:  # type: ignore[no-untyped-def]
    _rt, client, office = env
    item = _filed_item(client, office)

    def due(user: str) -> list[int]:
        resp = client.get("/api/v1/inbox/followups", headers=office.auth(user))
        assert resp.status_code == 200
        return [f["id"] for f in resp.get_json()["items"]]

    assert item["followup_id"] not in due("petra")  # not before its day
    set_clock(lambda: NOW + dt.timedelta(days=14))
    assert item["followup_id"] in due("petra") and item["followup_id"] in due("hanna")
    for outsider in ("paul", "anna", "rita", "bea", "lars"):
        assert item["followup_id"] not in due(outsider)
    _declined(client, office, item["id"])
    _post(client, office, f"/adverse-items/{item['id']}/file")
    assert item["followup_id"] not in due("petra")  # filing settles it


def test_removal_on_application_only_from_its_date_and_leaves_nothing(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    item = _filed_item(client, office)
    assert _hits(client, office, ITEM_WORD) == 1 and _hits(client, office, "Quastenflosser") >= 1
    assert _statement(client, office, item["id"]).status_code == 200
    statement_id = client.get(f"/api/v1/adverse-items/{item['id']}",
                              headers=office.auth("petra")).get_json()["statement_document_id"]
    assert _hits(client, office, STATEMENT_WORD) == 1
    # On application: not during the hearing, not before the removal date.
    assert _post(client, office, f"/adverse-items/{item['id']}/remove", ground="application").status_code == 409
    filed = _post(client, office, f"/adverse-items/{item['id']}/file").get_json()
    resp = _post(client, office, f"/adverse-items/{item['id']}/remove", ground="application")
    assert resp.status_code == 409 and "auf Antrag entfernt" in resp.get_json()["detail_de"]
    assert _post(client, office, f"/adverse-items/{item['id']}/remove", ground="because").status_code == 422
    due = dt.date.fromisoformat(filed["removal_due_on"])
    set_clock(lambda: dt.datetime.combine(due - dt.timedelta(days=1), dt.time(9), dt.timezone.utc))
    assert _post(client, office, f"/adverse-items/{item['id']}/remove", ground="application").status_code == 409
    set_clock(lambda: dt.datetime.combine(due, dt.time(9), dt.timezone.utc))
    resp = _post(client, office, f"/adverse-items/{item['id']}/remove", ground="application")
    assert resp.status_code == 200, resp.get_json()
    removed = resp.get_json()
    assert removed["status"] == "removed" and removed["removal_ground"] == "application"
    assert removed["removed_by"] == "petra" and removed["removed_at"]
    assert removed["title"] is None and removed["document_id"] is None and removed["statement_document_id"] is None
    assert _post(client, office, f"/adverse-items/{item['id']}/remove", ground="unfounded").status_code == 409

    doomed = [item["document_id"], statement_id]
    for document_id in doomed:
        assert client.get(f"/api/v1/documents/{document_id}", headers=office.auth("petra")).status_code == 404
        assert client.get(f"/api/v1/documents/{document_id}/content",
                          headers=office.auth("petra")).status_code == 404
    listed = client.get(f"/api/v1/cases/{_case_id(office)}/documents", headers=office.auth("petra")).get_json()
    assert not {d["id"] for d in listed["items"]} & set(doomed)
    for word in (ITEM_WORD, STATEMENT_WORD, "Quastenflosser"):
        assert _hits(client, office, word) == 0
    with rt.db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(DocumentVersion).where(
            DocumentVersion.document_id.in_(doomed))).scalar_one() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(ExtractedText).join(
            DocumentVersion, DocumentVersion.id == ExtractedText.version_id).where(
            DocumentVersion.document_id.in_(doomed))).scalar_one() == 0
        destroyed = session.execute(sa.select(DocumentDestruction)).scalars().all()
        assert sorted(d.document_id for d in destroyed) == sorted(doomed)
        assert {d.ground for d in destroyed} == {"adverse_item.application"}
        assert all(d.destroyed_by == office.town.user_ids["petra"] for d in destroyed)
        row = session.get(AdverseItem, item["id"])
        assert row is not None and row.status == "removed" and row.removed_at is not None
        trail = [(e.action, json.dumps(e.details, ensure_ascii=False))
                 for e in session.execute(sa.select(AuditEvent)).scalars()]
    actions = [a for a, _ in trail]
    for action in ("adverse.file", "adverse.hearing", "adverse.filed", "adverse.remove"):
        assert action in actions
    for secret in (ITEM_TITLE, "Quastenflosser", ITEM_FILE, STATEMENT_FILE, ITEM_WORD, STATEMENT_WORD):
        assert not [a for a, d in trail if secret in d], secret


def test_unfounded_item_removed_at_once(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    item = _filed_item(client, office, kind="complaint")
    with rt.db.read() as session:
        keys = set(session.execute(sa.select(DocumentVersion.blob_key).where(
            DocumentVersion.document_id == item["document_id"])).scalars())
    resp = _post(client, office, f"/adverse-items/{item['id']}/remove", ground="unfounded")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "removed" and resp.get_json()["removal_ground"] == "unfounded"
    assert client.get(f"/api/v1/documents/{item['document_id']}", headers=office.auth("petra")).status_code == 404
    assert _hits(client, office, ITEM_WORD) == 0
    # The hearing is over with it: no statement, no filing.
    assert _declined(client, office, item["id"]).status_code == 409
    assert _post(client, office, f"/adverse-items/{item['id']}/file").status_code == 409
    fu = client.get(f"/api/v1/cases/{_case_id(office)}/followups", headers=office.auth("petra")).get_json()["items"]
    assert [f["status"] for f in fu if f["id"] == item["followup_id"]] == ["done"]
    with rt.db.read() as session:
        assert session.execute(sa.select(DocumentDestruction.ground)).scalars().all() == ["adverse_item.unfounded"]
    # The destroyed file's blob is referenced no more: the storage gc takes it (after its grace period).
    assert keys and all(rt.blobs.exists(k) for k in keys)
    report = integrity.collect_garbage(rt, OPERATOR, dt.timedelta(0))
    assert keys <= set(report.removed) and not any(rt.blobs.exists(k) for k in keys)
    assert rt.blobs.exists(_blob_of(rt, office.file.grundakte_document))  # the file's other documents stay


def _blob_of(rt: Any, document_id: int) -> str:
    with rt.db.read() as session:
        return str(session.execute(sa.select(DocumentVersion.blob_key).where(
            DocumentVersion.document_id == document_id)).scalar_one())


def test_database_refuses_deleting_a_version_without_destruction_row(env) -> None:  # type: ignore[no-untyped-def]
    rt, _client, office = env
    with pytest.raises(DBAPIError):
        with rt.db.write() as session:
            session.execute(sa.delete(DocumentVersion).where(
                DocumentVersion.document_id == office.file.grundakte_document))
    with rt.db.read() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(DocumentVersion).where(
            DocumentVersion.document_id == office.file.grundakte_document)).scalar_one() == 1


def test_only_readers_of_the_whole_file_holding_the_clerk_role(env) -> None:  # type: ignore[no-untyped-def]
    _rt, client, office = env
    case_id = _case_id(office)
    item = _filed_item(client, office)
    for outsider in ("anna", "rita", "paul", "lars", "emil", "admin", "bea"):
        assert _file(client, office, outsider).status_code == 404, outsider
        assert client.get(f"/api/v1/cases/{case_id}/adverse-items",
                          headers=office.auth(outsider)).status_code == 404, outsider
        assert client.get(f"/api/v1/adverse-items/{item['id']}",
                          headers=office.auth(outsider)).status_code == 404, outsider
        assert _declined(client, office, item["id"], outsider).status_code == 404, outsider
        assert _post(client, office, f"/adverse-items/{item['id']}/file", outsider).status_code == 404, outsider
        assert _post(client, office, f"/adverse-items/{item['id']}/remove", outsider,
                     ground="unfounded").status_code == 404, outsider
    # bea sees the file for its Beihilfe sub-file only: not a trace of the adverse item in its trail.
    resp = client.get(f"/api/v1/cases/{case_id}/audit", headers=office.auth("bea"))
    assert resp.status_code == 200
    assert not [e for e in resp.get_json()["items"] if e["action"].startswith(("adverse.", "followup."))]
    trail = client.get(f"/api/v1/cases/{case_id}/audit", headers=office.auth("petra")).get_json()["items"]
    assert "adverse.file" in {e["action"] for e in trail}
    # hanna (clerk and head of the personnel office) acts as well.
    assert _declined(client, office, item["id"], "hanna").status_code == 200


def test_closed_file_takes_no_adverse_item(env) -> None:  # type: ignore[no-untyped-def]
    _rt, client, office = env
    item = _filed_item(client, office)
    resp = client.post(f"/api/v1/cases/{_case_id(office)}/close", headers=office.auth("petra"), json={})
    assert resp.status_code == 200, resp.get_json()
    assert _file(client, office).status_code == 409
    assert _declined(client, office, item["id"]).status_code == 409
    # The readers still see what there is.
    assert client.get(f"/api/v1/adverse-items/{item['id']}", headers=office.auth("petra")).status_code == 200

