"""Review of issue 12: places where a personnel file leaked to someone who may not read it, each shown by its
denial. The admin's system status (failed text extractions) and file plan counts, and the access log, where
the Beihilfe clerk's reads told the personnel office of the Beihilfe sub-file. On SQLite and PostgreSQL, with
the whoosh and the PostgreSQL search backends."""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from eakte.app import create_app
from eakte.models import DocumentVersion
from tests.conftest import make_runtime
from tests.helpers import create_case, pdf_bytes, upload
from tests.personnel import BEIHILFE_WORD, PersonnelOffice, build_personnel_office, create_personnel_file
from tests.web.conftest import log_in


@pytest.fixture(params=["whoosh", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Any, db_url: str) -> Iterator[tuple[Any, Any, PersonnelOffice]]:
    if request.param == "postgres" and not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL search backend needs PostgreSQL")
    rt = make_runtime(tmp_path, db_url, search_backend=request.param)
    app = create_app(rt)
    office = build_personnel_office(rt, app.test_client())
    yield rt, app, office
    rt.close()


def _signed_in(app: Any, username: str) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, username).status_code == 303
    return client


def _fail_extraction(rt: Any, document_id: int, error: str) -> None:
    with rt.db.write() as session:
        version = session.execute(select(DocumentVersion).where(
            DocumentVersion.document_id == document_id)).scalar_one()
        version.text_status, version.text_error = "failed", error


def test_status_page_names_no_failed_document_of_a_personnel_file(env) -> None:  # type: ignore[no-untyped-def]
    """The admin's status page listed every failed extraction with title, file name and error: also the
    personnel file's, which the admin may not read without a recorded reason."""
    rt, app, office = env
    file, client = office.file, app.test_client()
    # A failure in a case the admin may see is named as before.
    town_case = create_case(client, office.auth("anna"), title="Rechnung Büromaterial")
    resp = upload(client, office.auth("anna"), town_case["id"], pdf_bytes("Rechnung", "Toner"),
                  filename="toner.pdf", title="Tonerrechnung", content_type="application/pdf")
    assert resp.status_code == 201, resp.get_json()
    _fail_extraction(rt, resp.get_json()["id"], "Zeitüberschreitung")
    _fail_extraction(rt, file.grundakte_document, "Zeitüberschreitung bei Ernennungsurkunde")
    _fail_extraction(rt, file.beihilfe_document, "Zeitüberschreitung bei Beihilfeantrag")
    page = _signed_in(app, "admin").get("/admin/status").get_data(as_text=True)
    for secret in ("Ernennungsurkunde", "Beihilfeantrag", "dokument.pdf", f"/documents/{file.grundakte_document}",
                   f"/documents/{file.beihilfe_document}"):
        assert secret not in page, secret
    assert "Tonerrechnung" in page and "toner.pdf" in page
    # The hidden failures still count and can be retried: system administration, not reading.
    assert page.count("Dokument einer vertraulichen Akte") == 2
    assert len(re.findall(r'/admin/status/extractions/(\d+)/retry', page)) == 3


def test_admin_file_plan_counts_no_personnel_file(env) -> None:  # type: ignore[no-untyped-def]
    """The admin's file plan counted the personnel files under their position, a count the admin may not see."""
    _rt, app, office = env
    create_personnel_file(app.test_client(), office.town, number="P-1002", name="Zweite, Zora", user=None)
    page = _signed_in(app, "admin").get("/admin/file-plan").get_data(as_text=True)
    counts = dict(re.findall(r'data-cases="([\d.]+)">(\d+)<', page))
    assert counts["11.10"] == "0", counts
    assert counts["20.30"] == "0"  # the town's own positions are counted as before (none filed yet)


def test_access_log_hides_the_beihilfe_clerks_reads_from_the_personnel_office(env) -> None:  # type: ignore[no-untyped-def]
    """The personnel clerk, who may not see the Beihilfe sub-file, saw in the access log that the Beihilfe clerk
    opened the file and got search hits in it; the employee (the file's subject) still sees every read."""
    _rt, app, office = env
    client, case_id = app.test_client(), office.file.case["id"]
    bea = office.auth("bea")
    assert client.get(f"/api/v1/cases/{case_id}", headers=bea).status_code == 200
    hits = client.get("/api/v1/search", headers=bea, query_string={"q": BEIHILFE_WORD}).get_json()
    assert hits["total"] == 1
    assert client.get(f"/api/v1/documents/{office.file.beihilfe_document}/content", headers=bea).status_code == 200

    def readers(user: str) -> list[tuple[str, str]]:
        resp = client.get(f"/api/v1/cases/{case_id}/access-log", headers=office.auth(user))
        assert resp.status_code == 200, resp.get_json()
        page = resp.get_json()
        assert page["total"] == len(page["items"])
        return [(e["username"], e["action"]) for e in page["items"]]

    for reader in ("petra", "hanna"):
        assert not [r for r in readers(reader) if r[0] == "bea"], readers(reader)
        page = _signed_in(app, reader).get(f"/cases/{case_id}/access-log").get_data(as_text=True)
        assert "(bea)" not in page and "Beihilfe" not in page
    assert {"read.case", "read.search_hit", "read.document"} <= {a for u, a in readers("emil") if u == "bea"}
