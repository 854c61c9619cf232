"""Meine Personalakte in the browser interface (issue 12 point 5): the employee, an account in no unit, signs in
and lands on his own file; the layout shows him nothing else; the page shows his file read-only, Beihilfe only
when he asks, copies to download, and who read the file. Nobody else opens it there."""
from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from eakte.app import create_app
from eakte.services import identity
from tests.conftest import OPERATOR, make_runtime
from tests.helpers import pdf_bytes
from tests.personnel import EMPLOYEE, PersonnelOffice, build_personnel_office
from tests.web.conftest import PASSWORD, log_in


@pytest.fixture
def office(tmp_path, db_url) -> Any:  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url)
    app = create_app(rt)
    office = build_personnel_office(rt, app.test_client())
    app.config["WTF_CSRF_ENABLED"] = True
    office.extra.update(rt=rt, app=app)
    yield office
    rt.close()


def _signed_in(office: PersonnelOffice, username: str) -> FlaskClient:
    client = office.extra["app"].test_client()
    assert log_in(client, username).status_code == 303
    return client


def _nav(html: str) -> str:
    return html.split('aria-label="Hauptnavigation"', 1)[1].split("</nav>", 1)[0]


def test_the_employee_lands_on_his_file_and_sees_nothing_else(office: PersonnelOffice) -> None:
    case_id = office.file.case["id"]
    warning = office.extra["app"].test_client().post(
        f"/api/v1/cases/{case_id}/adverse-items", headers=office.auth("petra"), content_type="multipart/form-data",
        data={"file": (io.BytesIO(pdf_bytes("Abmahnung", "Vorfall")), "abmahnung.pdf", "application/pdf"),
              "title": "Abmahnung Dienstbeginn", "kind": "warning"})
    assert warning.status_code == 201, warning.get_json()
    client = _signed_in(office, EMPLOYEE)
    page = client.get("/", follow_redirects=True)
    assert page.status_code == 200 and page.request.path == f"/me/personnel-files/{case_id}"
    html = page.get_data(as_text=True)
    nav = _nav(html)
    assert "Meine Personalakte" in nav
    for other in ("Übersicht", "Aktenplan", "Akten<", "Postkorb", "Vertretung", "Rechnungseingang"):
        assert other not in nav, other
    assert 'role="search"' not in html  # nothing to search in
    assert "Persönliche Angaben" in html and "Muster, Erika" in html and "P-1001" in html
    assert "Ernennungsurkunde" in html and "Beihilfeantrag" not in html
    assert "Beihilfe-Unterlagen einbeziehen" in html
    assert "Abmahnung Dienstbeginn" in html and "Ihre Anhörung läuft bis" in html  # he is to be heard
    assert "Wer hat meine Akte gelesen?" in html and "Eigene Akte (Einsicht)" in html  # his own opening

    with_beihilfe = client.get(f"/me/personnel-files/{case_id}?beihilfe=1").get_data(as_text=True)
    assert "Beihilfeantrag" in with_beihilfe


def test_the_employee_downloads_copies_and_the_reads_of_others_show(office: PersonnelOffice) -> None:
    case_id, f = office.file.case["id"], office.file
    petra = _signed_in(office, "petra")
    assert petra.get(f"/cases/{case_id}").status_code == 200  # the personnel clerk reads the file
    assert "Meine Personalakte" not in _nav(petra.get("/").get_data(as_text=True))

    client = _signed_in(office, EMPLOYEE)
    html = client.get(f"/me/personnel-files/{case_id}").get_data(as_text=True)
    assert "Petra" in html or "petra" in html  # her read in the access log
    copy = client.get(f"/me/personnel-files/{case_id}/documents/{f.grundakte_document}/copy")
    assert copy.status_code == 200 and copy.get_data().startswith(b"%PDF")
    assert "attachment" in copy.headers["Content-Disposition"]
    assert client.get(f"/me/personnel-files/{case_id}/documents/{f.beihilfe_document}/copy").status_code == 404
    assert client.get(f"/me/personnel-files/{case_id}/documents/{f.beihilfe_document}/copy?beihilfe=1") \
        .get_data().startswith(b"%PDF")


def test_others_get_404_on_the_employee_page(office: PersonnelOffice) -> None:
    case_id, f = office.file.case["id"], office.file
    for user in ("anna", "petra", "lars"):
        client = _signed_in(office, user)
        assert client.get(f"/me/personnel-files/{case_id}").status_code == 404
        assert client.get(f"/me/personnel-files/{case_id}/documents/{f.grundakte_document}/copy").status_code \
            == 404
        listing = client.get("/me/personnel-files")
        assert listing.status_code == 200 and "keine Personalakte" in listing.get_data(as_text=True)
        assert client.get("/").status_code == 200  # staff keep their overview as start page


def test_an_account_in_no_unit_without_a_file_still_signs_in(office: PersonnelOffice) -> None:
    rt = office.extra["rt"]
    with rt.db.write() as session:
        identity.create_user(session, OPERATOR, "neu", password=PASSWORD, roles=[], known_roles=rt.registry.roles)
    client = _signed_in(office, "neu")
    start = client.get("/")
    assert start.status_code == 200  # no file to land on: the (empty) overview
    assert "Meine Personalakte" not in _nav(start.get_data(as_text=True))
    assert "keine Personalakte" in client.get("/me/personnel-files").get_data(as_text=True)
