"""Every read of a personnel file leaves a trace (issue 12 point 3): opening it (API and web page), a document's
page, preview and download, a search hit shown, an export; the file's access log lists them newest first with
who, what, how and why, for the personnel office and the employee, and for nobody else (404). Reads of an
ordinary case write nothing."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from eakte.app import create_app
from eakte.models import AuditEvent, User
from tests.conftest import make_runtime
from tests.helpers import create_case, pdf_bytes, upload
from tests.personnel import BEIHILFE_WORD, EMPLOYEE, GRUNDAKTE_WORD, PersonnelOffice, build_personnel_office
from tests.web.conftest import log_in


@pytest.fixture
def office(tmp_path, db_url) -> Any:  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    app = create_app(rt)
    client = app.test_client()
    office = build_personnel_office(rt, client)
    with rt.db.write() as session:  # the log names people by their display name
        session.execute(update(User).where(User.username == "petra").values(display_name="Petra Personal"))
    office.extra.update(rt=rt, app=app, client=client)
    yield office
    rt.close()


def _reads(office: PersonnelOffice) -> list[AuditEvent]:
    with office.extra["rt"].db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action.like("read.%"))
                                    .order_by(AuditEvent.id)).scalars())


def _log(office: PersonnelOffice, user: str, expect: int = 200, **paging: int) -> Any:
    client = office.extra["client"]
    resp = client.get(f"/api/v1/cases/{office.file.case['id']}/access-log", headers=office.auth(user),
                      query_string=paging)
    assert resp.status_code == expect, resp.get_json()
    return resp.get_json()


def _web(office: PersonnelOffice, user: str) -> Any:
    client = office.extra["app"].test_client()
    assert log_in(client, user).status_code == 303
    return client


def test_every_read_of_the_file_appears_in_its_access_log(office: PersonnelOffice) -> None:
    client, case_id, doc = office.extra["client"], office.file.case["id"], office.file.grundakte_document
    assert _reads(office) == []  # filing the documents is no read
    h = office.auth("petra")
    assert client.get(f"/api/v1/cases/{case_id}", headers=h).status_code == 200
    web = _web(office, "petra")
    assert web.get(f"/cases/{case_id}").status_code == 200
    assert len([e for e in _reads(office) if e.action == "read.case"]) == 2  # the page: once, not per panel
    assert web.get(f"/documents/{doc}/preview").status_code == 200
    assert client.get(f"/api/v1/documents/{doc}/content", headers=h).status_code == 200
    found = client.get("/api/v1/search", headers=h, query_string={"q": GRUNDAKTE_WORD}).get_json()
    assert [i["document_id"] for i in found["items"]] == [doc]

    log = _log(office, "petra")
    assert log["total"] == 5 and log["offset"] == 0
    items = log["items"]
    assert [i["action"] for i in items] == ["read.search_hit", "read.document", "read.document", "read.case",
                                            "read.case"]  # newest first
    assert all(i["username"] == "petra" and i["display_name"] == "Petra Personal" for i in items)
    assert all(i["as"] == "reader" and i["reason"] is None and not i["flagged"] for i in items)
    hit, download, preview, opened = items[0], items[1], items[2], items[3]
    assert (hit["object_type"], hit["object_id"], hit["document_ids"], hit["via"]) == \
        ("case", str(case_id), [doc], "page")
    assert (download["object_type"], download["object_id"], download["via"]) == ("document", str(doc), "download")
    assert (preview["object_id"], preview["via"]) == (str(doc), "preview")
    assert (opened["object_type"], opened["object_id"]) == ("case", str(case_id))
    assert items[0]["at"] >= items[-1]["at"]
    # Paged like every list: offset/limit over the same order.
    page = _log(office, "petra", offset=1, limit=2)
    assert page["total"] == 5 and [i["id"] for i in page["items"]] == [i["id"] for i in items[1:3]]

    # The web page shows the same log, linked from the case page.
    assert "Zugriffsprotokoll" in web.get(f"/cases/{case_id}").get_data(as_text=True)
    html = web.get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    assert "Sie selbst" in html and "Als Suchtreffer angezeigt" in html and "Vorschau" in html  # her own reads
    assert "Leseberechtigt" in html
    assert [e.action for e in _reads(office)].count("read.case") == 3  # reading the log is no read of the file


def test_a_beihilfe_read_is_traced_and_shown_to_the_employee_not_to_the_personnel_office(
        office: PersonnelOffice) -> None:
    client, doc = office.extra["client"], office.file.beihilfe_document
    h = office.auth("bea")
    assert client.get(f"/api/v1/documents/{doc}/content", headers=h).status_code == 200
    found = client.get("/api/v1/search", headers=h, query_string={"q": BEIHILFE_WORD}).get_json()
    assert [i["document_id"] for i in found["items"]] == [doc]
    traced = _reads(office)
    assert [(e.action, e.actor, e.details["as"]) for e in traced] == [
        ("read.document", "bea", "subfile"), ("read.search_hit", "bea", "subfile")]
    # The Beihilfe is kept apart from the personnel office: the Beihilfe clerk's reads (of its documents, and
    # her search hits, which tell that the sub-file holds something) stay out of their view.
    assert _log(office, "petra")["items"] == []
    # The employee sees every read of his file.
    mine = _log(office, EMPLOYEE)
    assert [(i["action"], i["username"]) for i in mine["items"]] == [("read.search_hit", "bea"),
                                                                     ("read.document", "bea")]
    assert mine["items"][0]["document_ids"] == [doc]


def test_reads_of_an_ordinary_case_write_no_read_event(office: PersonnelOffice) -> None:
    client, town = office.extra["client"], office.town
    h = town.auth("anna")
    case = create_case(client, h)
    doc = upload(client, h, case["id"], pdf_bytes("Rechnung", "Kopierpapier Kugelschreiber")).get_json()["id"]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=h).status_code == 200
    assert client.get(f"/api/v1/documents/{doc}/content", headers=h).status_code == 200
    assert client.get("/api/v1/search", headers=h, query_string={"q": "Kugelschreiber"}).get_json()["total"] == 1
    web = _web(office, "anna")
    assert web.get(f"/cases/{case['id']}").status_code == 200
    assert web.get(f"/documents/{doc}/preview").status_code == 200
    assert "Zugriffsprotokoll" not in web.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert _reads(office) == []
    # An ordinary case has no access log.
    resp = client.get(f"/api/v1/cases/{case['id']}/access-log", headers=h)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


@pytest.mark.parametrize("user", ["anna", "rita", "admin", "paul", "bea", "lars"])
def test_who_may_not_read_the_access_log_gets_404(office: PersonnelOffice, user: str) -> None:
    client, case_id = office.extra["client"], office.file.case["id"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=office.auth("petra")).status_code == 200
    resp = client.get(f"/api/v1/cases/{case_id}/access-log", headers=office.auth(user))
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert "petra" not in resp.get_data(as_text=True)
    web = _web(office, user)
    assert web.get(f"/cases/{case_id}/access-log").status_code == 404
    missing = client.get("/api/v1/cases/999999/access-log", headers=office.auth("petra"))
    assert missing.status_code == 404  # a missing case looks the same


def test_the_employee_reads_who_read_his_file(office: PersonnelOffice) -> None:
    client, case_id = office.extra["client"], office.file.case["id"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=office.auth("petra")).status_code == 200
    mine = _log(office, EMPLOYEE)
    assert mine["total"] == 1
    assert (mine["items"][0]["action"], mine["items"][0]["username"]) == ("read.case", "petra")
    html = _web(office, EMPLOYEE).get(f"/cases/{case_id}/access-log").get_data(as_text=True)
    assert "Zugriffsprotokoll" in html and "Petra Personal" in html
    assert f'href="/cases/{case_id}"' not in html  # he does not open the case itself


def test_a_read_through_a_grant_names_the_request_and_its_reason(office: PersonnelOffice) -> None:
    client, case_id = office.extra["client"], office.file.case["id"]
    asked = client.post(f"/api/v1/cases/{case_id}/access-requests", headers=office.auth("rita"),
                        json={"reason": "Prüfung der Beihilfeabrechnung 2026"})
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    assert client.get(f"/api/v1/cases/{case_id}", headers=office.auth("rita")).status_code == 404
    granted = client.post(f"/api/v1/access-requests/{request_id}/grant", headers=office.auth("hanna"))
    assert granted.status_code == 200, granted.get_json()
    assert client.get(f"/api/v1/cases/{case_id}", headers=office.auth("rita")).status_code == 200

    items = _log(office, "hanna")["items"]
    read, grant, request = items[0], items[1], items[2]
    assert (read["action"], read["username"], read["as"], read["access_request_id"], read["reason"]) == \
        ("read.case", "rita", "grant", request_id, "Prüfung der Beihilfeabrechnung 2026")
    assert (grant["action"], grant["username"], grant["object_type"], grant["object_id"]) == \
        ("access.grant", "hanna", "access_request", str(request_id))
    assert (request["action"], request["username"], request["reason"]) == \
        ("access.request", "rita", "Prüfung der Beihilfeabrechnung 2026")
    assert not any(i["flagged"] for i in items)  # decided by the head, not granted at once
    # Reading the file by a grant does not open who else read it and why: that is the personnel office's.
    denied = client.get(f"/api/v1/cases/{case_id}/access-log", headers=office.auth("rita"))
    assert denied.status_code == 403, denied.get_json()

    # The granted auditor exports the file, chosen by a search: the selection is no read, the package is.
    bag = client.post("/api/v1/exports", headers=office.auth("rita"), json={"q": GRUNDAKTE_WORD})
    assert bag.status_code == 200 and bag.mimetype == "application/zip"
    bag.get_data()
    exported = _log(office, "hanna")["items"][0]
    assert (exported["action"], exported["username"], exported["as"], exported["reason"]) == \
        ("read.export", "rita", "grant", "Prüfung der Beihilfeabrechnung 2026")
    assert [i["action"] for i in _log(office, "hanna")["items"]].count("read.search_hit") == 0


def test_the_csv_of_search_results_and_a_sub_file_page_are_reads(office: PersonnelOffice) -> None:
    client, case_id = office.extra["client"], office.file.case["id"]
    csv = client.get("/api/v1/search.csv", headers=office.auth("petra"), query_string={"q": GRUNDAKTE_WORD})
    assert csv.status_code == 200 and "Ernennungsurkunde" in csv.get_data(as_text=True)
    urlaub = office.file.subfiles["urlaub"]
    assert _web(office, "petra").get(f"/procedures/{urlaub}").status_code == 200
    items = _log(office, "petra")["items"]
    assert [(i["action"], i["object_type"], i["object_id"], i["via"]) for i in items] == [
        ("read.procedure", "procedure", str(urlaub), None),
        ("read.search_hit", "case", str(case_id), "csv")]  # one event for the CSV, not one per batch or check
    assert items[1]["document_ids"] == [office.file.grundakte_document]


def test_an_immediate_grant_and_the_reads_through_it_are_flagged(tmp_path, db_url) -> None:  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url, case_types={"personnel": {"grant_immediately": True}})
    try:
        client = create_app(rt).test_client()
        office = build_personnel_office(rt, client)
        case_id = office.file.case["id"]
        asked = client.post(f"/api/v1/cases/{case_id}/access-requests", headers=office.auth("rita"),
                            json={"reason": "Eilprüfung"})
        assert asked.status_code == 201, asked.get_json()
        assert client.get(f"/api/v1/cases/{case_id}", headers=office.auth("rita")).status_code == 200
        items = client.get(f"/api/v1/cases/{case_id}/access-log", headers=office.auth("petra")).get_json()["items"]
        read = items[0]
        assert (read["action"], read["as"], read["reason"], read["flagged"]) == ("read.case", "grant", "Eilprüfung",
                                                                                  True)
        assert all(i["flagged"] for i in items if i["action"].startswith("access."))
    finally:
        rt.close()
