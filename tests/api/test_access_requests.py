"""Recorded-reason access (issue 12 point 4): an auditor asks with a reason, the head of personnel grants for
`access_grant_hours`, the auditor reads the file (not its Beihilfe sub-file) until the grant expires; every step
audited on the case. The denials: who may not ask, who may not decide, what may not be asked for."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte.api.errors import PROBLEM_JSON
from eakte.app import create_app
from eakte.clock import set_clock
from eakte.models import AuditEvent
from eakte.runtime import Runtime
from tests.conftest import make_runtime
from tests.helpers import create_case
from tests.personnel import BEIHILFE_WORD, GRUNDAKTE_WORD, PersonnelOffice, build_personnel_office

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
HOURS = 8  # the default `access_grant_hours`


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


def _office(tmp_path: Path, db_url: str, **settings: Any) -> Iterator[tuple[Runtime, Any, PersonnelOffice]]:
    rt = make_runtime(tmp_path, db_url, case_types={"personnel": settings} if settings else None)
    client = create_app(rt).test_client()
    try:
        yield rt, client, build_personnel_office(rt, client)
    finally:
        rt.close()


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Iterator[tuple[Runtime, Any, PersonnelOffice]]:
    yield from _office(tmp_path, db_url)


def _ask(client: Any, office: PersonnelOffice, user: str, case_id: int | None = None, **body: Any) -> Any:
    case_id = case_id or office.file.case["id"]
    return client.post(f"/api/v1/cases/{case_id}/access-requests", headers=office.auth(user),
                       json={"reason": "Prüfung der Beihilfeabrechnung 2029, Prüfauftrag 14/7", **body})


def _post(client: Any, office: PersonnelOffice, user: str, request_id: int, what: str, **body: Any) -> Any:
    return client.post(f"/api/v1/access-requests/{request_id}/{what}", headers=office.auth(user),
                       json=body if body else None)


def _hits(client: Any, office: PersonnelOffice, user: str, word: str) -> int:
    resp = client.get("/api/v1/search", headers=office.auth(user), query_string={"q": word})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["total"]


def _reads(client: Any, office: PersonnelOffice, user: str) -> int:
    return client.get(f"/api/v1/cases/{office.file.case['id']}", headers=office.auth(user)).status_code


def _events(rt: Runtime, case_id: int) -> list[tuple[str, dict[str, Any]]]:
    with rt.db.read() as session:
        rows = session.execute(select(AuditEvent.action, AuditEvent.details).where(
            AuditEvent.case_id == case_id, AuditEvent.action.like("access.%")).order_by(AuditEvent.id)).all()
    return [(action, details) for action, details in rows]


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.get_json())
    assert resp.headers["Content-Type"] == PROBLEM_JSON
    body = resp.get_json()
    assert body["detail"] and body["detail_de"], body
    return body


def test_granted_for_hours_then_closed_again(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    case_id = office.file.case["id"]
    assert _reads(client, office, "rita") == 404 and _hits(client, office, "rita", GRUNDAKTE_WORD) == 0

    resp = _ask(client, office, "rita")
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert req["status"] == "pending" and req["user"] == "rita" and req["case_reference"] == \
        office.file.case["reference"]
    assert req["case_title"] is None  # she may not read it yet: the reference only, never the name
    assert req["expires_at"] is None and req["immediate"] is False and req["may_withdraw"] is True
    assert _reads(client, office, "rita") == 404  # asking opens nothing
    _problem(_ask(client, office, "rita"), 409)  # one pending request per file and person

    pending = client.get("/api/v1/access-requests", headers=office.auth("hanna"), query_string={"status": "pending"})
    assert pending.status_code == 200
    listed = pending.get_json()
    assert [r["id"] for r in listed["items"]] == [req["id"]] and listed["total"] == 1
    assert listed["items"][0]["may_decide"] is True and listed["items"][0]["case_title"] == office.file.case["title"]
    assert listed["items"][0]["reason"] == req["reason"]
    own = client.get("/api/v1/access-requests", headers=office.auth("rita")).get_json()
    assert [r["id"] for r in own["items"]] == [req["id"]] and own["items"][0]["may_decide"] is False
    assert client.get("/api/v1/access-requests", headers=office.auth("anna")).get_json()["total"] == 0

    granted = _post(client, office, "hanna", req["id"], "grant")
    assert granted.status_code == 200, granted.get_json()
    g = granted.get_json()
    assert g["status"] == "granted" and g["decided_by"] == "hanna" and g["active"] is True
    assert g["immediate"] is False
    assert dt.datetime.fromisoformat(g["expires_at"]).replace(tzinfo=None) == \
        NOW.replace(tzinfo=None) + dt.timedelta(hours=HOURS)

    assert _reads(client, office, "rita") == 200
    assert _hits(client, office, "rita", GRUNDAKTE_WORD) == 1
    assert _hits(client, office, "rita", BEIHILFE_WORD) == 0  # the Beihilfe sub-file stays the Beihilfe unit's
    mine = client.get(f"/api/v1/access-requests/{req['id']}", headers=office.auth("rita")).get_json()
    assert mine["active"] is True and mine["case_title"] == office.file.case["title"]
    _problem(_ask(client, office, "rita"), 409)  # she reads it already
    _problem(_post(client, office, "hanna", req["id"], "grant"), 409)  # decided once

    set_clock(lambda: NOW + dt.timedelta(hours=HOURS, seconds=1))
    assert _reads(client, office, "rita") == 404
    assert _hits(client, office, "rita", GRUNDAKTE_WORD) == 0
    expired = client.get(f"/api/v1/access-requests/{req['id']}", headers=office.auth("rita")).get_json()
    assert expired["status"] == "granted" and expired["active"] is False and expired["case_title"] is None
    assert _ask(client, office, "rita").status_code == 201  # she may ask again

    events = _events(rt, case_id)
    assert [a for a, _ in events] == ["access.request", "access.grant", "access.request"]
    request_details, grant_details = events[0][1], events[1][1]
    assert request_details["request_id"] == req["id"] and request_details["reason"] == req["reason"]
    assert grant_details["expires_at"] == "2030-03-04T17:00:00Z" and grant_details["immediate"] is False
    assert grant_details["requester"] == "rita"


def test_who_may_not_ask(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    for user in ("anna", "petra", "paul", "lars", "emil"):  # clerks, the file's own readers, the employee
        _problem(_ask(client, office, user), 403)
    _problem(_ask(client, office, "anna", case_id=999_999), 403)  # the same answer whether the case exists
    _problem(_ask(client, office, "rita", case_id=999_999), 404)
    no_reason = client.post(f"/api/v1/cases/{office.file.case['id']}/access-requests", headers=office.auth("rita"),
                            json={})
    assert _problem(no_reason, 422)["errors"][0]["field"] == "reason"
    assert _problem(_ask(client, office, "rita", reason="   "), 422)["field"] == "reason"
    assert _problem(_ask(client, office, "rita", reason="x" * 2001), 422)["field"] == "reason"
    general = create_case(client, office.auth("anna"))  # no restricted file: she reads it anyway
    assert _problem(_ask(client, office, "rita", case_id=general["id"]), 422)["field"] == "case_id"
    assert _events(rt, office.file.case["id"]) == []
    # An admin needs a reason too (admins_need_reason, the default).
    assert _reads(client, office, "admin") == 404
    assert _ask(client, office, "admin").status_code == 201


def test_who_may_not_decide(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    req = _ask(client, office, "rita").get_json()
    _problem(_post(client, office, "rita", req["id"], "grant"), 403)  # never one's own
    _problem(_post(client, office, "petra", req["id"], "grant"), 403)  # a reader of the file, not its head
    _problem(_post(client, office, "petra", req["id"], "refuse", comment="nein"), 403)
    for user in ("anna", "lars", "bea"):  # the head of another unit, the Beihilfe clerk: not even there
        _problem(_post(client, office, user, req["id"], "grant"), 404)
        _problem(client.get(f"/api/v1/access-requests/{req['id']}", headers=office.auth(user)), 404)
    _problem(_post(client, office, "hanna", req["id"], "withdraw"), 403)  # the requester's alone
    # The admin's own request: an admin is no head of personnel either.
    admin_req = _ask(client, office, "admin").get_json()
    _problem(_post(client, office, "admin", admin_req["id"], "grant"), 403)
    _problem(_post(client, office, "admin", req["id"], "grant"), 404)  # another's request: not even there
    assert _reads(client, office, "rita") == 404
    assert client.get(f"/api/v1/access-requests/{req['id']}", headers=office.auth("rita")).get_json()["status"] \
        == "pending"


def test_refused_opens_nothing(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    req = _ask(client, office, "rita").get_json()
    missing = client.post(f"/api/v1/access-requests/{req['id']}/refuse", headers=office.auth("hanna"), json={})
    assert _problem(missing, 422)["errors"][0]["field"] == "comment"
    assert _problem(_post(client, office, "hanna", req["id"], "refuse", comment=" "), 422)["field"] == "comment"
    refused = _post(client, office, "hanna", req["id"], "refuse", comment="Kein Prüfauftrag vorgelegt")
    assert refused.status_code == 200, refused.get_json()
    r = refused.get_json()
    assert r["status"] == "refused" and r["comment"] == "Kein Prüfauftrag vorgelegt" and r["expires_at"] is None
    assert _reads(client, office, "rita") == 404 and _hits(client, office, "rita", GRUNDAKTE_WORD) == 0
    _problem(_post(client, office, "hanna", req["id"], "grant"), 409)
    _problem(_post(client, office, "rita", req["id"], "withdraw"), 409)
    mine = client.get("/api/v1/access-requests", headers=office.auth("rita"),
                      query_string={"status": "refused"}).get_json()
    assert [x["id"] for x in mine["items"]] == [req["id"]] and mine["items"][0]["comment"]
    _problem(client.get("/api/v1/access-requests", headers=office.auth("rita"), query_string={"status": "x"}), 422)
    events = _events(rt, office.file.case["id"])
    assert [a for a, _ in events] == ["access.request", "access.refuse"]
    assert events[1][1]["comment"] == "Kein Prüfauftrag vorgelegt" and events[1][1]["request_id"] == req["id"]


def test_withdrawn_and_ended_early(env) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = env
    first = _ask(client, office, "rita").get_json()
    w = _post(client, office, "rita", first["id"], "withdraw")
    assert w.status_code == 200 and w.get_json()["status"] == "withdrawn"
    _problem(_post(client, office, "hanna", first["id"], "grant"), 409)  # nothing pending any more
    second = _ask(client, office, "rita").get_json()
    assert _post(client, office, "hanna", second["id"], "grant").status_code == 200
    assert _reads(client, office, "rita") == 200
    assert _post(client, office, "rita", second["id"], "withdraw").get_json()["active"] is False
    assert _reads(client, office, "rita") == 404  # ending the grant closes the file at once
    assert [a for a, _ in _events(rt, office.file.case["id"])] == [
        "access.request", "access.withdraw", "access.request", "access.grant", "access.withdraw"]


@pytest.fixture
def immediate(tmp_path: Path, db_url: str) -> Iterator[tuple[Runtime, Any, PersonnelOffice]]:
    yield from _office(tmp_path, db_url, grant_immediately=True)


def test_granted_at_once_and_flagged_where_configured(immediate) -> None:  # type: ignore[no-untyped-def]
    rt, client, office = immediate
    resp = _ask(client, office, "rita")
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert req["status"] == "granted" and req["immediate"] is True and req["decided_by"] is None
    assert req["active"] is True and req["expires_at"]
    assert _reads(client, office, "rita") == 200
    flagged = client.get("/api/v1/access-requests", headers=office.auth("hanna")).get_json()["items"]
    assert [(r["id"], r["immediate"], r["may_decide"]) for r in flagged] == [(req["id"], True, False)]
    events = _events(rt, office.file.case["id"])
    assert [a for a, _ in events] == ["access.request", "access.grant"] and events[1][1]["immediate"] is True
    _problem(_ask(client, office, "anna"), 403)  # asking stays the auditors' and admins'
