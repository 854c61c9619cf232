"""The access rule of personnel files (issue 12), shown by its denials: for a word found only in the file, nobody
outside the personnel office gets a hit, a total, a facet count, a list entry, a Postkorb entry or an answer
other than 404; the Beihilfe sub-file is the Beihilfe unit's alone; a recorded-reason access opens the Grundakte
for its time only. On SQLite and PostgreSQL, with the whoosh and the PostgreSQL search backends."""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from eakte.app import create_app
from eakte.clock import office_today, utcnow
from eakte.models import AccessRequest, Deputy
from eakte.services import identity
from tests.conftest import OPERATOR, make_runtime
from tests.personnel import BEIHILFE_WORD, GRUNDAKTE_WORD, PersonnelOffice, build_personnel_office
from tests.web.conftest import log_in

OUTSIDE_DEPUTY = "dora"  # clerk in 32, appointed (directly in the table) as petra's deputy
# Nobody of these sees anything of the file: clerk and approver of another unit, the personnel unit's approver
# without the reader role, the auditor and the admin without a recorded reason, the employee's line manager, and
# a deputy from outside.
OUTSIDERS = ("anna", "bernd", "paul", "rita", "admin", "lars", OUTSIDE_DEPUTY)


@pytest.fixture(params=["whoosh", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Any, db_url: str) -> Iterator[tuple[Any, Any, PersonnelOffice]]:
    if request.param == "postgres" and not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL search backend needs PostgreSQL")
    rt = make_runtime(tmp_path, db_url, search_backend=request.param)
    assert type(rt.search_index).__name__ == ("PostgresIndex" if request.param == "postgres" else "WhooshIndex")
    app = create_app(rt)
    client = app.test_client()
    office = build_personnel_office(rt, client)
    town = office.town
    with rt.db.write() as session:
        dora = identity.create_user(session, OPERATOR, OUTSIDE_DEPUTY, password="correct horse battery",
                                    roles=[identity.UnitRole("32", "clerk")])
        town.user_ids[OUTSIDE_DEPUTY] = dora.id
        town.tokens[OUTSIDE_DEPUTY] = identity.issue_token(session, OPERATOR, dora, "test")
        # Bypassing require_deputy_allowed (which refuses it): even such a row opens nothing.
        session.add(Deputy(user_id=town.user_ids["petra"], deputy_id=dora.id, by_admin=True,
                           starts_on=office_today() - dt.timedelta(days=1),
                           ends_on=office_today() + dt.timedelta(days=7)))
    case_id = office.file.case["id"]
    # A follow-up for the personnel unit, due today: in the Postkorb of the unit's members who read the file.
    resp = client.post(f"/api/v1/cases/{case_id}/followups", headers=town.auth("petra"),
                       json={"due_on": office_today().isoformat(), "note": "Probezeit endet", "for_unit": True})
    assert resp.status_code == 201, resp.get_json()
    office.extra["followup"] = resp.get_json()["id"]
    yield rt, app, office
    rt.close()


def _search(client: FlaskClient, office: PersonnelOffice, user: str, q: str) -> dict[str, Any]:
    resp = client.get("/api/v1/search", headers=office.auth(user), query_string={"q": q})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _csv_rows(client: FlaskClient, office: PersonnelOffice, user: str, q: str) -> list[str]:
    resp = client.get("/api/v1/search.csv", headers=office.auth(user), query_string={"q": q})
    assert resp.status_code == 200
    return [line for line in resp.get_data(as_text=True).splitlines()[1:] if line.strip()]


def _assert_nothing_found(client: FlaskClient, office: PersonnelOffice, user: str, word: str) -> None:
    page = _search(client, office, user, word)
    assert page["total"] == 0 and page["items"] == [], (user, word, page["items"])
    assert all(not counts for counts in page["facets"].values()), (user, word, page["facets"])
    assert _csv_rows(client, office, user, word) == [], (user, word)


def _found_documents(client: FlaskClient, office: PersonnelOffice, user: str, word: str) -> set[int]:
    page = _search(client, office, user, word)
    assert page["total"] == len(page["items"])
    return {hit["document_id"] for hit in page["items"]}


def _case_paths(case_id: int) -> list[str]:
    return [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/documents", f"/api/v1/cases/{case_id}/procedures",
            f"/api/v1/cases/{case_id}/audit", f"/api/v1/cases/{case_id}/workflow",
            f"/api/v1/cases/{case_id}/timeline", f"/api/v1/cases/{case_id}/notes",
            f"/api/v1/cases/{case_id}/followups"]


def _listed(client: FlaskClient, office: PersonnelOffice, user: str) -> set[int]:
    resp = client.get("/api/v1/cases", headers=office.auth(user), query_string={"limit": 100})
    assert resp.status_code == 200
    return {c["id"] for c in resp.get_json()["items"]}


def _postkorb(client: FlaskClient, office: PersonnelOffice, user: str) -> set[int]:
    resp = client.get("/api/v1/inbox/followups", headers=office.auth(user))
    assert resp.status_code == 200, resp.get_json()
    return {f["case_id"] for f in resp.get_json()["items"]}


def test_outsiders_get_nothing_of_the_file(env) -> None:  # type: ignore[no-untyped-def]
    rt, app, office = env
    client = app.test_client()
    file = office.file
    case_id = file.case["id"]
    for user in OUTSIDERS:
        for word in (GRUNDAKTE_WORD, BEIHILFE_WORD, "Muster"):  # the employee's name is in the case title
            _assert_nothing_found(client, office, user, word)
        assert case_id not in _listed(client, office, user), user
        for path in _case_paths(case_id) + [f"/api/v1/documents/{file.grundakte_document}",
                                           f"/api/v1/documents/{file.grundakte_document}/content",
                                           f"/api/v1/documents/{file.beihilfe_document}",
                                           f"/api/v1/documents/{file.beihilfe_document}/content",
                                           f"/api/v1/procedures/{file.subfiles['beihilfe']}",
                                           f"/api/v1/procedures/{file.subfiles['urlaub']}"]:
            resp = client.get(path, headers=office.auth(user))
            assert resp.status_code == 404, (user, path, resp.status_code)
        assert case_id not in _postkorb(client, office, user), user
        assert client.post("/api/v1/exports", json={"case_ids": [case_id]},
                           headers=office.auth(user)).status_code in (403, 404), user
    # The file is there: its own people find it, and paul gets the unit's other follow-ups' count right (zero).
    assert case_id in _listed(client, office, "petra") and case_id in _postkorb(client, office, "petra")


def test_outsiders_see_no_entry_in_the_web_case_list(env) -> None:  # type: ignore[no-untyped-def]
    rt, app, office = env
    app.config["WTF_CSRF_ENABLED"] = True
    case_id = office.file.case["id"]
    pattern = re.compile(rf'href="/cases/{case_id}"')
    for user in ("anna", "paul", "rita", "admin", "lars", OUTSIDE_DEPUTY, "petra"):
        web = app.test_client()
        assert log_in(web, user).status_code == 303, user
        listing = web.get("/cases").get_data(as_text=True)
        assert bool(pattern.search(listing)) == (user == "petra"), user
        assert web.get(f"/cases/{case_id}").status_code == (200 if user == "petra" else 404), user
    # The Beihilfe clerk's case page: the case and the Beihilfe document, nothing of the Grundakte.
    web = app.test_client()
    assert log_in(web, "bea").status_code == 303
    page = web.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Beihilfeantrag" in html and "Ernennungsurkunde" not in html
    assert web.get(f"/documents/{office.file.grundakte_document}").status_code == 404
    app.config["WTF_CSRF_ENABLED"] = False


def test_personnel_clerk_sees_the_file_but_not_beihilfe(env) -> None:  # type: ignore[no-untyped-def]
    rt, app, office = env
    client, file = app.test_client(), office.file
    for reader in ("petra", "hanna"):
        assert _found_documents(client, office, reader, GRUNDAKTE_WORD) == {file.grundakte_document}
        _assert_nothing_found(client, office, reader, BEIHILFE_WORD)
        assert client.get(f"/api/v1/documents/{file.grundakte_document}", headers=office.auth(reader)).status_code \
            == 200
        assert client.get(f"/api/v1/documents/{file.beihilfe_document}", headers=office.auth(reader)).status_code \
            == 404
        assert client.get(f"/api/v1/procedures/{file.subfiles['beihilfe']}",
                          headers=office.auth(reader)).status_code == 404
        docs = client.get(f"/api/v1/cases/{file.case['id']}/documents", headers=office.auth(reader)).get_json()
        assert {d["id"] for d in docs["items"]} == {file.grundakte_document}
        procs = client.get(f"/api/v1/cases/{file.case['id']}/procedures", headers=office.auth(reader)).get_json()
        assert "beihilfe" not in {p.get("subfile") for p in procs["items"]} and "urlaub" in \
            {p.get("subfile") for p in procs["items"]}
    # The reader may not file into Beihilfe either: it is not there for them.
    resp = _upload(client, office, "petra", file.subfiles["beihilfe"])
    assert resp.status_code == 404


def test_beihilfe_clerk_sees_only_the_beihilfe_subfile(env) -> None:  # type: ignore[no-untyped-def]
    rt, app, office = env
    client, file = app.test_client(), office.file
    case_id = file.case["id"]
    auth = office.auth("bea")
    assert _found_documents(client, office, "bea", BEIHILFE_WORD) == {file.beihilfe_document}
    _assert_nothing_found(client, office, "bea", GRUNDAKTE_WORD)
    # The name is in the title of both documents' case: bea finds only the Beihilfe document by it.
    assert _found_documents(client, office, "bea", "Muster") == {file.beihilfe_document}
    page = _search(client, office, "bea", "Muster")
    assert page["facets"]["kind"] == {"beihilfe": 1}
    # The case itself (title, reference, metadata) is there; of its content only the Beihilfe sub-file.
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/documents/{file.beihilfe_document}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/documents/{file.grundakte_document}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/documents/{file.grundakte_document}/content", headers=auth).status_code == 404
    docs = client.get(f"/api/v1/cases/{case_id}/documents", headers=auth).get_json()
    assert {d["id"] for d in docs["items"]} == {file.beihilfe_document}
    procs = client.get(f"/api/v1/cases/{case_id}/procedures", headers=auth).get_json()
    assert {p["subfile"] for p in procs["items"]} == {"beihilfe"}
    assert client.get(f"/api/v1/procedures/{file.subfiles['urlaub']}", headers=auth).status_code == 404
    # Nothing of the case level in the timeline, the notes, the follow-ups or the audit trail.
    note = client.post(f"/api/v1/cases/{case_id}/notes", headers=office.auth("petra"),
                       json={"text": f"Vermerk {GRUNDAKTE_WORD}"})
    assert note.status_code == 201, note.get_json()
    timeline = client.get(f"/api/v1/cases/{case_id}/timeline", headers=auth).get_json()["items"]
    assert {e["kind"] for e in timeline} == {"document", "procedure"}, timeline
    assert {e["document_id"] for e in timeline if e["kind"] == "document"} == {file.beihilfe_document}
    assert {e["procedure_id"] for e in timeline if e["kind"] == "procedure"} == {file.subfiles["beihilfe"]}
    notes = client.get(f"/api/v1/cases/{case_id}/notes", headers=auth).get_json()
    assert notes["items"] == []
    _assert_nothing_found(client, office, "bea", GRUNDAKTE_WORD)  # nor the note in search
    assert _search(client, office, "petra", GRUNDAKTE_WORD)["total"] == 2
    assert client.get(f"/api/v1/cases/{case_id}/followups", headers=auth).get_json()["items"] == []
    assert case_id not in _postkorb(client, office, "bea")
    trail = client.get(f"/api/v1/cases/{case_id}/audit", headers=auth).get_json()["items"]
    assert trail and {(e["object_type"], str(e["object_id"])) for e in trail} <= {
        ("document", str(file.beihilfe_document)), ("procedure", str(file.subfiles["beihilfe"]))}
    assert GRUNDAKTE_WORD not in str(trail) and "Ernennungsurkunde" not in str(trail)
    # She files into the Beihilfe sub-file, nowhere else, and changes none of the case's data.
    assert _upload(client, office, "bea", file.subfiles["beihilfe"]).status_code == 201
    assert _upload(client, office, "bea", file.subfiles["urlaub"]).status_code == 404
    assert _upload(client, office, "bea", None, case_id=case_id).status_code == 403
    changed = client.patch(f"/api/v1/cases/{case_id}", headers=auth, json={"title": "Anders"})
    assert changed.status_code == 403


def test_grant_opens_the_grundakte_for_its_time_only(env) -> None:  # type: ignore[no-untyped-def]
    rt, app, office = env
    client, file = app.test_client(), office.file
    case_id = file.case["id"]
    with rt.db.write() as session:
        grant = AccessRequest(case_id=case_id, user_id=office.town.user_ids["rita"], reason="Prüfung 2026",
                              status="granted", decided_by=office.town.user_ids["hanna"], decided_at=utcnow(),
                              expires_at=utcnow() + dt.timedelta(hours=8))
        session.add(grant)
        session.flush()
        grant_id = grant.id
    auth = office.auth("rita")
    assert _found_documents(client, office, "rita", GRUNDAKTE_WORD) == {file.grundakte_document}
    _assert_nothing_found(client, office, "rita", BEIHILFE_WORD)
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/documents/{file.grundakte_document}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/documents/{file.beihilfe_document}", headers=auth).status_code == 404
    assert case_id in _listed(client, office, "rita")
    # A grant is for reading: no upload, no change.
    assert _upload(client, office, "rita", None, case_id=case_id).status_code == 403
    # Another auditor's grant opens nothing for rita's colleague, the admin.
    _assert_nothing_found(client, office, "admin", GRUNDAKTE_WORD)
    with rt.db.write() as session:  # the grant runs out
        session.get(AccessRequest, grant_id).expires_at = utcnow() - dt.timedelta(seconds=1)
    _assert_nothing_found(client, office, "rita", GRUNDAKTE_WORD)
    assert client.get(f"/api/v1/cases/{case_id}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/documents/{file.grundakte_document}", headers=auth).status_code == 404
    assert case_id not in _listed(client, office, "rita")


def test_admin_grant_and_refused_request_rows(env) -> None:  # type: ignore[no-untyped-def]
    """Only a granted, unexpired row opens the file: a pending or refused one does not."""
    rt, app, office = env
    client, file = app.test_client(), office.file
    case_id = file.case["id"]
    with rt.db.write() as session:
        for status in ("pending", "refused", "withdrawn"):
            session.add(AccessRequest(case_id=case_id, user_id=office.town.user_ids["admin"], reason="x",
                                      status=status, expires_at=utcnow() + dt.timedelta(hours=8)))
    _assert_nothing_found(client, office, "admin", GRUNDAKTE_WORD)
    assert client.get(f"/api/v1/cases/{case_id}", headers=office.auth("admin")).status_code == 404
    with rt.db.write() as session:
        session.add(AccessRequest(case_id=case_id, user_id=office.town.user_ids["admin"], reason="Störung",
                                  status="granted", expires_at=utcnow() + dt.timedelta(hours=1)))
    assert _found_documents(client, office, "admin", GRUNDAKTE_WORD) == {file.grundakte_document}
    _assert_nothing_found(client, office, "admin", BEIHILFE_WORD)  # Beihilfe stays the Beihilfe unit's
    assert client.get(f"/api/v1/documents/{file.beihilfe_document}", headers=office.auth("admin")).status_code \
        == 404


def _upload(client: FlaskClient, office: PersonnelOffice, user: str, procedure_id: int | None, *,
            case_id: int | None = None) -> Any:
    import io

    from tests.helpers import pdf_bytes
    url = f"/api/v1/procedures/{procedure_id}/documents" if procedure_id else f"/api/v1/cases/{case_id}/documents"
    return client.post(url, headers=office.auth(user), content_type="multipart/form-data", data={
        "file": (io.BytesIO(pdf_bytes("Nachreichung", "Nachtrag")), "n.pdf", "application/pdf"),
        "title": "Nachreichung", "kind": "document"})
