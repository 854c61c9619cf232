"""Adversarial review of the personnel file's write paths (issue 12): an insider tries to get around the
recorded-reason access, the hearing of adverse items and the personnel file's own rules. Each test shows the
cheat refused. Holes found and closed here: a grant outlived its holder's auditor role; one employee account
could be the subject of several files (opening any file to it); a leaving date before the entry date closed the
file as of then; an admin could appoint an outside deputy for Beihilfe staff, or for personnel staff before the
first file existed."""
from __future__ import annotations

import datetime as dt
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator

import pytest

from eakte.app import create_app
from eakte.clock import set_clock
from eakte.runtime import Runtime
from tests.conftest import make_runtime
from tests.helpers import pdf_bytes
from tests.personnel import GRUNDAKTE_WORD, PersonnelOffice, build_personnel_office, create_personnel_file

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[tuple[Runtime, Any, PersonnelOffice]]:
    rt = make_runtime(tmp_path, db_url)
    client = create_app(rt).test_client()
    try:
        yield rt, client, build_personnel_office(rt, client)
    finally:
        rt.close()


def _case_id(office: PersonnelOffice) -> int:
    return int(office.file.case["id"])


def _granted(client: Any, office: PersonnelOffice, user: str = "rita") -> int:
    resp = client.post(f"/api/v1/cases/{_case_id(office)}/access-requests", headers=office.auth(user),
                       json={"reason": "Prüfauftrag 14/7"})
    assert resp.status_code == 201, resp.get_json()
    request_id = int(resp.get_json()["id"])
    resp = client.post(f"/api/v1/access-requests/{request_id}/grant", headers=office.auth("hanna"))
    assert resp.status_code == 200, resp.get_json()
    return request_id


def _reads(client: Any, office: PersonnelOffice, user: str) -> int:
    return int(client.get(f"/api/v1/cases/{_case_id(office)}", headers=office.auth(user)).status_code)


def _pdf(text: str, name: str = "x.pdf") -> tuple[io.BytesIO, str, str]:
    return io.BytesIO(pdf_bytes("Dokument", text)), name, "application/pdf"


# --- recorded-reason access ---------------------------------------------------------------------------------

def test_a_grant_ends_with_the_auditor_role(env) -> None:  # type: ignore[no-untyped-def]
    """A grant is an auditor's (or admin's) access: who no longer holds that role reads nothing by it."""
    rt, client, office = env
    _granted(client, office)
    assert _reads(client, office, "rita") == 200
    resp = client.delete("/api/v1/users/rita/roles/14/auditor", headers=office.auth("admin"))
    assert resp.status_code == 200, resp.get_json()
    assert _reads(client, office, "rita") == 404
    hits = client.get("/api/v1/search", headers=office.auth("rita"), query_string={"q": GRUNDAKTE_WORD})
    assert hits.status_code == 200 and hits.get_json()["total"] == 0


def test_a_grant_opens_for_reading_only(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    _granted(client, office)
    case_id = _case_id(office)
    auth = office.auth("rita")
    assert client.patch(f"/api/v1/cases/{case_id}", headers=auth,
                        json={"metadata": {"name": "Anders, Erika"}}).status_code == 403
    assert client.post(f"/api/v1/cases/{case_id}/notes", headers=auth, json={"text": "Notiz"}).status_code == 403
    assert client.post(f"/api/v1/cases/{case_id}/documents", headers=auth, content_type="multipart/form-data",
                       data={"file": _pdf("x"), "title": "X", "kind": "document"}).status_code == 403
    assert client.post(f"/api/v1/cases/{case_id}/adverse-items", headers=auth, content_type="multipart/form-data",
                       data={"file": _pdf("x"), "title": "X", "kind": "warning"}).status_code == 403
    assert client.post(f"/api/v1/documents/{office.file.grundakte_document}/checkout",
                       headers=auth).status_code == 403


def test_a_deputy_of_the_head_decides_nothing(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    resp = client.put("/api/v1/me/deputies", headers=office.auth("hanna"), json={"deputies": [
        {"user": "petra", "from": "2030-03-01", "to": "2030-03-31"}]})
    assert resp.status_code == 200, resp.get_json()
    resp = client.post(f"/api/v1/cases/{_case_id(office)}/access-requests", headers=office.auth("rita"),
                       json={"reason": "Prüfauftrag 14/7"})
    request_id = resp.get_json()["id"]
    assert client.post(f"/api/v1/access-requests/{request_id}/grant",
                       headers=office.auth("petra")).status_code == 403
    assert client.post(f"/api/v1/access-requests/{request_id}/grant",
                       headers=office.auth("lars")).status_code == 404  # head of another unit
    assert _reads(client, office, "rita") == 404


# --- the personnel file -------------------------------------------------------------------------------------

def test_one_file_per_employee_account(env) -> None:  # type: ignore[no-untyped-def]
    """The account of the employee opens their file to them: one account is the subject of one file only, so that
    a second file cannot be opened to an account by naming it there."""
    rt, client, office = env
    resp = client.post("/api/v1/cases", headers=office.auth("petra"), json={
        "file_plan_code": "11.10", "unit": "11", "case_type": "personnel", "metadata": {
            "personnel_number": "P-2002", "name": "Zweit, Erika", "birth_date": "1980-04-12",
            "status_group": "Beamte", "entry_date": "2010-08-01", "employee_user": "emil"}})
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["field"] == "metadata.employee_user"
    other = create_personnel_file(client, office.town, number="P-3003", name="Dritt, Olaf", user=None)
    resp = client.patch(f"/api/v1/cases/{other['id']}", headers=office.auth("petra"),
                        json={"metadata": {"employee_user": "emil"}})
    assert resp.status_code == 409, resp.get_json()
    mine = client.get("/api/v1/me/personnel-files", headers=office.auth("emil")).get_json()
    assert [f["id"] for f in mine["items"]] == [_case_id(office)]


def test_leaving_date_before_entry_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    """Backdating the leaving date closes the file as of then, and its retention runs from that day."""
    rt, client, office = env
    resp = client.patch(f"/api/v1/cases/{_case_id(office)}", headers=office.auth("petra"),
                        json={"metadata": {"leaving_date": "1999-01-01"}})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["field"] == "metadata.leaving_date"
    assert client.get(f"/api/v1/cases/{_case_id(office)}", headers=office.auth("petra")).get_json()["status"] == \
        "open"


def test_beihilfe_clerk_and_employee_change_nothing(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    case_id = _case_id(office)
    assert client.patch(f"/api/v1/cases/{case_id}", headers=office.auth("bea"),
                        json={"metadata": {"name": "Anders, Erika"}}).status_code == 403
    assert client.post(f"/api/v1/documents/{office.file.beihilfe_document}/move", headers=office.auth("bea"),
                       json={"procedure_id": None}).status_code == 403
    assert client.post(f"/api/v1/documents/{office.file.grundakte_document}/move", headers=office.auth("petra"),
                       json={"procedure_id": office.file.subfiles["beihilfe"]}).status_code == 404
    assert client.post(f"/api/v1/cases/{case_id}/notes", headers=office.auth("bea"),
                       json={"text": "Notiz"}).status_code == 403
    for url, body in ((f"/api/v1/cases/{case_id}/notes", {"text": "Notiz"}),
                      (f"/api/v1/cases/{case_id}/followups", {"due_on": "2030-04-01", "note": "x"}),
                      (f"/api/v1/cases/{case_id}/close", None),
                      (f"/api/v1/cases/{case_id}/access-requests", {"reason": "meine Akte"})):
        assert client.post(url, headers=office.auth("emil"), json=body).status_code in (403, 404), url
    assert client.patch(f"/api/v1/cases/{case_id}", headers=office.auth("emil"),
                        json={"metadata": {"name": "x"}}).status_code == 404


def test_an_expired_grant_opens_nothing_anywhere(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    _granted(client, office)
    case_id, doc = _case_id(office), office.file.grundakte_document
    urls = [f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/documents", f"/api/v1/documents/{doc}",
            f"/api/v1/documents/{doc}/content", f"/api/v1/cases/{case_id}/access-log", f"/api/v1/cases/{case_id}/audit",
            f"/api/v1/cases/{case_id}/procedures", f"/api/v1/cases/{case_id}/notes",
            f"/api/v1/cases/{case_id}/timeline", f"/api/v1/cases/{case_id}/followups",
            f"/api/v1/cases/{case_id}/adverse-items", f"/api/v1/procedures/{office.file.subfiles['urlaub']}"]
    auth = office.auth("rita")
    # While the grant lasts every read answers, except who else read the file (the personnel office's log): 403.
    log = f"/api/v1/cases/{case_id}/access-log"
    assert [(u, client.get(u, headers=auth).status_code) for u in urls] == \
        [(u, 403 if u == log else 200) for u in urls]
    set_clock(lambda: NOW + dt.timedelta(hours=8))  # expires_at itself: no longer now < expires_at
    assert [(u, client.get(u, headers=auth).status_code) for u in urls] == [(u, 404) for u in urls]
    assert client.get("/api/v1/search", headers=auth, query_string={"q": GRUNDAKTE_WORD}).get_json()["total"] == 0
    assert client.get("/api/v1/cases", headers=auth, query_string={"case_type": "personnel"}).get_json()["total"] == 0
    resp = client.post("/api/v1/exports", headers=auth, json={"case_ids": [case_id]})
    assert resp.status_code == 404, resp.status_code
    resp = client.post("/api/v1/exports", headers=auth, json={"q": GRUNDAKTE_WORD})
    assert resp.status_code != 200 or GRUNDAKTE_WORD.encode() not in resp.get_data()


def test_no_adverse_kind_by_any_other_route(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    case_id, auth = _case_id(office), office.auth("petra")
    item = client.post(f"/api/v1/cases/{case_id}/adverse-items", headers=auth, content_type="multipart/form-data",
                       data={"file": _pdf("Vorfall", "w.pdf"), "title": "Abmahnung", "kind": "warning"})
    assert item.status_code == 201, item.get_json()
    item_id, warning = item.get_json()["id"], item.get_json()["document_id"]
    for kind in ("warning", "complaint", "statement"):
        for url in (f"/api/v1/cases/{case_id}/documents",
                    f"/api/v1/procedures/{office.file.subfiles['beurteilungen']}/documents"):
            resp = client.post(url, headers=auth, content_type="multipart/form-data",
                               data={"file": _pdf("x"), "title": "X", "kind": kind})
            assert resp.status_code == 422 and resp.get_json()["field"] == "kind", (url, kind)
    # The warning itself: no new version, no check-out/check-in, no move; the statement only once.
    assert client.post(f"/api/v1/documents/{warning}/versions", headers=auth, content_type="multipart/form-data",
                       data={"file": _pdf("ersetzt")}).status_code == 409
    assert client.post(f"/api/v1/documents/{warning}/checkout", headers=auth).status_code == 409
    assert client.post(f"/api/v1/documents/{warning}/checkin", headers=auth, content_type="multipart/form-data",
                       data={"file": _pdf("ersetzt")}).status_code == 409
    assert client.post(f"/api/v1/documents/{warning}/move", headers=auth,
                       json={"procedure_id": office.file.subfiles["urlaub"]}).status_code == 409
    assert client.post(f"/api/v1/adverse-items/{item_id}/file", headers=auth).status_code == 409
    assert client.post(f"/api/v1/adverse-items/{item_id}/statement", headers=auth,
                       content_type="multipart/form-data", data={"declined": "true"}).status_code == 200
    assert client.post(f"/api/v1/adverse-items/{item_id}/statement", headers=auth,
                       content_type="multipart/form-data", data={"file": _pdf("spät")}).status_code == 409
    # Nobody but the personnel clerks: not the Beihilfe clerk, not a granted auditor, not the employee.
    _granted(client, office)
    for user, status in (("bea", 404), ("rita", 403), ("emil", 404), ("paul", 404)):
        assert client.post(f"/api/v1/adverse-items/{item_id}/remove", headers=office.auth(user),
                           json={"ground": "unfounded"}).status_code == status, user
    assert client.post(f"/api/v1/adverse-items/{item_id}/remove", headers=auth,
                       json={"ground": "application"}).status_code == 409  # not filed, not due


def test_nobody_stands_in_for_beihilfe_staff_from_outside(env) -> None:  # type: ignore[no-untyped-def]
    """The Beihilfe unit keeps the Beihilfe sub-files of the personnel files (no file of its own): its staff are
    personnel-file staff all the same."""
    rt, client, office = env
    resp = client.put("/api/v1/users/bea/deputies", headers=office.auth("admin"), json={"deputies": [
        {"user": "lars", "from": "2030-03-01", "to": "2030-03-31"}]})
    assert resp.status_code == 403, resp.get_json()
    assert resp.get_json()["field"] == "deputies"


def test_adverse_items_stay_in_their_own_file(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    other = create_personnel_file(client, office.town, number="P-3003", name="Dritt, Olaf", user=None)
    foreign = {p["subfile"]: p["id"] for p in client.get(f"/api/v1/cases/{other['id']}/procedures",
                                                          headers=office.auth("petra")).get_json()["items"]}
    resp = client.post(f"/api/v1/cases/{_case_id(office)}/adverse-items", headers=office.auth("petra"),
                       content_type="multipart/form-data", data={
                           "file": _pdf("Vorfall"), "title": "Abmahnung", "kind": "warning",
                           "procedure_id": str(foreign["beurteilungen"])})
    assert resp.status_code == 404 and resp.get_json()["field"] == "procedure_id", resp.get_json()
    for kind in ("statement", "document"):
        resp = client.post(f"/api/v1/cases/{_case_id(office)}/adverse-items", headers=office.auth("petra"),
                           content_type="multipart/form-data",
                           data={"file": _pdf("Vorfall"), "title": "Abmahnung", "kind": kind})
        assert resp.status_code == 422 and resp.get_json()["field"] == "kind", kind
    # The Beihilfe sub-file: neither the personnel clerk (she does not see it) nor the Beihilfe clerk (she
    # does not read the file) files an item there.
    for user in ("petra", "bea"):
        resp = client.post(f"/api/v1/cases/{_case_id(office)}/adverse-items", headers=office.auth(user),
                           content_type="multipart/form-data", data={
                               "file": _pdf("Vorfall"), "title": "Abmahnung", "kind": "warning",
                               "procedure_id": str(office.file.subfiles["beihilfe"])})
        assert resp.status_code == 404, (user, resp.get_json())
    assert client.patch(f"/api/v1/procedures/{office.file.subfiles['beihilfe']}", headers=office.auth("petra"),
                        json={"status": "closed"}).status_code == 404
    assert client.post(f"/api/v1/cases/{_case_id(office)}/procedures", headers=office.auth("bea"),
                       json={"title": "Nebenakte"}).status_code == 403


def test_two_requests_at_once_make_one(env) -> None:  # type: ignore[no-untyped-def]
    """The case row's lock: two requests of one auditor racing for one file leave one pending request."""
    rt, client, office = env
    url, auth = f"/api/v1/cases/{_case_id(office)}/access-requests", office.auth("rita")
    barrier = threading.Barrier(2)

    def ask() -> int:
        barrier.wait()
        return int(client.post(url, headers=auth, json={"reason": "Prüfauftrag 14/7"}).status_code)

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: ask(), range(2)))
    assert statuses == [201, 409]
    listed = client.get("/api/v1/access-requests", headers=auth, query_string={"status": "pending"}).get_json()
    assert listed["total"] == 1
