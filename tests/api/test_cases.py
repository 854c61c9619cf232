"""Cases over the API: references, filters, pagination, changes, closing, and the problem details of bad input."""
from __future__ import annotations

import datetime as dt

from tests.helpers import create_case


def test_create_and_read_case(client, town) -> None:
    h = town.auth("anna")
    case = create_case(client, h, metadata={"lieferant": "Schreibwaren Hessen GmbH"})
    year = dt.date.today().year
    assert case["reference"] == f"20.30/0001/{year}"
    assert case["unit"] == "20" and case["unit_name"] == "Kämmerei"
    assert case["status"] == "open" and case["case_type"] == "general"
    second = create_case(client, h, title="Zweite")
    assert second["reference"] == f"20.30/0002/{year}"
    other_node = create_case(client, town.auth("olga"), unit="32", plan="32.10")
    assert other_node["reference"] == f"32.10/0001/{year}"
    got = client.get(f"/api/v1/cases/{case['id']}", headers=h).get_json()
    assert got["metadata"] == {"lieferant": "Schreibwaren Hessen GmbH"}


def test_list_filter_and_paginate(client, town) -> None:
    h = town.auth("anna")
    for i in range(7):
        create_case(client, h, title=f"Rechnung {i}")
    page = client.get("/api/v1/cases?limit=3&offset=2", headers=h).get_json()
    assert page["total"] == 7 and len(page["items"]) == 3
    assert [c["title"] for c in page["items"]] == ["Rechnung 4", "Rechnung 3", "Rechnung 2"]
    assert client.get("/api/v1/cases?q=nung 5", headers=h).get_json()["total"] == 1
    assert client.get("/api/v1/cases?status=closed", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/cases?unit=20&file_plan_code=20.30", headers=h).get_json()["total"] == 7
    bad = client.get("/api/v1/cases?limit=0", headers=h)
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "limit"


def test_patch_and_close(client, town) -> None:
    h = town.auth("anna")
    case = create_case(client, h, metadata={"a": 1, "b": 2})
    resp = client.patch(f"/api/v1/cases/{case['id']}", json={"title": "Neu", "metadata": {"b": None, "c": 3}},
                        headers=h)
    assert resp.status_code == 200
    assert resp.get_json()["title"] == "Neu" and resp.get_json()["metadata"] == {"a": 1, "c": 3}
    closed = client.post(f"/api/v1/cases/{case['id']}/close", headers=h).get_json()
    assert closed["status"] == "closed" and closed["closed_at"]
    again = client.post(f"/api/v1/cases/{case['id']}/close", headers=h)
    assert again.status_code == 409
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"title": "x"}, headers=h).status_code == 409
    trail = client.get(f"/api/v1/cases/{case['id']}/audit", headers=h).get_json()["items"]
    assert [e["action"] for e in trail] == ["case.create", "case.update", "case.close"]
    assert trail[1]["details"]["title"] == {"old": "Rechnung Büromaterial", "new": "Neu"}


def test_bad_input_gives_problem_details(client, town) -> None:
    h = town.auth("anna")
    cases = [
        ({"title": "x", "unit": "20"}, 422, "file_plan_code"),
        ({"file_plan_code": "99.99", "title": "x", "unit": "20"}, 422, "file_plan_code"),
        ({"file_plan_code": "20.30", "title": "x", "unit": "nope"}, 422, "unit"),
        ({"file_plan_code": "20.30", "title": "", "unit": "20"}, 422, "title"),
        ({"file_plan_code": "20.30", "title": "x", "unit": "20", "metadata": [1]}, 422, "metadata"),
        ({"file_plan_code": "20.30", "title": "x", "unit": "20", "colour": "red"}, 422, "colour"),
    ]
    for body, status, field in cases:
        resp = client.post("/api/v1/cases", json=body, headers=h)
        assert resp.status_code == status, (body, resp.get_json())
        assert resp.headers["Content-Type"] == "application/problem+json"
        problem = resp.get_json()
        assert problem["status"] == status and field in problem["detail"], problem
    broken = client.post("/api/v1/cases", data="{not json", headers={**h, "Content-Type": "application/json"})
    assert 400 <= broken.status_code < 500
    assert broken.headers["Content-Type"] == "application/problem+json"
    assert client.get("/api/v1/nothing", headers=h).get_json()["status"] == 404
    assert client.delete("/api/v1/cases/1", headers=h).status_code == 405


def test_file_plan(client, town) -> None:
    admin = town.auth("admin")
    resp = client.post("/api/v1/file-plan", json={"code": "20.30.1", "title": "Eingangsrechnungen",
                                                   "retention_years": 10, "disposal": "destroy"}, headers=admin)
    assert resp.status_code == 201 and resp.get_json()["parent_code"] == "20.30"
    dup = client.post("/api/v1/file-plan", json={"code": "20.30.1", "title": "x", "retention_years": 1},
                      headers=admin)
    assert dup.status_code == 409
    bad = client.post("/api/v1/file-plan", json={"code": "abc", "title": "x", "retention_years": 1}, headers=admin)
    assert bad.status_code == 422 and "code" in bad.get_json()["detail"]
    denied = client.post("/api/v1/file-plan", json={"code": "21", "title": "x", "retention_years": 1},
                         headers=town.auth("anna"))
    assert denied.status_code == 403
    codes = [n["code"] for n in client.get("/api/v1/file-plan", headers=town.auth("anna")).get_json()["items"]]
    assert codes == ["20", "20.30", "20.30.1", "32", "32.10"]


def test_openapi_document(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/me", "/api/v1/file-plan", "/api/v1/cases", "/api/v1/cases/{case_id}",
                 "/api/v1/cases/{case_id}/close", "/api/v1/cases/{case_id}/documents",
                 "/api/v1/documents/{document_id}", "/api/v1/documents/{document_id}/content",
                 "/api/v1/documents/{document_id}/versions", "/api/v1/cases/{case_id}/audit"]:
        assert path in spec["paths"], path
    upload = spec["paths"]["/api/v1/cases/{case_id}/documents"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
