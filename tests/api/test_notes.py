"""Notes (Vermerke) over the API: added by the case's clerks, immutable (a correction is a new note), searchable
within what the caller may see; the case's timeline."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from eakte import clock
from eakte.models import AuditEvent, Note
from tests.helpers import create_case, pdf_bytes, upload


def _note(client, town, user, case_id, expect=201, **body):  # type: ignore[no-untyped-def]
    resp = client.post(f"/api/v1/cases/{case_id}/notes", json=body, headers=town.auth(user))
    assert resp.status_code == expect, resp.get_json()
    return resp.get_json()


def test_note_added_listed_and_audited(rt, client, town) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    note = _note(client, town, "anna", case["id"], text="  Telefonat mit Frau Kranich: Rückruf zugesagt.  ")
    assert note["text"] == "Telefonat mit Frau Kranich: Rückruf zugesagt."
    assert note["noted_on"] == clock.office_today().isoformat() and note["created_by"] == "anna"
    assert note["procedure_id"] is None and note["corrects_id"] is None and note["corrected_by"] == []
    listed = client.get(f"/api/v1/cases/{case['id']}/notes", headers=town.auth("rita")).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == note["id"]
    with rt.db.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "note.created")).scalar_one()
    assert event.case_id == case["id"] and event.object_id == str(note["id"])
    assert event.details["corrects"] is None and len(event.details["sha256"]) == 64


def test_notes_are_immutable_a_correction_refers_to_the_old(rt, client, town) -> None:  # type: ignore[no-untyped-def]
    h = town.auth("anna")
    case = create_case(client, h)
    old = _note(client, town, "anna", case["id"], text="Ortstermin am 3. März", noted_on="2026-03-01")
    for method in (client.patch, client.put, client.delete):
        assert method(f"/api/v1/cases/{case['id']}/notes", json={"text": "x"}, headers=h).status_code == 405
        assert method(f"/api/v1/cases/{case['id']}/notes/{old['id']}", json={"text": "x"},
                      headers=h).status_code in (404, 405)
    fix = _note(client, town, "anna", case["id"], text="Berichtigung: Ortstermin am 4. März", corrects_id=old["id"])
    assert fix["corrects_id"] == old["id"]
    items = client.get(f"/api/v1/cases/{case['id']}/notes", headers=h).get_json()["items"]
    by_id = {i["id"]: i for i in items}
    assert by_id[old["id"]]["text"] == "Ortstermin am 3. März"  # unchanged
    assert by_id[old["id"]]["corrected_by"] == [{"id": fix["id"], "noted_on": fix["noted_on"]}]
    with rt.db.read() as session:
        assert session.execute(select(AuditEvent.details).where(AuditEvent.object_id == str(fix["id"]),
                                                                AuditEvent.action == "note.created")
                               ).scalar_one()["corrects"] == old["id"]


def test_note_denials(rt, client, town) -> None:  # type: ignore[no-untyped-def]
    anna = town.auth("anna")
    case = create_case(client, anna)
    other = create_case(client, town.auth("olga"), unit="32", plan="32.10", title="Gewerbe")
    foreign = _note(client, town, "olga", other["id"], text="Vermerk im Ordnungsamt")
    assert _note(client, town, "rita", case["id"], 403, text="Revision")["status"] == 403  # auditors read only
    assert _note(client, town, "bernd", case["id"], 403, text="kein Sachbearbeiter")["status"] == 403
    assert _note(client, town, "olga", case["id"], 404, text="andere Einheit")["status"] == 404
    problem = _note(client, town, "anna", case["id"], 422, text="x", corrects_id=foreign["id"])
    assert problem["field"] == "corrects_id"
    assert _note(client, town, "anna", case["id"], 422, text="   ")["field"] == "text"
    assert _note(client, town, "anna", case["id"], 422, text="x" * 10_001)["field"] == "text"
    tomorrow = (clock.office_today() + dt.timedelta(days=1)).isoformat()
    assert _note(client, town, "anna", case["id"], 422, text="x", noted_on=tomorrow)["field"] == "noted_on"
    assert _note(client, town, "anna", case["id"], 422, text="x", procedure_id=999)["field"] == "procedure_id"
    assert client.get(f"/api/v1/cases/{other['id']}/notes", headers=anna).status_code == 404
    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=anna).status_code == 200
    assert _note(client, town, "anna", case["id"], 409, text="zu spät")["status"] == 409
    with rt.db.read() as session:
        assert session.execute(select(Note.case_id)).scalars().all() == [other["id"]]


def _search(client, town, user, q):  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/search", headers=town.auth(user), query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_a_note_word_finds_the_case_only_for_who_may_see_it(rt, client, town) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"), title="Rechnung Büromaterial")
    note = _note(client, town, "anna", case["id"], text="Lieferant Quastenflosser hat angerufen <b>sofort</b>")
    found = _search(client, town, "anna", "Quastenflosser")
    assert found["total"] == 1 and found["facets"]["kind"] == {"note": 1}
    hit = found["items"][0]
    assert hit["case_id"] == case["id"] and hit["note_id"] == note["id"] and hit["document_id"] is None
    assert hit["kind"] == "note" and "<mark>" in hit["snippet"] and "<b>" not in hit["snippet"]
    assert _search(client, town, "rita", "Quastenflosser")["total"] == 1  # auditors see every unit
    nothing = _search(client, town, "olga", "Quastenflosser")
    assert nothing["total"] == 0 and nothing["items"] == [] and not any(nothing["facets"].values())
    # The case's fields find the note too (like its documents), and a case change reaches its notes' entries.
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"title": "Rechnung Gartenbedarf"},
                        headers=town.auth("anna")).status_code == 200
    assert _search(client, town, "anna", "Gartenbedarf Quastenflosser")["total"] == 1


def test_timeline_lists_documents_versions_notes_newest_first(rt, client, town) -> None:  # type: ignore[no-untyped-def]
    h = town.auth("anna")
    case = create_case(client, h)
    doc = upload(client, h, case["id"], pdf_bytes("Angebot"), title="Angebot").get_json()
    note = _note(client, town, "anna", case["id"], text="Angebot geprüft")
    resp = client.get(f"/api/v1/cases/{case['id']}/timeline", headers=h)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    kinds = [e["kind"] for e in body["items"]]
    assert kinds[:2] == ["note", "document"], kinds
    assert body["items"][0]["note_id"] == note["id"] and body["items"][1]["document_id"] == doc["id"]
    assert body["items"][1]["actor"] == "anna"
    page = client.get(f"/api/v1/cases/{case['id']}/timeline", headers=h, query_string={"limit": 1, "offset": 1})
    assert page.get_json()["items"][0]["kind"] == "document" and page.get_json()["total"] == body["total"]
    assert client.get(f"/api/v1/cases/{case['id']}/timeline", headers=town.auth("olga")).status_code == 404
