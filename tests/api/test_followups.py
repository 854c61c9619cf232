"""The follow-up endpoints (issue 11 point 2): set, list, done, postpone, and the due ones beside the inbox;
refusals as problem+json."""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterator

import pytest

from eakte.api.errors import PROBLEM_JSON
from eakte.clock import set_clock
from tests.conftest import Town
from tests.helpers import create_case

NOW = dt.datetime(2030, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
TODAY = "2030-03-04"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


def _set(client: Any, town: Town, user: str, case_id: int, **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{case_id}/followups", headers=town.auth(user),
                       json={"due_on": TODAY, "note": "Frist prüfen", **body})


def _due(client: Any, town: Town, user: str) -> dict[str, Any]:
    resp = client.get("/api/v1/inbox/followups", headers=town.auth(user))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_set_list_postpone_done(client, town: Town) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    resp = _set(client, town, "anna", case["id"], due_on="2030-03-06")
    assert resp.status_code == 201, resp.get_json()
    fu = resp.get_json()
    assert fu["case_reference"] == case["reference"] and fu["user"] == "anna" and fu["for_unit"] is False
    assert fu["due_on"] == "2030-03-06" and fu["status"] == "open" and fu["may_act"] is True
    assert _due(client, town, "anna")["items"] == []
    set_clock(lambda: NOW + dt.timedelta(days=3))
    due = _due(client, town, "anna")
    assert [f["id"] for f in due["items"]] == [fu["id"]] and due["total"] == 1 and due["overdue"] == 1
    assert due["items"][0]["overdue"] is True
    # The inbox of workflow tasks keeps its shape.
    assert set(client.get("/api/v1/inbox", headers=town.auth("anna")).get_json()) == \
        {"items", "total", "counts", "offset", "limit"}

    later = client.post(f"/api/v1/followups/{fu['id']}/postpone", headers=town.auth("anna"),
                        json={"due_on": "2030-03-10"})
    assert later.status_code == 200 and later.get_json()["due_on"] == "2030-03-10"
    assert _due(client, town, "anna")["total"] == 0
    listed = client.get(f"/api/v1/cases/{case['id']}/followups", headers=town.auth("rita"))  # auditors read
    assert listed.status_code == 200 and [f["id"] for f in listed.get_json()["items"]] == [fu["id"]]
    done = client.post(f"/api/v1/followups/{fu['id']}/done", headers=town.auth("anna"))
    assert done.status_code == 200 and done.get_json()["status"] == "done" and done.get_json()["done_by"] == "anna"
    again = client.post(f"/api/v1/followups/{fu['id']}/done", headers=town.auth("anna"))
    assert again.status_code == 409 and again.mimetype == PROBLEM_JSON


def test_unit_followup_for_colleagues(client, town: Town) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    fu = _set(client, town, "anna", case["id"], for_unit=True).get_json()
    assert fu["for_unit"] is True and fu["user"] is None and fu["unit"] == "20"
    assert [f["id"] for f in _due(client, town, "bernd")["items"]] == [fu["id"]]  # the unit's approver
    assert _due(client, town, "olga")["items"] == []
    assert client.post(f"/api/v1/followups/{fu['id']}/done", headers=town.auth("olga")).status_code == 404
    assert client.post(f"/api/v1/followups/{fu['id']}/done", headers=town.auth("bernd")).status_code == 200


def test_refusals_are_problems(client, town: Town) -> None:  # type: ignore[no-untyped-def]
    case = create_case(client, town.auth("anna"))
    for user, status in (("rita", 403), ("bernd", 403), ("olga", 404)):
        resp = _set(client, town, user, case["id"])
        assert resp.status_code == status and resp.mimetype == PROBLEM_JSON, (user, resp.get_json())
    past = _set(client, town, "anna", case["id"], due_on="2030-03-03")
    assert past.status_code == 422 and past.get_json()["field"] == "due_on" and past.get_json()["detail_de"]
    assert _set(client, town, "anna", case["id"], note="").status_code == 422
    assert _set(client, town, "anna", case["id"], due_on="morgen").status_code == 422
    assert _set(client, town, "anna", case["id"], colour="red").status_code == 422  # unknown member
    unit = _set(client, town, "admin", case["id"], for_unit=True)
    assert unit.status_code == 403 and unit.get_json()["field"] == "for_unit"
    mine = _set(client, town, "anna", case["id"]).get_json()
    other = client.post(f"/api/v1/followups/{mine['id']}/postpone", headers=town.auth("bernd"),
                        json={"due_on": "2030-03-05"})
    assert other.status_code == 403 and other.mimetype == PROBLEM_JSON
    assert client.post("/api/v1/followups/999999/done", headers=town.auth("anna")).status_code == 404
    assert client.get("/api/v1/inbox/followups").status_code == 401
    assert client.get(f"/api/v1/cases/{case['id']}/followups", headers=town.auth("olga")).status_code == 404


def test_documented_in_openapi(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/cases/{case_id}/followups"])
    for path in ("/api/v1/followups/{followup_id}/done", "/api/v1/followups/{followup_id}/postpone"):
        assert {"401", "403", "404", "409"} <= set(paths[path]["post"]["responses"])
    assert "200" in paths["/api/v1/inbox/followups"]["get"]["responses"]
