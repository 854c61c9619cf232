"""Bad input gets a clear 4xx problem+json, never a 500: out-of-range ids, broken or mistyped bodies."""
from __future__ import annotations

import io
import re

import pytest

from eakte.api.converters import MAX_ID
from tests.conftest import TESTDATA
from tests.helpers import create_case

HUGE = [2**63, 13724964553311887116055085056, 10**40]
PROBLEM = "application/problem+json"

# Every route with an id (the sweep below also walks the app's own url map, so a new route is covered too).
ID_ROUTES = [
    ("GET", "/api/v1/cases/{id}"),
    ("PATCH", "/api/v1/cases/{id}"),
    ("POST", "/api/v1/cases/{id}/close"),
    ("GET", "/api/v1/cases/{id}/audit"),
    ("GET", "/api/v1/cases/{id}/documents"),
    ("POST", "/api/v1/cases/{id}/documents"),
    ("GET", "/api/v1/cases/{id}/workflow"),
    ("GET", "/api/v1/documents/{id}"),
    ("GET", "/api/v1/documents/{id}/content"),
    ("POST", "/api/v1/documents/{id}/versions"),
    ("POST", "/api/v1/tasks/{id}/claim"),
    ("POST", "/api/v1/tasks/{id}/release"),
    ("POST", "/api/v1/tasks/{id}/complete"),
    ("GET", "/api/v1/invoices/payment-exports/{id}/csv"),
    ("GET", "/api/v1/invoices/payment-exports/{id}/pain001"),
]


def _assert_404(resp, what: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 404, (what, resp.status_code, resp.get_data(as_text=True)[:300])
    if " /api/" not in what:  # a web page: the German error page in the layout
        assert resp.headers["Content-Type"].startswith("text/html"), what
        assert "Seite nicht gefunden" in resp.get_data(as_text=True), what
        return
    assert resp.headers["Content-Type"] == PROBLEM, what
    assert resp.get_json()["status"] == 404


@pytest.mark.parametrize("method,template", ID_ROUTES)
def test_ids_beyond_64_bits_are_404(client, town, method: str, template: str) -> None:
    for user in ("anna", "admin"):
        for huge in HUGE:
            path = template.format(id=huge)
            _assert_404(client.open(path, method=method, json={}, headers=town.auth(user)), f"{method} {path}")


def test_largest_id_is_an_unknown_row_not_an_overflow(client, town) -> None:
    """2^63-1 still fits the key column, so it reaches the service: an ordinary 'no such case'."""
    h = town.auth("anna")
    for method, template in ID_ROUTES:
        path = template.format(id=MAX_ID)
        resp = client.open(path, method=method, headers=h)
        assert resp.status_code in (404, 422), (method, path, resp.get_json())  # 422: a required body field
        assert resp.headers["Content-Type"] == PROBLEM


def test_every_id_route_of_the_app_is_bounded(app, client, town) -> None:
    """Walk the app's url map: every <int:...> in any route, present or future, answers 404 beyond 64 bits."""
    seen = 0
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        path = re.sub(r"<int:[^>]+>", str(2**63), rule.rule)
        path = re.sub(r"<any\(([^,)]+)[^>]*>", lambda m: m.group(1).strip(), path)
        path = re.sub(r"<[^>]+>", "x", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            _assert_404(client.open(path, method=method, json={}, headers=town.auth("admin")), f"{method} {path}")
            seen += 1
    assert seen >= len(ID_ROUTES)


def test_ids_in_queries_and_bodies_are_bounded(client, town) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    resp = client.get(f"/api/v1/documents/1/content?version={2**63}", headers=h)
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "version"
    resp = client.get(f"/api/v1/cases?offset={2**64}", headers=h)
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "offset"
    resp = client.post("/api/v1/exports", json={"case_ids": [case["id"], 2**63]}, headers=town.auth("rita"))
    assert resp.status_code == 422 and "case_ids" in resp.get_json()["detail"]


def test_malformed_json_says_so(client, town) -> None:
    h = {**town.auth("anna"), "Content-Type": "application/json"}
    for body in ["{not json", '{"title": "x",}', "\xff\xfe"]:
        resp = client.post("/api/v1/cases", data=body.encode("latin-1"), headers=h)
        assert resp.status_code == 400, resp.get_json()
        assert resp.headers["Content-Type"] == PROBLEM
        assert "not valid JSON" in resp.get_json()["detail"]
        assert resp.get_json()["title"] == "Malformed request"


def test_json_without_json_content_type_is_415_not_missing_field(client, town) -> None:
    body = '{"file_plan_code": "20.30", "title": "Rechnung", "unit": "20"}'
    for content_type in [None, "text/plain", "application/x-www-form-urlencoded"]:
        headers = {**town.auth("anna"), **({"Content-Type": content_type} if content_type else {})}
        resp = client.post("/api/v1/cases", data=body, headers=headers)
        assert resp.status_code == 415, (content_type, resp.get_json())
        problem = resp.get_json()
        assert "application/json" in problem["detail"] and "missing" not in problem["detail"].lower()
    ok = client.post("/api/v1/cases", data=body, headers={**town.auth("anna"),
                                                           "Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 201
    # an endpoint whose body is all optional still takes no body at all
    empty = client.post("/api/v1/invoices/payment-exports", headers=town.auth("anna"))
    assert empty.status_code != 415


def test_upload_endpoints_refuse_a_json_body_as_415(client, town) -> None:
    h = town.auth("anna")
    case = create_case(client, h)
    resp = client.post(f"/api/v1/cases/{case['id']}/documents", json={"title": "x"}, headers=h)
    assert resp.status_code == 415 and "multipart/form-data" in resp.get_json()["detail"]


def test_204_answers_carry_no_body_type(client, town) -> None:
    sample = TESTDATA / "xrechnung" / "01.01a-INVOICE_ubl.xml"
    intake = client.post("/api/v1/intake/invoice", headers=town.auth("anna"), content_type="multipart/form-data",
                         data={"file": (io.BytesIO(sample.read_bytes()), sample.name)})
    assert intake.status_code == 201, intake.get_json()
    case_id = intake.get_json()["case"]["id"]
    task = next(t for t in client.get("/api/v1/inbox", headers=town.auth("anna")).get_json()["items"]
                if t["case_id"] == case_id)
    for action in ("claim", "release"):
        resp = client.post(f"/api/v1/tasks/{task['id']}/{action}", headers=town.auth("anna"))
        assert resp.status_code == 204 and resp.data == b""
        assert "Content-Type" not in resp.headers, resp.headers
    denied = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=town.auth("olga"))
    assert denied.status_code == 404 and denied.headers["Content-Type"] == PROBLEM


def test_text_a_database_cannot_store_is_422_everywhere(client, town) -> None:
    """NUL (PostgreSQL refuses it in text: a 500 before) and unpaired surrogates, in body, query, form, path."""
    h = town.auth("anna")
    case = create_case(client, h)
    bad = [
        client.post("/api/v1/cases", headers=h, json={"file_plan_code": "20.30", "title": "a\x00b", "unit": "20"}),
        client.post("/api/v1/cases", headers={**h, "Content-Type": "application/json"},
                    data='{"file_plan_code": "20.30", "title": "x", "unit": "20", "metadata": {"k": "\\ud800"}}'),
        client.patch(f"/api/v1/cases/{case['id']}", headers=h, json={"metadata": {"a\x00": 1}}),
        client.get("/api/v1/cases?q=%00", headers=h),
        client.get("/api/v1/search?q=Rechnung%00", headers=h),
        client.post(f"/api/v1/cases/{case['id']}/documents", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"Text"), "notiz.txt"), "title": "a\x00b"}),
        client.post(f"/api/v1/cases/{case['id']}/documents", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(b"Text"), "no\x00tiz.txt"), "title": "Notiz"}),
        client.post("/api/v1/users/an%00na/deactivate", headers=town.auth("admin")),
    ]
    for resp in bad:
        assert resp.status_code == 422, (resp.request.path, resp.get_json())
        assert resp.headers["Content-Type"] == PROBLEM and "contains" in resp.get_json()["detail"]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=h).get_json()["title"] == case["title"]
