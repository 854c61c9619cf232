"""Access control: tests show the denial, not only the success."""
from __future__ import annotations

from tests.helpers import create_case, pdf_bytes, upload


def test_requires_a_valid_token(client, town) -> None:
    for headers in [{}, {"Authorization": "Bearer eak_wrong"}, {"Authorization": "Basic abc"}]:
        resp = client.get("/api/v1/me", headers=headers)
        assert resp.status_code == 401
        assert resp.headers["Content-Type"] == "application/problem+json"


def test_me(client, town) -> None:
    me = client.get("/api/v1/me", headers=town.auth("anna")).get_json()
    assert me["username"] == "anna"
    assert me["roles"] == [{"unit": "20", "unit_name": "Kämmerei", "role": "clerk"}]
    assert me["is_admin"] is False


def test_other_unit_sees_nothing(client, town) -> None:
    case = create_case(client, town.auth("anna"))
    doc = upload(client, town.auth("anna"), case["id"], pdf_bytes()).get_json()
    olga = town.auth("olga")
    for url in [f"/api/v1/cases/{case['id']}", f"/api/v1/cases/{case['id']}/audit",
                f"/api/v1/cases/{case['id']}/documents", f"/api/v1/documents/{doc['id']}",
                f"/api/v1/documents/{doc['id']}/content"]:
        assert client.get(url, headers=olga).status_code == 404, url
    assert client.get("/api/v1/cases", headers=olga).get_json()["total"] == 0
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"title": "x"}, headers=olga).status_code == 404
    assert upload(client, olga, case["id"], pdf_bytes("x")).status_code == 404
    # Creating a case for a unit one does not belong to is forbidden.
    resp = client.post("/api/v1/cases", json={"file_plan_code": "20.30", "title": "x", "unit": "20"}, headers=olga)
    assert resp.status_code == 403


def test_auditor_reads_but_never_writes(client, town) -> None:
    case = create_case(client, town.auth("anna"))
    doc = upload(client, town.auth("anna"), case["id"], pdf_bytes()).get_json()
    rita = town.auth("rita")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=rita).status_code == 200
    assert client.get(f"/api/v1/documents/{doc['id']}/content", headers=rita).status_code == 200
    assert client.get(f"/api/v1/cases/{case['id']}/audit", headers=rita).status_code == 200
    assert client.get("/api/v1/cases", headers=rita).get_json()["total"] == 1
    denied = [
        client.patch(f"/api/v1/cases/{case['id']}", json={"title": "x"}, headers=rita),
        client.post(f"/api/v1/cases/{case['id']}/close", headers=rita),
        upload(client, rita, case["id"], pdf_bytes("y")),
        client.post("/api/v1/cases", json={"file_plan_code": "20.30", "title": "x", "unit": "20"}, headers=rita),
    ]
    assert [r.status_code for r in denied] == [403, 403, 403, 403]
    assert "clerk" in denied[0].get_json()["detail"]


def test_approver_without_clerk_role_cannot_change(client, town) -> None:
    case = create_case(client, town.auth("anna"))
    bernd = town.auth("bernd")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=bernd).status_code == 200
    assert client.patch(f"/api/v1/cases/{case['id']}", json={"title": "x"}, headers=bernd).status_code == 403


def test_membership_change_takes_effect_at_once(client, town, rt) -> None:
    from tests.conftest import OPERATOR
    from eakte.services import identity
    case = create_case(client, town.auth("anna"))
    olga = town.auth("olga")
    assert client.get(f"/api/v1/cases/{case['id']}", headers=olga).status_code == 404
    with rt.db.write() as session:
        identity.grant_role(session, OPERATOR, identity.user_by_name(session, "olga"), identity.UnitRole("20", "clerk"))
    assert client.get(f"/api/v1/cases/{case['id']}", headers=olga).status_code == 200
