"""Reviewer r1's adversarial probes of issue 11 (procedures, check-out, follow-ups, notes, confidentiality, kinds):
an insider trying to get round the rules, and odd input. Each test shows a denial."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

from eakte.services import identity
from tests.api.test_procedures import STAFF, env  # noqa: F401  (the fixture: town + staff_file type + petra)
from tests.conftest import OPERATOR
from tests.helpers import create_case, pdf_bytes, upload


def _user(rt, town, name: str, roles: list[tuple[str, str]]) -> None:  # type: ignore[no-untyped-def]
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, name, password="correct horse battery",
                                    roles=[identity.UnitRole(u, r) for u, r in roles], known_roles=rt.registry.roles)
        town.user_ids[name] = user.id
        town.tokens[name] = identity.issue_token(session, OPERATOR, user, "test")


def _proc(client, town, who: str, case_id: int, title: str = "Vorgang") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = client.post(f"/api/v1/cases/{case_id}/procedures", json={"title": title}, headers=town.auth(who))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _doc(client, town, who: str, case_id: int, title: str = "Bescheid", **form: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = upload(client, town.auth(who), case_id, pdf_bytes(title), title=title, **form)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _move(client, town, who: str, doc_id: int, procedure_id: int | None):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{doc_id}/move", json={"procedure_id": procedure_id},
                       headers=town.auth(who))


def test_moves_across_cases_closed_procedures_and_locks(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    a, b = create_case(client, town.auth("anna")), create_case(client, town.auth("anna"), title="Andere")
    pa, pb = _proc(client, town, "anna", a["id"]), _proc(client, town, "anna", b["id"])
    doc = _doc(client, town, "anna", a["id"])
    assert _move(client, town, "anna", doc["id"], pb["id"]).status_code == 404  # another case's procedure
    closed = client.patch(f"/api/v1/procedures/{pa['id']}", json={"status": "closed"}, headers=town.auth("anna"))
    assert closed.status_code == 200, closed.get_json()
    assert _move(client, town, "anna", doc["id"], pa["id"]).status_code == 409  # closed procedure
    assert _move(client, town, "olga", doc["id"], None).status_code == 404  # another unit's clerk
    assert _move(client, town, "rita", doc["id"], None).status_code == 403  # auditor
    # checked out by petra: anna may not move it
    assert client.post(f"/api/v1/documents/{doc['id']}/checkout", headers=town.auth("petra")).status_code == 200
    assert _move(client, town, "anna", doc["id"], None).status_code == 409


def test_procedure_of_another_unit_and_closed_case(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    proc = _proc(client, town, "anna", case["id"])
    h = town.auth("olga")
    assert client.patch(f"/api/v1/procedures/{proc['id']}", json={"title": "x"}, headers=h).status_code == 404
    resp = client.post(f"/api/v1/procedures/{proc['id']}/documents", headers=h, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf_bytes()), "a.pdf"), "title": "x"})
    assert resp.status_code == 404
    assert client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"},
                        headers=town.auth("anna")).status_code == 200
    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=town.auth("anna")).status_code == 200
    assert client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "open"},
                        headers=town.auth("anna")).status_code == 409


def test_checkout_denials_and_a_holder_who_lost_access(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    doc = _doc(client, town, "anna", case["id"])
    path = f"/api/v1/documents/{doc['id']}"
    assert client.post(f"{path}/checkout", headers=town.auth("petra")).status_code == 200
    version = client.post(f"{path}/versions", headers=town.auth("anna"), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(pdf_bytes("neu")), "n.pdf")})
    assert version.status_code == 409 and "petra" in version.get_json()["detail"]
    checkin = client.post(f"{path}/checkin", headers=town.auth("anna"), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(pdf_bytes("neu")), "n.pdf")})
    assert checkin.status_code == 409
    assert client.post(f"{path}/checkout/cancel", headers=town.auth("anna")).status_code == 409
    assert client.post(f"{path}/checkout/break", headers=town.auth("anna"), json={}).status_code == 403
    # petra loses her clerk role in 20: the lock does not block everyone forever, an admin breaks it
    assert client.delete("/api/v1/users/petra/roles/20/clerk", headers=town.auth("admin")).status_code in (200, 204)
    assert client.post(f"{path}/checkout/break", headers=town.auth("admin"), json={}).status_code == 200
    assert client.post(f"{path}/checkout", headers=town.auth("anna")).status_code == 200
    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=town.auth("anna")).status_code == 200
    other = _doc(client, town, "anna", create_case(client, town.auth("anna"))["id"])
    assert client.post(f"/api/v1/documents/{other['id']}/checkout", headers=town.auth("rita")).status_code == 403


def test_checkout_on_a_closed_case_is_refused(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    doc = _doc(client, town, "anna", case["id"])
    assert client.post(f"/api/v1/cases/{case['id']}/close", headers=town.auth("anna")).status_code == 200
    assert client.post(f"/api/v1/documents/{doc['id']}/checkout", headers=town.auth("anna")).status_code == 409


def test_followup_denials(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    body = {"due_on": tomorrow, "note": "Frist prüfen"}
    assert client.post(f"/api/v1/cases/{case['id']}/followups", json=body,
                       headers=town.auth("olga")).status_code == 404
    mine = client.post(f"/api/v1/cases/{case['id']}/followups", json=body, headers=town.auth("petra"))
    assert mine.status_code == 201, mine.get_json()
    fid = mine.get_json()["id"]
    assert client.post(f"/api/v1/followups/{fid}/done", headers=town.auth("anna")).status_code == 403
    assert client.post(f"/api/v1/followups/{fid}/done", headers=town.auth("olga")).status_code == 404
    past = client.post(f"/api/v1/followups/{fid}/postpone", json={"due_on": "2000-01-01"},
                       headers=town.auth("petra"))
    assert past.status_code == 422
    # a follow-up into a hidden sub-file's procedure of a staff file (anna does not see "allowance")
    staff = create_case(client, town.auth("anna"), case_type="staff_file", title="Personalakte")
    procs = client.get(f"/api/v1/cases/{staff['id']}/procedures", headers=town.auth("petra")).get_json()["items"]
    allowance = next(p for p in procs if p["subfile"] == "allowance")
    hidden = client.post(f"/api/v1/cases/{staff['id']}/followups", headers=town.auth("anna"),
                         json={**body, "procedure_id": allowance["id"]})
    assert hidden.status_code in (404, 422), hidden.get_json()


def test_notes_are_immutable_and_scoped(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    a, b = create_case(client, town.auth("anna")), create_case(client, town.auth("anna"), title="B")
    note = client.post(f"/api/v1/cases/{a['id']}/notes", json={"text": "<script>alert(1)</script> Vermerk"},
                       headers=town.auth("anna"))
    assert note.status_code == 201, note.get_json()
    nid = note.get_json()["id"]
    for method in (client.patch, client.delete, client.put):
        assert method(f"/api/v1/cases/{a['id']}/notes/{nid}", json={}, headers=town.auth("anna")).status_code \
            in (404, 405)
    wrong = client.post(f"/api/v1/cases/{b['id']}/notes", json={"text": "Korrektur", "corrects_id": nid},
                        headers=town.auth("anna"))
    assert wrong.status_code == 422
    assert client.post(f"/api/v1/cases/{a['id']}/notes", json={"text": "x"},
                       headers=town.auth("olga")).status_code == 404
    assert client.get(f"/api/v1/cases/{a['id']}/notes", headers=town.auth("olga")).status_code == 404


def test_confidentiality_denials(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    _user(rt, town, "hanna", [("20", "head_of_unit")])
    _user(rt, town, "otto", [("32", "head_of_unit")])
    case = create_case(client, town.auth("anna"))
    path = f"/api/v1/cases/{case['id']}"
    raised = client.patch(path, json={"confidentiality": "restricted"}, headers=town.auth("anna"))
    assert raised.status_code == 200, raised.get_json()
    assert client.patch(path, json={"confidentiality": "open"}, headers=town.auth("anna")).status_code == 403
    assert client.patch(path, json={"confidentiality": "open"}, headers=town.auth("otto")).status_code == 404
    assert client.patch(path, json={"confidentiality": "open"}, headers=town.auth("rita")).status_code == 403
    assert client.patch(path, json={"confidentiality": "nonsense"}, headers=town.auth("anna")).status_code == 422
    note = client.post(f"{path}/notes", json={"text": "Quastenflosser Vermerk"}, headers=town.auth("anna"))
    assert note.status_code == 201, note.get_json()
    # anna raises above her own role: the case is gone for her, in lists and search totals too
    assert client.patch(path, json={"confidentiality": "secret"}, headers=town.auth("anna")).status_code == 200
    assert client.get(path, headers=town.auth("anna")).status_code == 404
    listed = client.get("/api/v1/cases", headers=town.auth("anna")).get_json()
    assert case["id"] not in [c["id"] for c in listed["items"]]
    found = client.get("/api/v1/search", query_string={"q": case["reference"]}, headers=town.auth("anna"))
    assert found.get_json()["total"] == 0
    for who, total in (("anna", 0), ("olga", 0), ("hanna", 1), ("rita", 1)):
        hits = client.get("/api/v1/search", query_string={"q": "Quastenflosser"}, headers=town.auth(who))
        assert hits.get_json()["total"] == total, (who, hits.get_json())
        assert client.get(f"{path}/notes", headers=town.auth(who)).status_code == (200 if total else 404)
    assert client.get(path, headers=town.auth("hanna")).status_code == 200
    assert client.patch(path, json={"confidentiality": "open"}, headers=town.auth("hanna")).status_code == 200


def test_a_case_created_secret_by_a_clerk(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    resp = client.post("/api/v1/cases", headers=town.auth("anna"),
                       json={"file_plan_code": "20.30", "title": "Geheim", "unit": "20", "confidentiality": "secret"})
    assert resp.status_code in (201, 403, 422), resp.get_json()
    assert resp.status_code < 500


def test_timeline_and_audit_hide_documents_of_hidden_subfiles(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    staff = create_case(client, town.auth("anna"), case_type="staff_file", title="Personalakte")
    procs = client.get(f"/api/v1/cases/{staff['id']}/procedures", headers=town.auth("petra")).get_json()["items"]
    allowance = next(p for p in procs if p["subfile"] == "allowance")
    resp = client.post(f"/api/v1/procedures/{allowance['id']}/documents", headers=town.auth("petra"),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf_bytes("Zahnarzt")), "z.pdf"), "title": "Zahnarztrechnung Geheim"})
    assert resp.status_code == 201, resp.get_json()
    doc_id = resp.get_json()["id"]
    for path in (f"/api/v1/cases/{staff['id']}/timeline", f"/api/v1/cases/{staff['id']}/audit",
                 f"/api/v1/cases/{staff['id']}/documents", f"/api/v1/cases/{staff['id']}/procedures"):
        body = client.get(path, headers=town.auth("anna"))
        assert body.status_code == 200, (path, body.get_json())
        assert "Zahnarzt" not in body.get_data(as_text=True), path
    assert client.get(f"/api/v1/documents/{doc_id}", headers=town.auth("anna")).status_code == 404
    assert _move(client, town, "anna", doc_id, None).status_code == 404
    # moving it out (petra may) into the case level, then anna sees it
    assert _move(client, town, "petra", doc_id, None).status_code == 200


def test_kinds_at_upload(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    resp = upload(client, town.auth("anna"), case["id"], pdf_bytes(), title="x", kind="bogus")
    assert resp.status_code == 422, resp.get_json()
    resp = upload(client, town.auth("anna"), case["id"], pdf_bytes(), title="x", kind=" ")
    assert resp.status_code in (201, 422)


def test_followups_on_a_hidden_subfile_stay_hidden(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    staff = create_case(client, town.auth("anna"), case_type="staff_file", title="Personalakte")
    procs = client.get(f"/api/v1/cases/{staff['id']}/procedures", headers=town.auth("petra")).get_json()["items"]
    allowance = next(p for p in procs if p["subfile"] == "allowance")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    resp = client.post(f"/api/v1/cases/{staff['id']}/followups", headers=town.auth("petra"),
                       json={"due_on": tomorrow, "note": "Beihilfe Zahnersatz nachfassen",
                             "procedure_id": allowance["id"]})
    assert resp.status_code == 201, resp.get_json()
    for path in (f"/api/v1/cases/{staff['id']}/followups", f"/api/v1/cases/{staff['id']}/audit",
                 f"/api/v1/cases/{staff['id']}/timeline"):
        body = client.get(path, headers=town.auth("anna"))
        assert body.status_code == 200 and "Zahnersatz" not in body.get_data(as_text=True), path
    assert "Zahnersatz" in client.get(f"/api/v1/cases/{staff['id']}/followups",
                                      headers=town.auth("petra")).get_data(as_text=True)
    # nor in the auditor's export (its audit.json leaves out what the trail hides)
    import zipfile
    export = client.post("/api/v1/exports", json={"case_ids": [staff["id"]]}, headers=town.auth("rita"))
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.data)) as zf:
        assert not any(b"Zahnersatz" in zf.read(n) for n in zf.namelist())
    # a closed procedure takes no follow-up
    case = create_case(client, town.auth("anna"))
    proc = _proc(client, town, "anna", case["id"])
    assert client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"},
                        headers=town.auth("anna")).status_code == 200
    closed = client.post(f"/api/v1/cases/{case['id']}/followups", headers=town.auth("anna"),
                         json={"due_on": tomorrow, "note": "x", "procedure_id": proc["id"]})
    assert closed.status_code == 409, closed.get_json()


def test_a_subfile_min_role_without_unit_is_refused() -> None:
    """Otherwise the min_role would be silently ignored (hidden_subfiles only knows sub-files with a unit)."""
    from workflows.definition import CaseType, DefinitionError, SubFile
    bad = CaseType(key="bad", label_de="B", label_en="B", subfiles=(SubFile("x", "X", "X", min_role="approver"),))
    with pytest.raises(DefinitionError, match="min_role"):
        bad.validate()
    twice = CaseType(key="bad", label_de="B", label_en="B", subfiles=(SubFile("x", "X", "X"), SubFile("x", "Y", "Y")))
    with pytest.raises(DefinitionError, match="duplicate"):
        twice.validate()
    STAFF.validate()


def test_concurrent_procedure_numbers_are_gapless_and_unique(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import threading

    from eakte.services import procedures
    from eakte.services.access import Actor, load_principal
    from eakte.models import User
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    with rt.db.read() as session:
        principal = load_principal(session, session.get(User, town.user_ids["anna"]), rt.registry.restricted,
                                   rt.settings.confidentiality)
    actor, errors, start = Actor(principal), [], threading.Barrier(6)

    def create(i: int) -> None:
        start.wait()
        try:
            procedures.open_procedure(rt, actor, case["id"], f"V{i}")
        except Exception as exc:  # noqa: BLE001 - collected and shown below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    listed = client.get(f"/api/v1/cases/{case['id']}/procedures", headers=town.auth("anna")).get_json()["items"]
    assert sorted(p["number"] for p in listed) == [1, 2, 3, 4, 5, 6]


def test_a_unit_followup_on_a_hidden_subfile_stays_out_of_other_members_postkorb(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811,E501
    from eakte.clock import office_today
    rt, town, client = env
    staff = create_case(client, town.auth("anna"), case_type="staff_file", title="Personalakte")
    procs = client.get(f"/api/v1/cases/{staff['id']}/procedures", headers=town.auth("petra")).get_json()["items"]
    allowance = next(p for p in procs if p["subfile"] == "allowance")
    resp = client.post(f"/api/v1/cases/{staff['id']}/followups", headers=town.auth("petra"),
                       json={"due_on": office_today().isoformat(), "note": "Beihilfe Zahnersatz", "for_unit": True,
                             "procedure_id": allowance["id"]})
    assert resp.status_code == 201, resp.get_json()
    mine = client.get("/api/v1/inbox/followups", headers=town.auth("petra")).get_json()
    assert mine["total"] == 1
    other = client.get("/api/v1/inbox/followups", headers=town.auth("anna"))
    assert other.get_json()["total"] == 0 and "Zahnersatz" not in other.get_data(as_text=True)


def test_nothing_leaves_a_closed_procedure(env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    rt, town, client = env
    case = create_case(client, town.auth("anna"))
    proc = _proc(client, town, "anna", case["id"])
    doc = _doc(client, town, "anna", case["id"])
    assert _move(client, town, "anna", doc["id"], proc["id"]).status_code == 200
    assert client.patch(f"/api/v1/procedures/{proc['id']}", json={"status": "closed"},
                        headers=town.auth("anna")).status_code == 200
    resp = _move(client, town, "anna", doc["id"], None)
    assert resp.status_code == 409, resp.get_json()
    assert client.get(f"/api/v1/documents/{doc['id']}", headers=town.auth("anna")).get_json()["procedure_id"] == \
        proc["id"]
