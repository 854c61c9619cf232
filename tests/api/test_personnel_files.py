"""Creating and keeping personnel files (issue 12 points 1 and 7): created with POST /api/v1/cases as the issue
names it, one file per personnel number (409, also on a change), the employee's account resolved (422 when
unknown), kept by the personnel unit only, the title made from the fields, leaving service closes the file as
of the leaving date, and each sub-file's retention runs from then. The denials: who may not create one."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte.api.errors import PROBLEM_JSON
from eakte.app import create_app
from eakte.clock import set_clock
from eakte.jobs import jobs_of
from eakte.models import AuditEvent, Case, CaseKey
from eakte.runtime import Runtime
from tests.conftest import make_runtime
from tests.personnel import EMPLOYEE, PERSONNEL_UNIT, PersonnelOffice, build_personnel_office, personnel_metadata

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)  # office day 2030-03-04


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


def _create(client: Any, office: PersonnelOffice, by: str = "petra", *, title: str | None = None,
            unit: str = PERSONNEL_UNIT, **metadata: Any) -> Any:
    body: dict[str, Any] = {"file_plan_code": "11.10", "unit": unit, "case_type": "personnel",
                            "metadata": personnel_metadata(**metadata)}
    if title is not None:
        body["title"] = title
    return client.post("/api/v1/cases", headers=office.auth(by), json=body)


def _patch(client: Any, office: PersonnelOffice, case_id: int, by: str = "petra", **metadata: Any) -> Any:
    return client.patch(f"/api/v1/cases/{case_id}", headers=office.auth(by), json={"metadata": metadata})


def _case(rt: Runtime, case_id: int) -> Case:
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def _problem(resp: Any, status: int, field: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_json()
    assert resp.mimetype == PROBLEM_JSON
    problem = resp.get_json()
    assert problem["field"] == field, problem
    return problem


def test_created_as_the_issue_names_it(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    # olga: the set-up's file is emil's already, and one account is the subject of one file only
    resp = _create(client, office, number="P-2002", name="Mann, Max", user="olga", status_group="Tarifbeschäftigte",
                   title="Personalakte Mann, Max")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["case_type"] == "personnel" and body["unit"] == PERSONNEL_UNIT and body["status"] == "open"
    assert body["title"] == "Personalakte Mann, Max"
    assert body["metadata"]["personnel_number"] == "P-2002"
    assert body["metadata"]["status_group"] == "Tarifbeschäftigte" and body["metadata"]["birth_date"] == "1980-04-12"
    case = _case(rt, body["id"])
    assert case.subject_user_id == office.town.user_ids["olga"]  # the employee may inspect it (helper F)
    with rt.db.read() as session:
        keys = session.execute(select(CaseKey.name, CaseKey.value).where(CaseKey.case_id == body["id"])).all()
    assert {tuple(k) for k in keys} == {("personnel_number", "P-2002"), ("employee_user", "olga")}
    # Its declared sub-files, all six to the Beihilfe clerk's colleagues in the personnel office but Beihilfe.
    procs = client.get(f"/api/v1/cases/{body['id']}/procedures", headers=office.auth("petra")).get_json()["items"]
    assert {p["subfile"] for p in procs} == {"entgelt", "urlaub", "krankheit", "fortbildung", "beurteilungen"}


def test_title_is_made_from_name_and_number_when_none_is_given(env) -> None:  # type: ignore[no-untyped-def]
    _rt, client, office = env
    resp = _create(client, office, number="P-3003", name="Beispiel, Berta", user=None)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["title"] == "Personalakte Beispiel, Berta (P-3003)"
    # A name changed on marriage: the made title follows; a title typed by hand stays.
    resp = _patch(client, office, resp.get_json()["id"], name="Neu, Berta")
    assert resp.get_json()["title"] == "Personalakte Neu, Berta (P-3003)"
    typed = _create(client, office, number="P-3005", name="Hand, Hugo", user=None, title="Akte Hand").get_json()
    assert _patch(client, office, typed["id"], name="Hand-Neu, Hugo").get_json()["title"] == "Akte Hand"
    # Without a title, the fields it is made of are needed: the problem names the first one missing.
    meta = personnel_metadata(number="P-3004")
    del meta["name"]
    resp = client.post("/api/v1/cases", headers=office.auth("petra"), json={
        "file_plan_code": "11.10", "unit": PERSONNEL_UNIT, "case_type": "personnel", "metadata": meta})
    problem = _problem(resp, 422, "metadata.name")
    assert "Betreff" in problem["detail_de"]


def test_a_personnel_number_identifies_one_file(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    problem = _problem(_create(client, office, number="P-1001", name="Andere, Anna", user=None), 409,
                       "metadata.personnel_number")
    assert problem["detail_de"] == ("metadata.personnel_number: »P-1001« ist bereits für eine andere Personalakte "
                                    "vergeben")
    second = _create(client, office, number="P-4004", name="Zweite, Zora", user=None)
    assert second.status_code == 201
    # Taking another file's number by a change is refused too, and the file keeps its own.
    _problem(_patch(client, office, second.get_json()["id"], personnel_number="P-1001"), 409,
             "metadata.personnel_number")
    assert _case(rt, second.get_json()["id"]).metadata_["personnel_number"] == "P-4004"
    # A changed number frees the old one.
    assert _patch(client, office, office.file.case["id"], personnel_number="P-1001a").status_code == 200
    assert _create(client, office, number="P-1001", name="Nachfolge, Nina", user=None).status_code == 201
    with rt.db.read() as session:
        values = sorted(session.execute(select(CaseKey.value).where(CaseKey.name == "personnel_number")).scalars())
    assert values == ["P-1001", "P-1001a", "P-4004"]


def test_the_employee_account_must_exist(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    problem = _problem(_create(client, office, number="P-5005", user="niemand"), 422, "metadata.employee_user")
    assert "niemand" in problem["detail_de"] and "Benutzerkonto" in problem["detail_de"]
    file_id = office.file.case["id"]
    _problem(_patch(client, office, file_id, employee_user="niemand"), 422, "metadata.employee_user")
    assert _case(rt, file_id).subject_user_id == office.town.user_ids[EMPLOYEE]
    # Changing the account moves the subject; removing it leaves the file without one.
    assert _patch(client, office, file_id, employee_user="lars").status_code == 200
    assert _case(rt, file_id).subject_user_id == office.town.user_ids["lars"]
    assert _patch(client, office, file_id, employee_user=None).status_code == 200
    assert _case(rt, file_id).subject_user_id is None


def test_only_the_personnel_office_creates_files(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    # Anna is a clerk in 20: a personnel file is not kept there (422 at unit), nor may she create one in 11.
    problem = _problem(_create(client, office, "anna", unit="20", number="P-6006"), 422, "unit")
    assert "Personalamt" in problem["detail_de"] or "11" in problem["detail_de"]
    assert _create(client, office, "anna", number="P-6006").status_code == 403
    assert _create(client, office, "rita", number="P-6006").status_code == 403  # the auditor changes nothing
    assert _create(client, office, "bea", number="P-6006").status_code == 403  # Beihilfe keeps no files
    _problem(_create(client, office, "admin", unit="20", number="P-6006"), 422, "unit")
    with rt.db.read() as session:
        assert session.execute(select(CaseKey.id).where(CaseKey.value == "P-6006")).first() is None


def test_leaving_service_closes_the_file_as_of_the_leaving_date(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    file_id = office.file.case["id"]
    resp = _patch(client, office, file_id, leaving_date="2030-02-28")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "closed" and body["closed_at"] == "2030-02-28"
    with rt.db.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.case_id == file_id,
                                                         AuditEvent.action == "case.close")).scalar_one()
    assert event.details == {"closed_at": "2030-02-28", "by_field": "leaving_date"}
    # Closed (z.d.A.): no further change.
    assert _patch(client, office, file_id, name="Später, Sabine").status_code == 409
    # A file created for someone who has left already is closed at once.
    gone = _create(client, office, number="P-7007", name="Früher, Fritz", user=None, leaving_date="2029-12-31")
    assert gone.status_code == 201 and gone.get_json()["closed_at"] == "2029-12-31"


def test_a_future_leaving_date_closes_the_file_when_it_comes(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    file_id = office.file.case["id"]
    resp = _patch(client, office, file_id, leaving_date="2030-03-31")
    assert resp.get_json()["status"] == "open"
    assert jobs_of(rt)._periodic()["closed"] == 0
    set_clock(lambda: NOW + dt.timedelta(days=27))  # 2030-03-31, in the office's calendar
    assert jobs_of(rt)._periodic()["closed"] == 1
    case = _case(rt, file_id)
    assert case.status == "closed" and case.closed_at == dt.date(2030, 3, 31)
    assert jobs_of(rt)._periodic()["closed"] == 0  # once


def test_retention_per_sub_file(env) -> None:  # type: ignore[no-untyped-def]
    _rt, client, office = env
    file_id = office.file.case["id"]
    retention = client.get(f"/api/v1/cases/{file_id}", headers=office.auth("petra")).get_json()["retention"]
    assert retention["file"] == {"subfile": None, "procedure_id": None, "label_de": "Akte", "label_en": "File",
                                 "years": 5, "source": "file_plan", "kept_until": None}
    periods = {s["subfile"]: (s["years"], s["source"], s["kept_until"]) for s in retention["subfiles"]}
    # The personnel clerk does not see the Beihilfe sub-file, nor its period.
    assert periods == {"entgelt": (6, "subfile", None), "urlaub": (3, "subfile", None),
                       "krankheit": (5, "subfile", None), "fortbildung": (5, "file_plan", None),
                       "beurteilungen": (5, "file_plan", None)}
    closed = _patch(client, office, file_id, leaving_date="2028-02-29").get_json()
    kept = {s["subfile"]: s["kept_until"] for s in closed["retention"]["subfiles"]}
    assert closed["retention"]["file"]["kept_until"] == "2033-02-28"
    assert kept == {"entgelt": "2034-02-28", "urlaub": "2031-02-28", "krankheit": "2033-02-28",
                    "fortbildung": "2033-02-28", "beurteilungen": "2033-02-28"}
    # Those who do not see the file get no period of it either.
    assert client.get(f"/api/v1/cases/{file_id}", headers=office.auth("anna")).status_code == 404
