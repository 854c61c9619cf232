"""Taking in trade notifications through POST /api/v1/intake/trade: an Anmeldung creates the business's case,
procedure and workflow; the OpenAPI document describes every field and its example is accepted; invalid payloads
and GewA 2/3 for unknown businesses are 422 naming the field; only clerks of the trade unit may submit; the
generic case API neither creates trade cases nor changes their fields; the receipt deadline shows in the
Postkorb; a notification can wait for documents in Prüfung only."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select

from eakte.clock import set_clock
from eakte.models import AuditEvent, Case, FollowUp, Note, Procedure, WorkflowInstance
from eakte.runtime import Runtime
from tests.conftest import Town
from tests.trade_fixtures import anmeldung_payload, decide, open_task, outbox_runtime, submit

NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.timezone.utc)  # received_on of the payload: 2026-03-02


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    runtime = outbox_runtime(tmp_path, db_url)
    yield runtime
    runtime.close()


@pytest.fixture
def clock() -> Iterator[Any]:
    def move(at: dt.datetime) -> None:
        set_clock(lambda: at)
    move(NOW)
    try:
        yield move
    finally:
        set_clock(None)


def _count(rt: Runtime, model: Any) -> int:
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_an_anmeldung_creates_the_business_its_procedure_and_workflow(rt: Runtime, town: Town, client: Any,
                                                                      clock: Any) -> None:
    body = submit(client, town.auth("olga"), anmeldung_payload())
    assert body["created"] is True
    business, procedure = body["business"], body["procedure"]
    assert business["business_id"] == "GW-2026-00001" and business["status"] == "pending"
    assert business["registered_name"] == "Feinkost Muster" and "Muster" in business["owners"]
    assert business["title"] == "Gewerbe Feinkost Muster (GW-2026-00001)"
    assert procedure["notification"] == "anmeldung" and procedure["step"] == "eingang"
    assert procedure["title"] == "Gewerbeanmeldung (GewA 1) vom 02.03.2026"
    assert procedure["workflow_status"] == "running" and procedure["open_task_id"]
    with rt.db.read() as session:
        case = session.get(Case, business["id"])
        assert case is not None and case.case_type == "trade" and case.unit.code == "32"
        proc = session.get(Procedure, procedure["id"])
        assert proc is not None and proc.case_id == case.id
        assert proc.metadata_["source"] == "api" and proc.metadata_["received_on"] == "2026-03-02"
        assert proc.metadata_["data"]["registered_name"] == "Feinkost Muster"
        instance = session.execute(select(WorkflowInstance).where(WorkflowInstance.procedure_id == proc.id)).scalar()
        assert instance is not None and instance.current_step == "eingang"
        # The Eingangsvermerk in the procedure.
        assert session.execute(select(Note.text).where(Note.procedure_id == proc.id)).scalar().startswith("Eingang")
    # A second Anmeldung is a second business with the next number.
    second = submit(client, town.auth("olga"), anmeldung_payload(registered_name="Bäckerei Beispiel"))
    assert second["business"]["business_id"] == "GW-2026-00002"
    with rt.db.read() as session:
        actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.case_id == business["id"]))
                      .scalars())
    assert {"case.create", "procedure.create", "workflow.start", "trade.notification"} <= actions


def test_the_openapi_document_describes_every_field_and_its_example_is_accepted(rt: Runtime, town: Town,
                                                                                 client: Any, clock: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/intake/trade"]["post"]["requestBody"]["content"]["application/json"]
    schema = body["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    props = schema["properties"]
    expected = {"notification", "business_id", "received_on", "effective_on", "reason", "ex_officio",
                "registered_name", "legal_form", "register_court", "register_number", "street", "house_number",
                "postal_code", "city", "phone", "email", "persons", "activity", "activity_key", "business_type",
                "part_time", "employees_full_time", "employees_part_time", "establishment", "permits",
                "handwerkskarte"}
    assert expected <= set(props)
    assert all(props[name].get("description") for name in expected)
    assert props["received_on"]["format"] == "date" and props["notification"]["enum"] == ["anmeldung", "ummeldung",
                                                                                          "abmeldung"]
    person = spec["components"]["schemas"]["PersonIn"]["properties"]
    assert {"family_name", "given_names", "birth_date", "nationality"} <= set(person)
    example = body["example"]
    assert example["notification"] == "anmeldung" and example["persons"]
    answer = submit(client, town.auth("olga"), example)
    assert answer["created"] is True and answer["business"]["registered_name"] == example["registered_name"]


@pytest.mark.parametrize(("change", "field"), [
    ({"registered_name": None}, "registered_name"),
    ({"postal_code": "6326"}, "postal_code"),
    ({"legal_form": "kommune"}, "legal_form"),
    ({"effective_on": "2026-02-30"}, "effective_on"),
    ({"received_on": "2026-03-09"}, "received_on"),  # in the future
    ({"notification": "ummelden"}, "notification"),
])
def test_invalid_payloads_are_422_naming_the_field(rt: Runtime, town: Town, client: Any, clock: Any,
                                                   change: dict[str, Any], field: str) -> None:
    payload = {k: v for k, v in {**anmeldung_payload(), **change}.items() if v is not None}
    problem = submit(client, town.auth("olga"), payload, status=422)
    assert problem["field"] == field and field in problem["detail"] and problem["detail_de"]
    assert field in {e["field"] for e in problem["errors"]}
    assert _count(rt, Case) == 0


def test_a_person_problem_names_the_person_field(rt: Runtime, town: Town, client: Any, clock: Any) -> None:
    payload = anmeldung_payload()
    payload["persons"][0]["birth_date"] = "2030-01-01"
    problem = submit(client, town.auth("olga"), payload, status=422)
    assert problem["field"] == "persons[0].birth_date"


def test_unknown_keys_are_refused_naming_the_key(rt: Runtime, town: Town, client: Any, clock: Any) -> None:
    problem = submit(client, town.auth("olga"), anmeldung_payload(favourite_colour="blau"), status=422)
    assert "favourite_colour" in problem["detail"]
    assert _count(rt, Case) == 0


@pytest.mark.parametrize("user", ["anna", "rita"])  # a clerk of another unit; an auditor
def test_only_clerks_of_the_trade_unit_may_submit(rt: Runtime, town: Town, client: Any, clock: Any,
                                                  user: str) -> None:
    submit(client, town.auth(user), anmeldung_payload(), status=403)
    # Refused before the payload is looked at: an invalid one is 403 as well, not a 422 that tells what is wrong.
    submit(client, town.auth(user), {"notification": "abmeldung"}, status=403)
    assert _count(rt, Case) == 0 and _count(rt, Procedure) == 0


@pytest.mark.parametrize("kind", ["abmeldung", "ummeldung"])
def test_a_gewa_2_or_3_for_an_unknown_business_is_422_with_the_reason(rt: Runtime, town: Town, client: Any,
                                                                      clock: Any, kind: str) -> None:
    payload = {"notification": kind, "business_id": "GW-2026-99999", "effective_on": "2026-03-03",
               "reason": "aufgabe" if kind == "abmeldung" else "taetigkeit"}
    if kind == "ummeldung":
        payload["activity"] = "Einzelhandel mit Wein"
    problem = submit(client, town.auth("olga"), payload, status=422)
    assert problem["field"] == "business_id"
    assert "no active business" in problem["detail"] and "GW-2026-99999" in problem["detail"]
    assert "unknown" in problem["detail"] and "Betriebsnummer" in problem["detail_de"]


def test_a_gewa_3_for_a_business_not_yet_entered_is_422(rt: Runtime, town: Town, client: Any, clock: Any) -> None:
    business = submit(client, town.auth("olga"), anmeldung_payload())["business"]
    problem = submit(client, town.auth("olga"), {"notification": "abmeldung", "business_id": business["business_id"],
                                                 "effective_on": "2026-03-03", "reason": "aufgabe"}, status=422)
    assert problem["field"] == "business_id" and "not entered" in problem["detail"]


def test_the_generic_case_api_neither_creates_nor_changes_trade_cases(rt: Runtime, town: Town, client: Any,
                                                                      clock: Any) -> None:
    resp = client.post("/api/v1/cases", json={"file_plan_code": "32.10", "unit": "32", "case_type": "trade",
                                              "title": "Gewerbe von Hand"}, headers=town.auth("olga"))
    assert resp.status_code == 422 and resp.get_json()["field"] == "case_type"
    business = submit(client, town.auth("olga"), anmeldung_payload())["business"]
    resp = client.patch(f"/api/v1/cases/{business['id']}", json={"metadata": {"registered_name": "Anders"}},
                        headers=town.auth("olga"))
    assert resp.status_code == 422, resp.get_json()
    assert "registered_name" in resp.get_json()["detail"]
    with rt.db.read() as session:
        case = session.get(Case, business["id"])
        assert case is not None and case.metadata_["registered_name"] == "Feinkost Muster"


def test_the_receipt_deadline_is_three_days_and_shows_overdue_in_the_postkorb(rt: Runtime, town: Town,
                                                                              client: Any, clock: Any) -> None:
    procedure = submit(client, town.auth("olga"), anmeldung_payload())["procedure"]
    assert procedure["due_at"].startswith("2026-03-05T23:59:59") and procedure["overdue"] is False
    inbox = client.get("/api/v1/inbox?case_type=trade", headers=town.auth("olga")).get_json()
    task = next(t for t in inbox["items"] if t["id"] == procedure["open_task_id"])
    assert task["overdue"] is False and task["procedure_id"] == procedure["id"]
    clock(dt.datetime(2026, 3, 6, 8, 0, tzinfo=dt.timezone.utc))  # the day after the deadline
    overdue = client.get("/api/v1/inbox?overdue=true", headers=town.auth("olga")).get_json()
    assert procedure["open_task_id"] in {t["id"] for t in overdue["items"]}
    assert next(t for t in overdue["items"] if t["id"] == procedure["open_task_id"])["overdue"] is True
    # The next steps keep the receipt's deadline.
    decide(client, town.auth("olga"), procedure["id"], "accept")
    shown = open_task(client, town.auth("olga"), procedure["id"])
    assert shown["step"] == "pruefung" and shown["overdue"] is True and shown["due_at"].startswith("2026-03-05")


def test_a_notification_waits_for_documents_in_pruefung_only(rt: Runtime, town: Town, client: Any,
                                                             clock: Any) -> None:
    olga = town.auth("olga")
    procedure_id = submit(client, olga, anmeldung_payload())["procedure"]["id"]
    hold = {"missing": ["Erlaubnis nach § 34c GewO"], "follow_up_on": "2026-03-18", "note": "telefonisch angefragt"}
    resp = client.post(f"/api/v1/trade/procedures/{procedure_id}/hold", json=hold, headers=olga)
    assert resp.status_code == 409, resp.get_json()  # still in Eingang
    decide(client, olga, procedure_id, "accept")
    for user in ("anna", "rita"):
        denied = client.post(f"/api/v1/trade/procedures/{procedure_id}/hold", json=hold, headers=town.auth(user))
        assert denied.status_code in (403, 404), denied.get_json()
    resp = client.post(f"/api/v1/trade/procedures/{procedure_id}/hold", json=hold, headers=olga)
    assert resp.status_code == 200, resp.get_json()
    held = resp.get_json()["hold"]
    assert held["missing"] == ["Erlaubnis nach § 34c GewO"] and held["follow_up_on"] == "2026-03-18"
    with rt.db.read() as session:
        fu = session.get(FollowUp, held["followup_id"])
        assert fu is not None and fu.procedure_id == procedure_id and fu.status == "open"
        assert fu.due_on == dt.date(2026, 3, 18) and fu.user_id is None  # for the trade unit
        texts = session.execute(select(Note.text).where(Note.procedure_id == procedure_id)).scalars().all()
        assert any("34c" in t and "18.03.2026" in t for t in texts)
    assert client.post(f"/api/v1/trade/procedures/{procedure_id}/hold", json=hold, headers=olga).status_code == 409
    problem = decide(client, olga, procedure_id, "complete", status=409)
    assert "hold" in problem["detail"]
    resp = client.post(f"/api/v1/trade/procedures/{procedure_id}/resume", headers=olga)
    assert resp.status_code == 200 and resp.get_json()["hold"] is None
    with rt.db.read() as session:
        fu = session.get(FollowUp, held["followup_id"])
        assert fu is not None and fu.status == "done"
    assert client.post(f"/api/v1/trade/procedures/{procedure_id}/resume", headers=olga).status_code == 409
    decide(client, olga, procedure_id, "complete")
    assert open_task(client, olga, procedure_id)["step"] == "eintragung"
    resp = client.post(f"/api/v1/trade/procedures/{procedure_id}/hold", json=hold, headers=olga)
    assert resp.status_code == 409  # past Prüfung
