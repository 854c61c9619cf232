"""The timeline of a case in order and in full (documents, versions, notes, decisions, follow-ups, procedures), and
what sub-file rules hide from it, from the notes and from the search (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt
import io
import itertools
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte import clock
from eakte.app import create_app
from eakte.models import Procedure, Task
from eakte.services import identity, indexing, notes, timeline
from eakte.services.access import Actor, load_principal
from tests.conftest import OPERATOR, build_town, make_runtime
from tests.helpers import create_case, pdf_bytes, upload
from workflows.definition import CaseType, Decision, Step, SubFile
from workflows.registry import load_registry

PERMIT = CaseType(key="permit", label_de="Genehmigung", label_en="Permit", start="check",
                  steps=(Step("check", "Antrag prüfen", "Check application", "clerk",
                              decisions=(Decision("ok", "In Ordnung", "OK", None),)),))
STAFF = CaseType(key="staff_file", label_de="Mitarbeiterakte", label_en="Staff file", open_schema=True,
                 subfiles=(SubFile("basic", "Grundakte", "Basic file"),
                           SubFile("allowance", "Beihilfe", "Allowance", unit="32")))


@pytest.fixture
def env(tmp_path, db_url, monkeypatch) -> Iterator[tuple[Any, Any, Any]]:  # type: ignore[no-untyped-def]
    # Every reading of the clock is a second later: the order of the entries is the order things were done.
    start = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
    ticks = itertools.count()
    monkeypatch.setattr(clock, "_now", clock._now)  # restored after the test
    clock.set_clock(lambda: start + dt.timedelta(seconds=next(ticks)))
    rt = make_runtime(tmp_path, db_url)
    rt.__dict__["registry"] = load_registry(extra={"permit": PERMIT, "staff_file": STAFF})
    town = build_town(rt)
    with rt.db.write() as session:  # petra: clerk in 20 (the case's unit) and in 32 (the allowance unit)
        petra = identity.create_user(session, OPERATOR, "petra", password="correct horse battery",
                                     roles=[identity.UnitRole("20", "clerk"), identity.UnitRole("32", "clerk")])
        town.tokens["petra"] = identity.issue_token(session, OPERATOR, petra, "test")
    yield rt, town, create_app(rt).test_client()
    rt.close()


def _actor(rt, username: str) -> Actor:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return Actor(load_principal(session, identity.user_by_name(session, username), rt.registry.restricted))


def _ok(resp, status: int = 200) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_timeline_has_every_kind_newest_first_and_pages(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    h = town.auth("anna")
    case = create_case(client, h, title="Gaststättenerlaubnis", case_type="permit")
    doc = _ok(upload(client, h, case["id"], pdf_bytes("Antrag"), title="Antrag"), 201)
    _ok(client.post(f"/api/v1/documents/{doc['id']}/versions", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(pdf_bytes("Antrag 2")), "antrag2.pdf", "application/pdf")}), 201)
    note = _ok(client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "Antrag vollständig"}, headers=h), 201)
    with rt.db.read() as session:
        task_id = session.execute(select(Task.id).where(Task.case_id == case["id"])).scalar_one()
    _ok(client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "ok", "comment": "passt"}, headers=h))
    fu = _ok(client.post(f"/api/v1/cases/{case['id']}/followups", headers=h,
                         json={"due_on": clock.office_today().isoformat(), "note": "Gebühr prüfen"}), 201)
    _ok(client.post(f"/api/v1/followups/{fu['id']}/done", headers=h))
    proc = _ok(client.post(f"/api/v1/cases/{case['id']}/procedures", json={"title": "Auflagen"}, headers=h), 201)
    _ok(client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"}, headers=h))

    found = timeline.case_timeline(rt, _actor(rt, "rita"), case["id"])  # an auditor reads it all
    kinds = [e.kind for e in found.entries]
    assert kinds == ["procedure_closed", "procedure", "followup_done", "followup", "decision", "decision", "note",
                     "version", "document", "decision"], kinds  # the workflow's start is the first decision
    assert [e.at for e in found.entries] == sorted((e.at for e in found.entries), reverse=True)
    by_kind = {e.kind: e for e in reversed(found.entries)}
    assert by_kind["note"].note_id == note["id"] and by_kind["note"].summary == "Antrag vollständig"
    assert by_kind["version"].document_id == doc["id"] and by_kind["version"].version == 2
    assert by_kind["document"].title == "Antrag" and by_kind["document"].actor == "anna"
    assert found.entries[4].action == "completed"
    decided = found.entries[5]
    assert (decided.action, decided.decision, decided.step, decided.summary) == ("decided", "ok", "check", "passt")
    assert by_kind["followup"].due_on == clock.office_today() and by_kind["followup_done"].followup_id == fu["id"]
    assert by_kind["procedure"].procedure_id == proc["id"] and proc["reference"] in by_kind["procedure"].title
    assert found.total == 10
    page = timeline.case_timeline(rt, _actor(rt, "anna"), case["id"], offset=3, limit=2)
    assert [e.kind for e in page.entries] == kinds[3:5] and page.total == 10
    api = _ok(client.get(f"/api/v1/cases/{case['id']}/timeline", headers=h, query_string={"limit": 3}))
    assert [i["kind"] for i in api["items"]] == kinds[:3] and api["total"] == 10


def test_a_hidden_sub_file_stays_hidden_in_notes_timeline_and_search(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    case = create_case(client, town.auth("anna"), title="Mitarbeiterakte Beispiel", case_type="staff_file")
    with rt.db.read() as session:
        subfiles = {p.subfile: p.id for p in session.execute(
            select(Procedure).where(Procedure.case_id == case["id"])).scalars()}
    petra = _actor(rt, "petra")
    hidden = notes.add_note(rt, petra, case["id"], notes.NewNote("Beihilfe Zahnersatz bewilligt",
                                                                 procedure_id=subfiles["allowance"])).note
    shown = notes.add_note(rt, petra, case["id"], notes.NewNote("Grundakte angelegt Zahnersatz",
                                                                procedure_id=subfiles["basic"])).note
    _ok(client.post(f"/api/v1/procedures/{subfiles['allowance']}/documents", headers=town.auth("petra"),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(pdf_bytes("Beihilfeantrag")), "b.pdf", "application/pdf"),
                          "title": "Beihilfeantrag"}), 201)
    anna = _actor(rt, "anna")  # a clerk of the case's unit, but not of the allowance sub-file's unit

    items, total = notes.case_notes(rt, anna, case["id"])
    assert [e.note.id for e in items] == [shown.id] and total == 1
    assert {e.note.id for e in notes.case_notes(rt, petra, case["id"])[0]} == {hidden.id, shown.id}
    seen = timeline.case_timeline(rt, anna, case["id"])
    assert [e.note_id for e in seen.entries if e.kind == "note"] == [shown.id]
    assert not any(e.title == "Beihilfeantrag" for e in seen.entries)
    assert {e.procedure_id for e in seen.entries if e.kind == "procedure"} == {subfiles["basic"]}
    full = timeline.case_timeline(rt, petra, case["id"])
    assert seen.total == full.total - 3  # the hidden note, document and sub-file

    # anna can neither name the hidden note in a correction nor write into the sub-file (it is "not there")
    for new in (notes.NewNote("x", corrects_id=hidden.id), notes.NewNote("x", procedure_id=subfiles["allowance"])):
        with pytest.raises(Exception) as refused:
            notes.add_note(rt, anna, case["id"], new)
        assert getattr(refused.value, "status", None) == 422

    def hits(user: str) -> list[dict[str, Any]]:
        return _ok(client.get("/api/v1/search", headers=town.auth(user), query_string={"q": "Zahnersatz"}))["items"]
    assert {h["note_id"] for h in hits("petra")} == {hidden.id, shown.id}
    assert [h["note_id"] for h in hits("anna")] == [shown.id]
    assert hits("olga") == []


def test_reindex_and_check_cover_notes(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    note = _ok(client.post(f"/api/v1/cases/{case['id']}/notes", json={"text": "Quastenflosser"},
                           headers=town.auth("anna")), 201)
    assert indexing.check(rt).ok
    rt.search_index.clear()
    assert indexing.check(rt).missing == [indexing.note_key(note["id"])]
    assert indexing.reindex(rt) == 1
    report = indexing.check(rt)
    assert report.ok and report.in_database == 1
    assert _ok(client.get("/api/v1/search", headers=town.auth("anna"),
                          query_string={"q": "Quastenflosser"}))["items"][0]["note_id"] == note["id"]


def test_a_note_in_a_procedure_is_found_by_the_procedure_also_after_a_rename(env) -> None:  # type: ignore[no-untyped-def]
    rt, town, client = env
    h = town.auth("anna")
    case = create_case(client, h)
    proc = _ok(client.post(f"/api/v1/cases/{case['id']}/procedures", json={"title": "Mahnung"}, headers=h), 201)
    note = _ok(client.post(f"/api/v1/cases/{case['id']}/notes", headers=h,
                           json={"text": "Telefonat", "procedure_id": proc["id"]}), 201)
    assert note["procedure_id"] == proc["id"]

    def note_hits(q: str) -> list[int | None]:
        return [i["note_id"] for i in _ok(client.get("/api/v1/search", headers=h, query_string={"q": q}))["items"]]
    assert note_hits(f'procedure:"{proc["reference"]}"') == [note["id"]]
    _ok(client.patch(f"/api/v1/procedures/{proc['id']}", json={"title": "Vollstreckung"}, headers=h))
    assert note_hits("Vollstreckung Telefonat") == [note["id"]]
    _ok(client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"}, headers=h))
    closed = client.post(f"/api/v1/cases/{case['id']}/notes", headers=h,
                         json={"text": "zu spät", "procedure_id": proc["id"]})
    assert closed.status_code == 409, closed.get_json()
