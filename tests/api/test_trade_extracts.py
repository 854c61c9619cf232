"""Register extracts and the retrieval log through the API (issue 13, GewO §14(5)–(10)):
GET /api/v1/trade/businesses/{id}/extract answers a PDF/A for kind=simple to any signed-in user (the auditor
too); kind=extended only to clerks of the trade unit (403 for everyone else, admins included) and only with
requester and interest (422 naming the field); every retrieval is logged with purpose and reference and audited;
GET /api/v1/trade/retrievals is for the trade unit's head of unit and approvers, auditors and admins."""
from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest
from sqlalchemy import select

from eakte.models import AuditEvent, TradeRetrieval
from eakte.runtime import Runtime
from eakte.services import cases
from tests.conftest import Town
from tests.trade_fixtures import add_trade_users, build_business, build_pending_business, trade_actor

EXTRACT = "/api/v1/trade/businesses/{}/extract"
EXTENDED = {"kind": "extended", "requester": "Rechtsanwaltskanzlei Beispiel & Partner", "requester_kind": "private",
            "interest": "Titulierte Forderung (Vollstreckungsbescheid vom 01.02.2026)", "purpose": "Vollstreckung",
            "reference": "VB 12/26"}


@pytest.fixture
def business(rt: Runtime, town: Town) -> int:
    add_trade_users(rt, town)
    case_id, _ = build_business(rt, trade_actor(rt, "olga"))
    return case_id


def _text(content: bytes) -> str:
    # Whitespace normalised: a long value wraps onto the next line of the letter.
    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages).split())


def _retrievals(rt: Runtime) -> list[TradeRetrieval]:
    with rt.db.read() as session:
        return list(session.execute(select(TradeRetrieval).order_by(TradeRetrieval.id)).scalars())


def _extract_events(rt: Runtime) -> list[AuditEvent]:
    with rt.db.read() as session:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == "trade.extract")
                                    .order_by(AuditEvent.id)).scalars())


def test_a_simple_extract_for_every_signed_in_user(client: Any, town: Town, rt: Runtime, business: int) -> None:
    users = ["olga", "anna", "bernd", "rita", "admin", "heidi"]
    for n, user in enumerate(users, start=1):
        r = client.get(EXTRACT.format(business), query_string={"kind": "simple", "purpose": f"Anfrage {user}",
                                                                "reference": f"AZ-{n}"}, headers=town.auth(user))
        assert r.status_code == 200, (user, r.get_json())
        assert r.mimetype == "application/pdf" and r.data.startswith(b"%PDF-")
        assert r.headers["Content-Disposition"].startswith("attachment;")
        assert "GW-2026-00001-einfach.pdf" in r.headers["Content-Disposition"]
        assert "Feinkost Muster" in _text(r.data) and "12.04.1980" not in _text(r.data)
    logged = _retrievals(rt)
    assert [(r.kind, r.purpose, r.reference, r.retrieved_by, r.case_id) for r in logged] == [
        ("simple", f"Anfrage {u}", f"AZ-{n}", town.user_ids[u], business) for n, u in enumerate(users, start=1)]
    assert all(r.requester is None and r.interest is None for r in logged)
    events = _extract_events(rt)
    assert [(e.actor, e.object_id, e.case_id, e.details["kind"]) for e in events] == [
        (u, str(r.id), business, "simple") for u, r in zip(users, logged)]


def test_simple_is_the_default_kind_and_anonymous_callers_get_nothing(client: Any, town: Town, rt: Runtime,
                                                                      business: int) -> None:
    r = client.get(EXTRACT.format(business), headers=town.auth("rita"))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert client.get(EXTRACT.format(business)).status_code == 401
    assert client.get(EXTRACT.format(business), headers={"Authorization": "Bearer nope"}).status_code == 401
    assert len(_retrievals(rt)) == 1


def test_an_extended_extract_by_a_trade_clerk_with_the_interest_recorded(client: Any, town: Town, rt: Runtime,
                                                                         business: int) -> None:
    r = client.get(EXTRACT.format(business), query_string=EXTENDED, headers=town.auth("olga"))
    assert r.status_code == 200, r.get_json()
    assert r.mimetype == "application/pdf" and "erweitert.pdf" in r.headers["Content-Disposition"]
    text = _text(r.data)
    for shown in ("12.04.1980", "Offenbach am Main", "Rechtsanwaltskanzlei Beispiel & Partner",
                  "Titulierte Forderung (Vollstreckungsbescheid vom 01.02.2026)", "Vollstreckung", "VB 12/26"):
        assert shown in text, shown
    [row] = _retrievals(rt)
    assert (row.kind, row.requester, row.requester_kind, row.interest, row.purpose, row.reference,
            row.retrieved_by) == ("extended", EXTENDED["requester"], "private", EXTENDED["interest"],
                                  "Vollstreckung", "VB 12/26", town.user_ids["olga"])
    [event] = _extract_events(rt)
    assert event.details == {"kind": "extended", "retrieval": row.id} and event.actor == "olga"


@pytest.mark.parametrize("missing", ["requester", "interest"])
def test_an_extended_extract_needs_requester_and_interest(client: Any, town: Town, rt: Runtime, business: int,
                                                          missing: str) -> None:
    for without in ({k: v for k, v in EXTENDED.items() if k != missing}, {**EXTENDED, missing: "   "}):
        r = client.get(EXTRACT.format(business), query_string=without, headers=town.auth("olga"))
        assert r.status_code == 422, r.get_json()
        problem = r.get_json()
        assert problem["field"] == missing and problem["detail_de"].startswith("Für eine erweiterte Auskunft")
    assert _retrievals(rt) == [] and _extract_events(rt) == []


def test_a_public_body_names_its_basis(client: Any, town: Town, rt: Runtime, business: int) -> None:
    body = {"kind": "extended", "requester": "Finanzamt Offenbach am Main-Stadt", "requester_kind": "public"}
    r = client.get(EXTRACT.format(business), query_string=body, headers=town.auth("olga"))
    assert r.status_code == 422 and r.get_json()["field"] == "interest"
    assert "Rechtsgrundlage" in r.get_json()["detail_de"]
    r = client.get(EXTRACT.format(business), query_string={**body, "interest": "§ 93 AO"}, headers=town.auth("olga"))
    assert r.status_code == 200
    assert [(x.requester_kind, x.interest) for x in _retrievals(rt)] == [("public", "§ 93 AO")]


@pytest.mark.parametrize("user", ["rita", "admin", "anna", "bernd", "heidi", "hanna"])
def test_no_extended_extract_for_anyone_but_a_trade_clerk(client: Any, town: Town, rt: Runtime, business: int,
                                                          user: str) -> None:
    for query in (EXTENDED, {"kind": "extended"}):  # refused before the missing fields are even looked at
        r = client.get(EXTRACT.format(business), query_string=query, headers=town.auth(user))
        assert r.status_code == 403, (user, r.get_json())
        assert "Sachbearbeitung des Gewerbeamts" in r.get_json()["detail_de"]
    assert _retrievals(rt) == [] and _extract_events(rt) == []


def test_bad_queries_and_what_is_no_business(client: Any, town: Town, rt: Runtime, business: int) -> None:
    olga = town.auth("olga")
    r = client.get(EXTRACT.format(business), query_string={"kind": "full"}, headers=olga)
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "kind"
    r = client.get(EXTRACT.format(business), query_string={**EXTENDED, "requester_kind": "neighbour"}, headers=olga)
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "requester_kind"
    assert client.get(EXTRACT.format(999999), headers=olga).status_code == 404
    with rt.db.write() as session:  # a case of another type is no business
        other = cases.create_case(session, trade_actor(rt, "olga"), cases.NewCase("32.10", "Ein Ordnungsvorgang",
                                                                                  "32"), rt.registry)
        other_id = other.id
    assert client.get(EXTRACT.format(other_id), headers=olga).status_code == 404
    pending = build_pending_business(rt, trade_actor(rt, "olga"))
    r = client.get(EXTRACT.format(pending), headers=olga)
    assert r.status_code == 409 and "noch nicht im Gewerberegister" in r.get_json()["detail_de"]
    assert _retrievals(rt) == []


def test_the_retrieval_log_for_head_approver_auditor_and_admin(client: Any, town: Town, rt: Runtime,
                                                               business: int) -> None:
    client.get(EXTRACT.format(business), query_string={"purpose": "Schalter", "reference": "S-1"},
               headers=town.auth("anna"))
    client.get(EXTRACT.format(business), query_string=EXTENDED, headers=town.auth("olga"))
    for user in ("heidi", "hanna", "rita", "admin"):
        r = client.get("/api/v1/trade/retrievals", headers=town.auth(user))
        assert r.status_code == 200, (user, r.get_json())
        body = r.get_json()
        assert body["total"] == 2 and [i["kind"] for i in body["items"]] == ["extended", "simple"]
        extended, simple = body["items"]
        assert (extended["requester"], extended["interest"], extended["purpose"], extended["reference"],
                extended["retrieved_by"], extended["business_id"], extended["case_id"]) == (
            EXTENDED["requester"], EXTENDED["interest"], "Vollstreckung", "VB 12/26", "olga", "GW-2026-00001",
            business)
        assert (simple["purpose"], simple["reference"], simple["retrieved_by"]) == ("Schalter", "S-1", "anna")
    r = client.get("/api/v1/trade/retrievals", query_string={"kind": "simple", "case_id": business},
                   headers=town.auth("rita"))
    assert [i["reference"] for i in r.get_json()["items"]] == ["S-1"]
    r = client.get("/api/v1/trade/retrievals", query_string={"case_id": 999999}, headers=town.auth("rita"))
    assert r.get_json()["total"] == 0
    r = client.get("/api/v1/trade/retrievals", query_string={"limit": 1, "offset": 1}, headers=town.auth("rita"))
    assert r.get_json()["total"] == 2 and [i["kind"] for i in r.get_json()["items"]] == ["simple"]


@pytest.mark.parametrize("user", ["olga", "anna", "bernd"])
def test_the_retrieval_log_is_not_for_clerks_or_other_units(client: Any, town: Town, rt: Runtime, business: int,
                                                            user: str) -> None:
    r = client.get("/api/v1/trade/retrievals", headers=town.auth(user))
    assert r.status_code == 403 and "Abrufprotokoll" in r.get_json()["detail_de"]
    assert client.get("/api/v1/trade/retrievals").status_code == 401


def test_the_openapi_document_describes_the_extract(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/trade/businesses/{case_id}/extract"]["get"]
    assert "application/pdf" in op["responses"]["200"]["content"]
    assert {"401", "403", "404", "409", "422"} <= set(op["responses"])
    names = {p["name"] for p in op["parameters"]}
    assert {"kind", "requester", "requester_kind", "interest", "purpose", "reference"} <= names
    assert {"401", "403", "422"} <= set(spec["paths"]["/api/v1/trade/retrievals"]["get"]["responses"])
