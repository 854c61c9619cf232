"""The trade register through the API: GewA 1 → 2 → 3 decided step by step with POST /api/v1/tasks/{id}/complete;
the Eintragung writes a new TradeEntry version and the case's mirror (nothing overwritten: the table refuses
UPDATE), the receipt and the transmissions come with their steps, Datenübermittlung is not done while messages
are pending, the Abmeldung closes the business and its case; the register list and a business's page; the
full-text search finds a business right after its Eintragung."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from eakte.clock import set_clock
from eakte.models import Case, Document, Procedure, TradeEntry, TradeTransmission, WorkflowInstance
from eakte.runtime import Runtime
from tests.conftest import Town
from tests.trade_fixtures import anmeldung_payload, decide, mark_sent, open_task, outbox_runtime, submit, walk_to_done

NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    runtime = outbox_runtime(tmp_path, db_url)
    yield runtime
    runtime.close()


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


def _entries(rt: Runtime, case_id: int) -> list[TradeEntry]:
    with rt.db.read() as session:
        return list(session.execute(select(TradeEntry).where(TradeEntry.case_id == case_id)
                                    .order_by(TradeEntry.version)).scalars())


def _case(rt: Runtime, case_id: int) -> Case:
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


def test_gewa_1_2_3_walk_the_steps_and_keep_the_history(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    first = submit(client, olga, anmeldung_payload())
    case_id, p1 = first["business"]["id"], first["procedure"]["id"]
    business_id = first["business"]["business_id"]

    decide(client, olga, p1, "accept")
    decide(client, olga, p1, "complete")
    assert _entries(rt, case_id) == []  # nothing is entered before the Eintragung
    decide(client, olga, p1, "register")
    [v1] = _entries(rt, case_id)
    assert v1.version == 1 and v1.notification == "anmeldung" and v1.status == "active"
    assert v1.valid_from == dt.date(2026, 3, 1) and v1.data["registered_name"] == "Feinkost Muster"
    case = _case(rt, case_id)
    assert case.metadata_["status"] == "active" and case.metadata_["activity"].startswith("Einzelhandel")
    assert case.metadata_["business_id"] == business_id
    shown = open_task(client, olga, p1)
    assert shown["step"] == "empfangsbescheinigung" and shown["entry_version"] == 1
    assert shown["receipt_document_id"]  # entering the step filed the receipt
    with rt.db.read() as session:
        receipt = session.get(Document, shown["receipt_document_id"])
        assert receipt is not None and receipt.kind == "receipt" and receipt.procedure_id == p1

    decide(client, olga, p1, "issued")
    shown = open_task(client, olga, p1)
    assert shown["step"] == "datenuebermittlung"
    pending = len(shown["transmissions"])
    assert pending >= 1 and all(t["status"] == "pending" for t in shown["transmissions"])
    problem = decide(client, olga, p1, "transmitted", status=409)
    assert problem["pending"] == pending and str(pending) in problem["detail"]
    mark_sent(rt, p1)
    decide(client, olga, p1, "transmitted")
    done = open_task(client, olga, p1)
    assert done["workflow_status"] == "completed" and done["open_task_id"] is None and done["status"] == "closed"
    assert _case(rt, case_id).status == "open"

    # GewA 2: a move and a new activity; only the given fields change.
    second = submit(client, olga, {"notification": "ummeldung", "business_id": business_id,
                                   "received_on": "2026-03-03", "effective_on": "2026-04-01",
                                   "reason": "verlegung", "street": "Hugenottenallee", "house_number": "20",
                                   "activity": "Einzelhandel mit Feinkost und Wein"})
    assert second["created"] is False and second["business"]["id"] == case_id
    p2 = second["procedure"]["id"]
    assert second["procedure"]["title"] == "Gewerbeummeldung (GewA 2) vom 03.03.2026"
    walk_to_done(client, rt, olga, p2)
    v1_again, v2 = _entries(rt, case_id)
    assert v1_again.data == v1.data  # the first version is kept as it was
    assert v2.version == 2 and v2.notification == "ummeldung" and v2.valid_from == dt.date(2026, 4, 1)
    assert v2.data["street"] == "Hugenottenallee" and v2.data["registered_name"] == "Feinkost Muster"
    assert "Hugenottenallee 20" in _case(rt, case_id).metadata_["business_address"]
    page = client.get(f"/api/v1/trade/businesses/{case_id}", headers=olga).get_json()
    assert page["entry"]["street"] == "Hugenottenallee"
    assert [h["version"] for h in page["history"]] == [2, 1]
    changed = {c["field"] for c in page["history"][0]["changes"]}
    assert {"street", "activity"} <= changed and "registered_name" not in changed
    assert page["history"][1]["data"]["street"] == "Frankfurter Straße"
    assert [p["notification"] for p in page["procedures"]] == ["ummeldung", "anmeldung"]
    assert {d["kind"] for d in page["documents"]} >= {"receipt"}

    # Nothing overwritten: the register refuses changing an entry row.
    with pytest.raises(DBAPIError):
        with rt.db.write() as session:
            session.execute(update(TradeEntry).where(TradeEntry.id == v1.id).values(status="closed"))
    assert _entries(rt, case_id)[0].status == "active"

    # GewA 3 closes the business, and its case once the workflow is done.
    third = submit(client, olga, {"notification": "abmeldung", "business_id": business_id,
                                  "effective_on": "2026-04-30", "reason": "aufgabe"})
    p3 = third["procedure"]["id"]
    for decision in ("accept", "complete", "register"):
        decide(client, olga, p3, decision)
    assert _entries(rt, case_id)[-1].status == "closed" and _case(rt, case_id).metadata_["status"] == "closed"
    assert _case(rt, case_id).status == "open"  # not before the workflow is done
    decide(client, olga, p3, "issued")
    mark_sent(rt, p3)
    decide(client, olga, p3, "transmitted")
    closed = _case(rt, case_id)
    assert closed.status == "closed" and closed.metadata_["closed_on"] == "2026-04-30"

    # A closed business takes no further notification: 422 naming business_id with the reason.
    problem = submit(client, olga, {"notification": "ummeldung", "business_id": business_id,
                                    "effective_on": "2026-05-01", "activity": "Wein"}, status=422)
    assert problem["field"] == "business_id" and "closed" in problem["detail"]
    assert "abgemeldet" in problem["detail_de"]


def test_the_trade_entry_table_refuses_update_at_the_database(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    first = submit(client, olga, anmeldung_payload())
    walk_to_done(client, rt, olga, first["procedure"]["id"])
    with pytest.raises(DBAPIError):
        with rt.db.write() as session:
            session.execute(text("UPDATE trade_entries SET data = '{}'"))


def test_a_rejected_anmeldung_closes_its_empty_case(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    first = submit(client, olga, anmeldung_payload())
    decide(client, olga, first["procedure"]["id"], "accept")
    decide(client, olga, first["procedure"]["id"], "reject", comment="Keine gewerbliche Tätigkeit")
    assert _case(rt, first["business"]["id"]).status == "closed"
    assert _entries(rt, first["business"]["id"]) == []


def test_only_the_trade_unit_decides_the_steps(rt: Runtime, town: Town, client: Any) -> None:
    first = submit(client, town.auth("olga"), anmeldung_payload())
    task_id = first["procedure"]["open_task_id"]
    for user in ("anna", "rita"):
        resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "accept"},
                           headers=town.auth(user))
        assert resp.status_code in (403, 404), resp.get_json()
    assert open_task(client, town.auth("olga"), first["procedure"]["id"])["step"] == "eingang"


def _business(client: Any, auth: dict[str, str], rt: Runtime, **payload: Any) -> dict[str, Any]:
    body = submit(client, auth, anmeldung_payload(**payload))
    for decision in ("accept", "complete", "register"):
        decide(client, auth, body["procedure"]["id"], decision)
    return body["business"]


def test_the_register_list_searches_and_filters(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    shop = _business(client, olga, rt)
    person = {"role": "owner", "family_name": "Schreiner", "given_names": "Jonas", "birth_date": "1975-06-01",
              "birth_place": "Frankfurt am Main", "nationality": "DE", "street": "Am Trieb", "house_number": "8",
              "postal_code": "63263", "city": "Neu-Isenburg", "residence_permit": False}
    joiner = _business(client, olga, rt, registered_name="Tischlerei Holzwurm", business_type="handwerk",
                       activity="Bau- und Möbeltischlerei", activity_key="16.23", street="Schleussnerstraße",
                       house_number="42", persons=[person], handwerkskarte=True)
    pending = submit(client, olga, anmeldung_payload(registered_name="Kiosk Eck", activity="Kiosk"))["business"]

    def ids(query: str) -> list[int]:
        resp = client.get(f"/api/v1/trade/businesses?{query}", headers=olga)
        assert resp.status_code == 200, resp.get_json()
        return [i["id"] for i in resp.get_json()["items"]]

    assert ids("q=holzwurm") == [joiner["id"]]  # name, any case
    assert ids("q=Schreiner") == [joiner["id"]]  # owner
    assert ids("q=schleussner") == [joiner["id"]]  # address
    assert ids("q=feinkost") == [shop["id"]]  # name and activity
    assert ids("q=tischlerei m%C3%B6bel") == [joiner["id"]]  # every word
    assert ids(f"q={joiner['business_id']}") == [joiner["id"]]
    assert ids("q=63263") == [shop["id"], pending["id"], joiner["id"]]  # by name
    assert ids("business_type=handwerk") == [joiner["id"]]
    assert ids("status=pending") == [pending["id"]]
    assert set(ids("status=active")) == {shop["id"], joiner["id"]}
    assert ids("activity=16.2") == [joiner["id"]] and ids("activity=kiosk") == [pending["id"]]
    page = client.get("/api/v1/trade/businesses?limit=2&offset=2", headers=olga).get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    assert client.get("/api/v1/trade/businesses?status=open", headers=olga).status_code == 422
    item = client.get("/api/v1/trade/businesses?q=holzwurm", headers=olga).get_json()["items"][0]
    assert item["business_id"] == joiner["business_id"] and item["business_type"] == "handwerk"


def test_a_business_page_is_only_for_trade_cases(rt: Runtime, town: Town, client: Any) -> None:
    resp = client.post("/api/v1/cases", json={"file_plan_code": "32.10", "unit": "32", "title": "Allgemeines"},
                       headers=town.auth("olga"))
    assert resp.status_code == 201, resp.get_json()
    assert client.get(f"/api/v1/trade/businesses/{resp.get_json()['id']}",
                      headers=town.auth("olga")).status_code == 404
    assert client.get("/api/v1/trade/businesses/99999", headers=town.auth("olga")).status_code == 404


def test_the_full_text_search_finds_a_business_right_after_its_eintragung(rt: Runtime, town: Town,
                                                                          client: Any) -> None:
    olga = town.auth("olga")
    business = _business(client, olga, rt, registered_name="Goldschmiede Glanzstück",
                         activity="Goldschmiedearbeiten und Schmuckhandel")

    def found(q: str) -> set[int]:
        resp = client.get(f"/api/v1/search?q={q}", headers=olga)
        assert resp.status_code == 200, resp.get_json()
        return {h["case_id"] for h in resp.get_json()["items"]}

    for q in ("Glanzstück", "Muster", "Frankfurter", "Schmuckhandel", business["business_id"]):
        assert business["id"] in found(q), q


def test_ex_officio_deregistration(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    business = _business(client, olga, rt)
    procedure_id = client.get(f"/api/v1/trade/businesses/{business['id']}", headers=olga).get_json()[
        "procedures"][0]["id"]
    decide(client, olga, procedure_id, "issued")
    mark_sent(rt, procedure_id)
    decide(client, olga, procedure_id, "transmitted")
    body = {"effective_on": "2026-03-03", "reason_text": "Betrieb seit Monaten geschlossen, Post unzustellbar"}
    denied = client.post(f"/api/v1/trade/businesses/{business['id']}/deregistration", json=body,
                         headers=town.auth("anna"))
    assert denied.status_code in (403, 404)
    resp = client.post(f"/api/v1/trade/businesses/{business['id']}/deregistration", json=body, headers=olga)
    assert resp.status_code == 201, resp.get_json()
    procedure = resp.get_json()["procedure"]
    assert procedure["notification"] == "abmeldung" and procedure["source"] == "ex_officio"
    with rt.db.read() as session:
        proc = session.get(Procedure, procedure["id"])
        assert proc is not None and proc.metadata_["data"]["reason"] == "von_amts_wegen"
        assert proc.metadata_["data"]["ex_officio"] is True
        assert session.execute(select(WorkflowInstance.current_step)
                               .where(WorkflowInstance.procedure_id == proc.id)).scalar() == "eingang"
        assert session.execute(select(TradeTransmission)).first() is not None
