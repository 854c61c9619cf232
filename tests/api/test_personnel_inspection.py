"""The employee's own inspection of their personnel file (issue 12 point 5, HBG §89): emil, an account in no unit,
lists and opens his file read-only, downloads copies, sees the Beihilfe sub-file only when he asks for it, and
every inspection is in the file's access log — also after he has left service. Nobody else opens a file through
/me, not even its readers."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from sqlalchemy import select

from eakte import clock
from eakte.app import create_app
from eakte.models import AuditEvent
from eakte.runtime import Runtime
from eakte.services import identity
from tests.conftest import OPERATOR, make_runtime
from tests.personnel import (BEIHILFE_WORD, EMPLOYEE, GRUNDAKTE_WORD, PersonnelOffice, build_personnel_office,
                             create_personnel_file)
from tests.helpers import pdf_bytes

ME = "/api/v1/me/personnel-files"


@pytest.fixture
def office(tmp_path, db_url) -> Any:  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    client = create_app(rt).test_client()
    office = build_personnel_office(rt, client)
    office.extra.update(rt=rt, client=client)
    yield office
    rt.close()


def _get(office: PersonnelOffice, user: str, path: str, expect: int = 200, **query: Any) -> Any:
    resp = office.extra["client"].get(path, headers=office.auth(user), query_string=query)
    assert resp.status_code == expect, (user, path, resp.status_code, resp.get_data(as_text=True)[:300])
    return resp


def _document_ids(inspected: dict[str, Any]) -> dict[str | None, list[int]]:
    return {p["subfile"]: [d["id"] for d in p["documents"]] for p in inspected["parts"]}


def test_the_employee_lists_and_inspects_his_file_without_beihilfe_unless_he_asks(office: PersonnelOffice) -> None:
    case_id, f = office.file.case["id"], office.file
    listed = _get(office, EMPLOYEE, ME).get_json()["items"]
    assert [i["id"] for i in listed] == [case_id] and listed[0]["status"] == "open"

    seen = _get(office, EMPLOYEE, f"{ME}/{case_id}").get_json()
    parts = _document_ids(seen)
    assert seen["parts"][0]["subfile"] is None and seen["parts"][0]["label"] == "Grundakte"
    assert parts[None] == [f.grundakte_document]
    assert set(parts) == {None, "entgelt", "urlaub", "krankheit", "fortbildung", "beurteilungen"}
    assert f.beihilfe_document not in {d for ids in parts.values() for d in ids}
    assert seen["include_beihilfe"] is False
    assert seen["metadata"]["personnel_number"] == "P-1001" and seen["metadata"]["name"] == "Muster, Erika"
    assert seen["adverse_items"] == []

    with_beihilfe = _get(office, EMPLOYEE, f"{ME}/{case_id}", include_beihilfe="true").get_json()
    assert _document_ids(with_beihilfe)["beihilfe"] == [f.beihilfe_document]
    assert with_beihilfe["include_beihilfe"] is True


def test_the_employee_sees_where_an_adverse_item_stands(office: PersonnelOffice) -> None:
    case_id = office.file.case["id"]
    resp = office.extra["client"].post(
        f"/api/v1/cases/{case_id}/adverse-items", headers=office.auth("petra"), content_type="multipart/form-data",
        data={"file": (io.BytesIO(pdf_bytes("Abmahnung", "Vorfall")), "abmahnung.pdf", "application/pdf"),
              "title": "Abmahnung", "kind": "warning"})
    assert resp.status_code == 201, resp.get_json()
    item = resp.get_json()
    seen = _get(office, EMPLOYEE, f"{ME}/{case_id}").get_json()
    assert [(i["id"], i["status"], i["kind"]) for i in seen["adverse_items"]] == [(item["id"], "hearing", "warning")]
    assert seen["adverse_items"][0]["hearing_due_on"] == item["hearing_due_on"]
    assert seen["adverse_items"][0]["document_id"] in _document_ids(seen)[None]  # he reads what he is heard on


def test_copies_are_the_stored_bytes_and_beihilfe_copies_only_on_request(office: PersonnelOffice) -> None:
    case_id, f = office.file.case["id"], office.file
    original = _get(office, "petra", f"/api/v1/documents/{f.grundakte_document}/content").get_data()
    copy = _get(office, EMPLOYEE, f"{ME}/{case_id}/documents/{f.grundakte_document}/content")
    assert copy.get_data() == original and original.startswith(b"%PDF")
    assert copy.headers["Content-Length"] == str(len(original)) and "attachment" in copy.headers["Content-Disposition"]
    assert copy.mimetype == "application/pdf"

    _get(office, EMPLOYEE, f"{ME}/{case_id}/documents/{f.beihilfe_document}/content", 404)
    beihilfe = _get(office, "bea", f"/api/v1/documents/{f.beihilfe_document}/content").get_data()
    assert _get(office, EMPLOYEE, f"{ME}/{case_id}/documents/{f.beihilfe_document}/content",
                include_beihilfe="true").get_data() == beihilfe


def test_every_inspection_is_logged_and_in_the_access_log(office: PersonnelOffice) -> None:
    case_id, f, rt = office.file.case["id"], office.file, office.extra["rt"]
    _get(office, EMPLOYEE, f"{ME}/{case_id}")
    _get(office, EMPLOYEE, f"{ME}/{case_id}/documents/{f.grundakte_document}/content").get_data()
    with rt.db.read() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                          AuditEvent.actor == EMPLOYEE)
                                 .order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.details.get("as")) for e in events] == [("read.case", "subject"),
                                                                 ("read.document", "subject")]
    assert events[1].object_id == str(f.grundakte_document)
    # Nothing of the content in the log of the file's reads.
    assert all(GRUNDAKTE_WORD not in str(e.details) and BEIHILFE_WORD not in str(e.details) for e in events)

    log = _get(office, EMPLOYEE, f"/api/v1/cases/{case_id}/access-log").get_json()
    mine = [e for e in log["items"] if e.get("username", e.get("actor")) == EMPLOYEE]
    assert {e["action"] for e in mine} >= {"read.case", "read.document"}


def test_nobody_else_opens_the_file_through_me(office: PersonnelOffice) -> None:
    """Not its readers (petra, hanna read it through the case pages), not the Beihilfe clerk, not the line
    manager, not an auditor or admin: /me is the subject's alone."""
    case_id, f = office.file.case["id"], office.file
    for user in ("anna", "petra", "hanna", "paul", "bea", "lars", "rita", "admin"):
        assert _get(office, user, ME).get_json()["items"] == []
        _get(office, user, f"{ME}/{case_id}", 404)
        _get(office, user, f"{ME}/{case_id}", 404, include_beihilfe="true")
        for doc in (f.grundakte_document, f.beihilfe_document):
            _get(office, user, f"{ME}/{case_id}/documents/{doc}/content", 404, include_beihilfe="true")
    assert _get(office, "petra", f"/api/v1/cases/{case_id}").get_json()["id"] == case_id


def test_another_employee_gets_404_and_the_employee_only_his_own_documents(office: PersonnelOffice) -> None:
    rt, client, town = office.extra["rt"], office.extra["client"], office.town
    _employee_account(rt, office, "erik")
    other = create_personnel_file(client, town, number="P-1002", name="Beispiel, Erik", user="erik")
    case_id, f = office.file.case["id"], office.file
    assert [i["id"] for i in _get(office, "erik", ME).get_json()["items"]] == [other["id"]]
    _get(office, "erik", f"{ME}/{case_id}", 404)
    _get(office, "erik", f"{ME}/{case_id}/documents/{f.grundakte_document}/content", 404)
    # emil's own case id does not open another file's document, nor the normal case endpoints his file.
    _get(office, EMPLOYEE, f"{ME}/{other['id']}", 404)
    _get(office, EMPLOYEE, f"/api/v1/cases/{case_id}", 404)
    _get(office, EMPLOYEE, f"/api/v1/documents/{f.grundakte_document}/content", 404)
    _get(office, EMPLOYEE, f"{ME}/{case_id}/documents/999999/content", 404)


def test_after_leaving_service_the_closed_file_is_still_open_to_him(office: PersonnelOffice) -> None:
    case_id, f = office.file.case["id"], office.file
    left = clock.office_today() - dt.timedelta(days=1)
    resp = office.extra["client"].patch(f"/api/v1/cases/{case_id}", headers=office.auth("petra"),
                                        json={"metadata": {"leaving_date": left.isoformat()}})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "closed"  # leaving service closes the file (z.d.A.)
    listed = _get(office, EMPLOYEE, ME).get_json()["items"]
    assert listed[0]["status"] == "closed" and listed[0]["closed_at"] == left.isoformat()
    seen = _get(office, EMPLOYEE, f"{ME}/{case_id}").get_json()
    assert seen["status"] == "closed" and _document_ids(seen)[None] == [f.grundakte_document]
    assert _get(office, EMPLOYEE, f"{ME}/{case_id}/documents/{f.grundakte_document}/content").get_data()[:4] \
        == b"%PDF"


def _employee_account(rt: Runtime, office: PersonnelOffice, username: str) -> None:
    """Another employee with an account in no unit."""
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, username, password="correct horse battery", roles=[],
                                    known_roles=rt.registry.roles)
        office.town.user_ids[username] = user.id
        office.town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")
