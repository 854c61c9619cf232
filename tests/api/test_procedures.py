"""Procedures (Vorgänge) and sub-files (Teilakten) over the API: numbering, uploads into them, moving documents,
search and export by the tree, and the sub-file access rule (with denials)."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from eakte.app import create_app
from eakte.models import AuditEvent, Case
from eakte.services import identity
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case, pdf_bytes, upload
from workflows.definition import CaseType, SubFile
from workflows.registry import load_registry

# Test-only case type: a restricted sub-file kept for unit 32, whatever the case's own unit (20).
STAFF = CaseType(key="staff_file", label_de="Mitarbeiterakte", label_en="Staff file", open_schema=True,
                 subfiles=(SubFile("basic", "Grundakte", "Basic file"),
                           SubFile("allowance", "Beihilfe", "Allowance", unit="32"),
                           SubFile("reviews", "Beurteilungen", "Reviews", unit="20", min_role="approver")))


@pytest.fixture
def env(tmp_path, db_url):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    rt.__dict__["registry"] = load_registry(extra={"staff_file": STAFF})
    town = build_town(rt)
    with rt.db.write() as session:  # petra: clerk in 20 (the case's unit) and in 32 (the allowance unit)
        petra = identity.create_user(session, OPERATOR, "petra", password="correct horse battery",
                                     roles=[identity.UnitRole("20", "clerk"), identity.UnitRole("32", "clerk")])
        town.tokens["petra"] = identity.issue_token(session, OPERATOR, petra, "test")
    client = create_app(rt).test_client()
    yield rt, town, client
    rt.close()


def _post_procedure(client, town, user: str, case_id: int, title: str = "Widerspruch Müller"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/cases/{case_id}/procedures", json={"title": title}, headers=town.auth(user))


def _upload_into(client, town, user: str, procedure_id: int, title: str = "Bescheid", text: str = "Inhalt"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/procedures/{procedure_id}/documents", headers=town.auth(user),
                       data={"file": (io.BytesIO(pdf_bytes(title, text)), "b.pdf", "application/pdf"),
                             "title": title}, content_type="multipart/form-data")


def _search(client, town, user: str, q: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    resp = client.get("/api/v1/search", headers=town.auth(user), query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_numbers_references_uploads_and_moves(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    first = _post_procedure(client, town, "anna", case["id"], "Mahnung")
    second = _post_procedure(client, town, "anna", case["id"])
    assert first.status_code == 201 and second.status_code == 201, second.get_json()
    p1, p2 = first.get_json(), second.get_json()
    assert (p1["number"], p2["number"]) == (1, 2)
    assert p2["reference"] == f"{case['reference']}-2" and p2["kind"] == "procedure" and p2["status"] == "open"
    listed = client.get(f"/api/v1/cases/{case['id']}/procedures", headers=town.auth("rita")).get_json()["items"]
    assert [p["number"] for p in listed] == [1, 2]

    doc = _upload_into(client, town, "anna", p2["id"], text="Quastenflosser Widerspruchsbescheid")
    assert doc.status_code == 201, doc.get_json()
    doc_id = doc.get_json()["id"]
    assert doc.get_json()["procedure_id"] == p2["id"]
    at_case = upload(client, town.auth("anna"), case["id"], pdf_bytes("Akte"), title="Deckblatt").get_json()
    assert at_case["procedure_id"] is None

    # found by the procedure's reference, free and as a field, and by its title
    assert _search(client, town, "anna", p2["reference"])["items"][0]["document_id"] == doc_id
    assert [h["document_id"] for h in _search(client, town, "anna", f'procedure:"{p2["reference"]}"')["items"]] \
        == [doc_id]
    assert _search(client, town, "olga", p2["reference"])["total"] == 0  # another unit's clerk: nothing
    renamed = client.patch(f"/api/v1/procedures/{p2['id']}", json={"title": "Stundungsantrag Zaunkönig"},
                           headers=town.auth("anna"))
    assert renamed.status_code == 200 and renamed.get_json()["title"] == "Stundungsantrag Zaunkönig"
    assert [h["document_id"] for h in _search(client, town, "anna", "Zaunkönig")["items"]] == [doc_id]

    # moved to the case level and into the other procedure; versions untouched; audited with from/to
    moved = client.post(f"/api/v1/documents/{doc_id}/move", json={"procedure_id": None}, headers=town.auth("anna"))
    assert moved.status_code == 200 and moved.get_json()["procedure_id"] is None
    assert len(moved.get_json()["versions"]) == 1
    assert _search(client, town, "anna", f'procedure:"{p2["reference"]}"')["total"] == 0
    again = client.post(f"/api/v1/documents/{doc_id}/move", json={"procedure_id": p1["id"]},
                        headers=town.auth("anna"))
    assert again.get_json()["procedure_id"] == p1["id"]
    with rt.db.read() as session:
        moves = session.execute(select(AuditEvent).where(AuditEvent.action == "document.move")
                                .order_by(AuditEvent.id)).scalars().all()
    assert moves[0].details["from"]["reference"] == p2["reference"] and moves[0].details["to"] is None
    assert moves[1].details["from"] is None and moves[1].details["to"]["procedure_id"] == p1["id"]

    # the export lays the files out by the tree and names each document's procedure
    resp = client.post("/api/v1/exports", json={"case_ids": [case["id"]]}, headers=town.auth("rita"))
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        names = zf.namelist()
        case_json = json.loads(next(zf.read(n) for n in names if n.endswith("/case.json")))
    assert any("/001 Mahnung/documents/" in n for n in names)
    by_id = {d["id"]: d for d in case_json["documents"]}
    assert by_id[doc_id]["procedure"]["reference"] == p1["reference"]
    assert by_id[at_case["id"]]["procedure"] is None
    assert [p["number"] for p in case_json["procedures"]] == [1, 2]


def test_denials(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    other = create_case(client, town.auth("anna"), title="Andere Akte")
    proc = _post_procedure(client, town, "anna", case["id"]).get_json()
    foreign = _post_procedure(client, town, "anna", other["id"]).get_json()
    doc = upload(client, town.auth("anna"), case["id"], pdf_bytes()).get_json()

    assert _post_procedure(client, town, "olga", case["id"]).status_code == 404  # other unit: not even seen
    assert client.get(f"/api/v1/procedures/{proc['id']}", headers=town.auth("olga")).status_code == 404
    assert _post_procedure(client, town, "rita", case["id"]).status_code == 403  # auditor: read-only
    assert client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"},
                        headers=town.auth("rita")).status_code == 403
    assert _upload_into(client, town, "olga", proc["id"]).status_code == 404
    assert client.post(f"/api/v1/documents/{doc['id']}/move", json={"procedure_id": proc["id"]},
                       headers=town.auth("bernd")).status_code == 403  # approver, no clerk role
    refused = client.post(f"/api/v1/documents/{doc['id']}/move", json={"procedure_id": foreign["id"]},
                          headers=town.auth("anna"))
    assert refused.status_code == 404 and refused.content_type == "application/problem+json"
    assert _post_procedure(client, town, "anna", case["id"], " ").status_code == 422

    closed = client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"}, headers=town.auth("anna"))
    assert closed.status_code == 200 and closed.get_json()["closed_at"] is not None
    assert _upload_into(client, town, "anna", proc["id"]).status_code == 409
    assert client.post(f"/api/v1/documents/{doc['id']}/move", json={"procedure_id": proc["id"]},
                       headers=town.auth("anna")).status_code == 409
    reopened = client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "open"}, headers=town.auth("anna"))
    assert reopened.get_json()["closed_at"] is None and _upload_into(client, town, "anna", proc["id"]).status_code \
        == 201

    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=town.auth("anna")).status_code == 200
    assert _post_procedure(client, town, "anna", case["id"]).status_code == 409
    with rt.db.read() as session:
        assert session.get(Case, case["id"]).last_procedure_number == 1


def test_subfiles_and_their_access_rule(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    case = create_case(client, town.auth("anna"), title="Mitarbeiterakte Beispiel", case_type="staff_file")
    subs = client.get(f"/api/v1/cases/{case['id']}/procedures", headers=town.auth("admin")).get_json()["items"]
    assert [(s["number"], s["kind"], s["subfile"], s["title"]) for s in subs] == [
        (1, "subfile", "basic", "Grundakte"), (2, "subfile", "allowance", "Beihilfe"),
        (3, "subfile", "reviews", "Beurteilungen")]
    assert _post_procedure(client, town, "anna", case["id"]).status_code == 409  # no free procedures here
    assert client.patch(f"/api/v1/procedures/{subs[0]['id']}", json={"title": "x"},
                        headers=town.auth("anna")).status_code == 422
    allowance = subs[1]["id"]
    secret = _upload_into(client, town, "petra", allowance, "Beihilfeantrag", "Zahnersatz Rotkehlchen")
    assert secret.status_code == 201, secret.get_json()
    secret_id = secret.get_json()["id"]
    open_doc = _upload_into(client, town, "anna", subs[0]["id"], "Arbeitsvertrag", "Rotkehlchen Vertrag")
    assert open_doc.status_code == 201

    # anna (the case's unit, not the allowance unit) sees neither the sub-file nor its document anywhere
    seen = client.get(f"/api/v1/cases/{case['id']}/procedures", headers=town.auth("anna")).get_json()["items"]
    assert [s["subfile"] for s in seen] == ["basic"]  # reviews need the approver role in 20
    assert client.get(f"/api/v1/procedures/{allowance}", headers=town.auth("anna")).status_code == 404
    docs = client.get(f"/api/v1/cases/{case['id']}/documents", headers=town.auth("anna")).get_json()["items"]
    assert [d["title"] for d in docs] == ["Arbeitsvertrag"]
    for path in (f"/api/v1/documents/{secret_id}", f"/api/v1/documents/{secret_id}/content"):
        assert client.get(path, headers=town.auth("anna")).status_code == 404
    assert _upload_into(client, town, "anna", allowance).status_code == 404
    hits = _search(client, town, "anna", "Rotkehlchen")
    assert hits["total"] == 1 and hits["items"][0]["title"] == "Arbeitsvertrag"
    assert _search(client, town, "rita", "Zahnersatz")["total"] == 0  # auditors: not a member either
    assert client.post(f"/api/v1/documents/{open_doc.get_json()['id']}/move", json={"procedure_id": allowance},
                       headers=town.auth("anna")).status_code == 404
    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=town.auth("anna")).get_json()["items"]
    assert "Beihilfeantrag" not in json.dumps(trail) and "Arbeitsvertrag" in json.dumps(trail)
    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=town.auth("petra")).get_json()["items"]
    assert "Beihilfeantrag" in json.dumps(trail)
    # petra (member of both) and admins see it
    assert _search(client, town, "petra", "Rotkehlchen")["total"] == 2
    assert client.get(f"/api/v1/documents/{secret_id}", headers=town.auth("admin")).status_code == 200
    # the auditor's export leaves the hidden sub-file out
    resp = client.post("/api/v1/exports", json={"case_ids": [case["id"]]}, headers=town.auth("rita"))
    with zipfile.ZipFile(io.BytesIO(resp.data)) as zf:
        listing = "\n".join(zf.namelist())
        blob = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".json"))
    assert "Beihilfe" not in listing and b"Beihilfeantrag" not in blob and "Grundakte" in listing
