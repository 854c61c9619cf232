"""Check-out / check-in through the API (issue 11 point 3): while a clerk holds a document, a colleague's version
is refused with 409 naming the holder; the holder checks a version in or cancels; an admin or the unit's head
breaks a stale lock (audited), a clerk may not; auditors and closed cases are refused. And document kinds are
checked against the case type's declared kinds at upload (point 6)."""
from __future__ import annotations

import datetime as dt
import io
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from eakte import clock
from eakte.models import AuditEvent, Document
from eakte.services import identity
from tests.conftest import OPERATOR, Town
from tests.helpers import create_case, pdf_bytes, upload

NOON = dt.datetime(2026, 6, 3, 10, 15, tzinfo=dt.timezone.utc)  # 12:15 in Berlin (summer time)


@pytest.fixture
def office(rt, town: Town) -> Town:  # type: ignore[no-untyped-def]
    """The town with a second clerk of the Kämmerei (anton) and its head (hanna)."""
    with rt.db.write() as session:
        for username, display, roles in [("anton", "Anton Maier", [("20", "clerk")]),
                                         ("hanna", "Hanna Schulz", [("20", "head_of_unit")])]:
            user = identity.create_user(session, OPERATOR, username, display_name=display,
                                        roles=[identity.UnitRole(u, r) for u, r in roles],
                                        known_roles=rt.registry.roles)
            town.user_ids[username] = user.id
            town.tokens[username] = identity.issue_token(session, OPERATOR, user, "test")
    return town


@pytest.fixture
def fixed_clock() -> Iterator[None]:
    clock.set_clock(lambda: NOON)
    yield
    clock.set_clock(None)


def _document(client, office: Town) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    h = office.auth("anna")
    case = create_case(client, h)
    resp = upload(client, h, case["id"], pdf_bytes("Bescheid"), title="Bescheid")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _post(client, office: Town, who: str, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{path}", headers=office.auth(who), **kwargs)


def _version(client, office: Town, who: str, doc_id: int, endpoint: str = "versions",
             text: str = "neu"):  # type: ignore[no-untyped-def]
    return _post(client, office, who, f"{doc_id}/{endpoint}", content_type="multipart/form-data",
                 data={"file": (io.BytesIO(pdf_bytes(text)), f"{text}.pdf")})


def _trail(rt, doc_id: int) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.object_type == "document",
                                                             AuditEvent.object_id == str(doc_id))
                                    .order_by(AuditEvent.id)).scalars())


def test_colleagues_version_is_refused_naming_the_holder_then_the_holder_checks_in(
        client, office, rt, fixed_clock) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    out = _post(client, office, "anna", f"{doc['id']}/checkout")
    assert out.status_code == 200, out.get_json()
    assert out.get_json()["checked_out_by"] == "anna"
    assert out.get_json()["checked_out_at"].startswith("2026-06-03T10:15")
    shown = client.get(f"/api/v1/documents/{doc['id']}", headers=office.auth("anton")).get_json()
    assert shown["checked_out_by"] == "anna"
    listed = client.get(f"/api/v1/cases/{doc['case_id']}/documents", headers=office.auth("anton")).get_json()
    assert listed["items"][0]["checked_out_by"] == "anna"

    refused = _version(client, office, "anton", doc["id"])
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    assert problem["checked_out_by"] == "anna" and problem["checked_out_at"] == "2026-06-03T10:15:00Z"
    assert "anna" in problem["detail"] and "Anna" not in problem["detail"]
    assert "03.06.2026, 12:15 Uhr" in problem["detail_de"]
    # Nobody else checks it out, nor checks in, cancels; an admin is no exception.
    assert _post(client, office, "anton", f"{doc['id']}/checkout").status_code == 409
    assert _version(client, office, "anton", doc["id"], "checkin").status_code == 409
    assert _post(client, office, "anton", f"{doc['id']}/checkout/cancel").status_code == 409
    assert _version(client, office, "admin", doc["id"]).status_code == 409

    # Checking out again is harmless; the holder checks a version in, which frees the document.
    assert _post(client, office, "anna", f"{doc['id']}/checkout").status_code == 200
    checked_in = _version(client, office, "anna", doc["id"], "checkin", "zweite")
    assert checked_in.status_code == 201, checked_in.get_json()
    body = checked_in.get_json()
    assert body["version"]["number"] == 2 and body["checked_out_by"] is None and body["checked_out_at"] is None
    assert _version(client, office, "anton", doc["id"]).status_code == 201

    actions = [(e.action, e.actor) for e in _trail(rt, doc["id"])]
    assert actions == [("document.create", "anna"), ("document.checkout", "anna"),
                       ("document.add_version", "anna"), ("document.checkin", "anna"),
                       ("document.add_version", "anton")]
    checkin = _trail(rt, doc["id"])[3]
    assert checkin.details == {"holder": "anna", "held_since": "2026-06-03T10:15:00Z", "version": 2}


def test_check_in_needs_a_check_out_and_a_file(client, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    assert _version(client, office, "anna", doc["id"], "checkin").status_code == 409  # not checked out
    _post(client, office, "anna", f"{doc['id']}/checkout")
    missing = _post(client, office, "anna", f"{doc['id']}/checkin", content_type="multipart/form-data", data={})
    assert missing.status_code == 422
    with rt.db.read() as session:
        assert session.get(Document, doc["id"]).checked_out_by == office.user_ids["anna"]


def test_cancel_by_the_holder(client, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    assert _post(client, office, "anna", f"{doc['id']}/checkout/cancel").status_code == 409  # nothing to cancel
    _post(client, office, "anna", f"{doc['id']}/checkout")
    cancelled = _post(client, office, "anna", f"{doc['id']}/checkout/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["checked_out_by"] is None
    assert _version(client, office, "anton", doc["id"]).status_code == 201
    assert [e.action for e in _trail(rt, doc["id"])][-3:] == ["document.checkout", "document.checkout_cancel",
                                                              "document.add_version"]


@pytest.mark.parametrize("breaker", ["admin", "hanna"])
def test_admin_or_unit_head_breaks_a_stale_lock(client, office, rt, breaker: str) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    _post(client, office, "anna", f"{doc['id']}/checkout")
    broken = _post(client, office, breaker, f"{doc['id']}/checkout/break", json={"reason": "Urlaub bis Juli"})
    assert broken.status_code == 200, broken.get_json()
    assert broken.get_json()["checked_out_by"] is None
    event = _trail(rt, doc["id"])[-1]
    assert (event.action, event.actor) == ("document.checkout_break", breaker)
    assert event.details["holder"] == "anna" and event.details["reason"] == "Urlaub bis Juli"
    assert _version(client, office, "anton", doc["id"]).status_code == 201
    # Nothing to break any more.
    assert _post(client, office, breaker, f"{doc['id']}/checkout/break").status_code == 409


def test_break_without_a_reason_and_refused_to_clerks_and_auditors(client, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    _post(client, office, "anna", f"{doc['id']}/checkout")
    for who in ("anton", "rita"):
        refused = _post(client, office, who, f"{doc['id']}/checkout/break")
        assert refused.status_code == 403, (who, refused.get_json())
        assert refused.headers["Content-Type"] == "application/problem+json"
    assert _post(client, office, "olga", f"{doc['id']}/checkout/break").status_code == 404  # other unit: unseen
    too_long = _post(client, office, "admin", f"{doc['id']}/checkout/break", json={"reason": "x" * 501})
    assert too_long.status_code == 422
    assert _post(client, office, "admin", f"{doc['id']}/checkout/break").status_code == 200
    assert _trail(rt, doc["id"])[-1].details["reason"] is None


def test_auditor_approver_other_unit_and_closed_case_cannot_check_out(client, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    assert _post(client, office, "rita", f"{doc['id']}/checkout").status_code == 403  # auditor: reads only
    assert _post(client, office, "bernd", f"{doc['id']}/checkout").status_code == 403  # approver, no clerk
    assert _post(client, office, "olga", f"{doc['id']}/checkout").status_code == 404
    assert _post(client, office, "anna", "999999/checkout").status_code == 404
    h = office.auth("anna")
    assert client.post(f"/api/v1/cases/{doc['case_id']}/close", headers=h).status_code == 200
    closed = _post(client, office, "anna", f"{doc['id']}/checkout")
    assert closed.status_code == 409 and "geschlossen" in closed.get_json()["detail_de"]
    assert [e.action for e in _trail(rt, doc["id"])] == ["document.create"]


def test_a_closed_cases_lock_can_still_be_given_back(client, office, rt) -> None:  # type: ignore[no-untyped-def]
    doc = _document(client, office)
    _post(client, office, "anna", f"{doc['id']}/checkout")
    assert client.post(f"/api/v1/cases/{doc['case_id']}/close", headers=office.auth("anna")).status_code == 200
    assert _post(client, office, "anna", f"{doc['id']}/checkout/cancel").status_code == 200


def test_an_undeclared_kind_is_refused_naming_the_field_and_the_allowed_kinds(client, town, rt) -> None:  # type: ignore[no-untyped-def]
    h = town.auth("anna")
    case = create_case(client, h)  # general: document, letter, note, ...
    refused = upload(client, h, case["id"], pdf_bytes(), kind="spreadsheet")
    assert refused.status_code == 422
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    assert problem["field"] == "kind" and "letter" in problem["allowed"] and "spreadsheet" not in problem["allowed"]
    assert "Schreiben" in problem["detail_de"]
    with rt.db.read() as session:
        assert session.execute(select(Document)).first() is None
    assert upload(client, h, case["id"], pdf_bytes(), kind="letter").status_code == 201
    assert upload(client, h, case["id"], pdf_bytes()).status_code == 201  # "document", the default


def test_openapi_names_the_checkout_operations(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/documents/{document_id}/checkout", "/api/v1/documents/{document_id}/checkin",
                 "/api/v1/documents/{document_id}/checkout/cancel", "/api/v1/documents/{document_id}/checkout/break"):
        assert "409" in spec["paths"][path]["post"]["responses"], path
    assert "checked_out_by" in spec["components"]["schemas"]["DocumentOut"]["properties"]
