"""Adversarial review of the trade register (issue 13) through the API: an insider of another unit (or an auditor)
acting on notifications, changing the register other than by a notification, skipping or walking back steps,
deciding twice; recipients getting fields they may not see; register data leaking to other units; the extended
extract and the retrieval log for the wrong people; bad input answered with a 500. Each test asserts the correct
behaviour, so a hole is a failing test."""
from __future__ import annotations

import datetime as dt
import io
import json
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select

from eakte.clock import set_clock
from eakte.models import AuditEvent, Case, Document, Procedure, TradeEntry, TradeTransmission
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY, Town
from tests.helpers import pdf_bytes
from tests.trade_fixtures import (add_trade_users, anmeldung_payload, decide, mark_sent, open_task, outbox_runtime,
                                  submit, walk_to_done)

NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
OUTSIDERS = ("anna", "bernd", "rita")  # a clerk and an approver of another unit; an auditor


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


def _to(client: Any, auth: dict[str, str], procedure_id: int, *decisions: str) -> None:
    for d in decisions:
        decide(client, auth, procedure_id, d)


def _registered(client: Any, olga: dict[str, str], **payload: Any) -> tuple[int, int]:
    """A business whose Anmeldung is at Datenübermittlung (entered, receipt filed, transmissions pending)."""
    body = submit(client, olga, anmeldung_payload(**payload))
    pid = body["procedure"]["id"]
    _to(client, olga, pid, "accept", "complete", "register", "issued")
    return body["business"]["id"], pid


def _count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.db.read() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _docs(rt: Runtime, procedure_id: int, kind: str) -> list[int]:
    with rt.db.read() as session:
        return list(session.execute(select(Document.id).where(Document.procedure_id == procedure_id,
                                                              Document.kind == kind)).scalars())


# --- outsiders acting on the register ---------------------------------------------------------------------

@pytest.mark.parametrize("user", OUTSIDERS)
def test_outsiders_cannot_act_on_notifications_or_transmissions(rt: Runtime, town: Town, client: Any,
                                                                user: str) -> None:
    olga, them = town.auth("olga"), town.auth(user)
    case_id, pid = _registered(client, olga)
    held = submit(client, olga, anmeldung_payload(registered_name="Zweiter Betrieb"))["procedure"]
    decide(client, olga, held["id"], "accept")
    task_id = open_task(client, olga, pid)["open_task_id"]
    assert client.post("/api/v1/intake/trade", json=anmeldung_payload(), headers=them).status_code == 403
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=them).status_code in (403, 404)
    assert client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "transmitted"},
                       headers=them).status_code in (403, 404)
    resp = client.post(f"/api/v1/trade/procedures/{held['id']}/hold", headers=them,
                       json={"missing": ["Erlaubnis"], "follow_up_on": "2026-03-20", "note": ""})
    assert resp.status_code in (403, 404), resp.get_json()
    assert client.post(f"/api/v1/trade/procedures/{held['id']}/resume", headers=them).status_code in (403, 404)
    resp = client.post(f"/api/v1/trade/businesses/{case_id}/deregistration", headers=them,
                       json={"effective_on": "2026-03-03", "reason_text": "Laden leer"})
    assert resp.status_code in (403, 404), resp.get_json()
    with rt.db.read() as session:
        tids = list(session.execute(select(TradeTransmission.id)).scalars())
    assert tids
    mark_sent(rt, pid)
    for tid in tids:
        for action in ("retry", "confirm"):
            resp = client.post(f"/api/v1/trade/transmissions/{tid}/{action}", headers=them)
            assert resp.status_code in (403, 404), (action, resp.get_json())
    assert _count(rt, TradeTransmission, TradeTransmission.status == "confirmed") == 0
    assert open_task(client, olga, pid)["step"] == "datenuebermittlung"
    assert open_task(client, olga, held["id"])["hold"] is None
    assert _count(rt, Procedure, Procedure.case_id == case_id) == 1


# --- the register changes by a notification only ---------------------------------------------------------

def test_the_entry_cannot_be_changed_through_the_generic_case_api(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    case_id, _ = _registered(client, olga)
    before = client.get(f"/api/v1/cases/{case_id}", headers=olga).get_json()
    for body in ({"metadata": {"registered_name": None}}, {"metadata": {"status": "closed"}},
                 {"metadata": {"business_id": "GW-2026-00777"}}, {"metadata": {"owners": "Jemand, Anders"}},
                 {"title": "Gewerbe Anders (GW-2026-00001)"}):
        resp = client.patch(f"/api/v1/cases/{case_id}", json=body, headers=olga)
        assert resp.status_code in (409, 422), (body, resp.get_json())
    after = client.get(f"/api/v1/cases/{case_id}", headers=olga).get_json()
    assert after["metadata"] == before["metadata"] and after["title"] == before["title"]


def test_closing_an_active_business_case_by_hand_is_refused(rt: Runtime, town: Town, client: Any) -> None:
    """A business is closed by a GewA 3 (its Eintragung), never by the generic close: else the register says
    "active" while the case is closed and no further notification can be taken in."""
    olga = town.auth("olga")
    case_id, pid = _registered(client, olga)
    assert rt.registry.types["trade"].closed_by_workflow
    resp = client.post(f"/api/v1/cases/{case_id}/close", headers=olga)
    assert resp.status_code == 409, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert "nur durch ihren Ablauf geschlossen" in resp.get_json()["detail_de"]
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == "open" and case.closed_at is None
    assert _count(rt, AuditEvent, AuditEvent.action == "case.close") == 0
    # Still a business of the register: a GewA 2 is taken in (a closed case would refuse it).
    resp = client.post("/api/v1/intake/trade", headers=olga, json={
        "notification": "ummeldung", "business_id": "GW-2026-00001", "effective_on": "2026-03-03",
        "reason": "verlegung", "street": "Hugenottenallee"})
    assert resp.status_code == 201, resp.get_json()


def test_the_generic_close_stays_for_case_types_whose_workflow_does_not_close_them(rt: Runtime, town: Town,
                                                                                   client: Any) -> None:
    """The rule is the case type's flag, not a special case of trade: a general case is still closed by hand."""
    anna = town.auth("anna")
    assert not rt.registry.types["general"].closed_by_workflow
    case = client.post("/api/v1/cases", headers=anna, json={"file_plan_code": "20.30", "title": "Allgemein",
                                                            "unit": "20"}).get_json()
    resp = client.post(f"/api/v1/cases/{case['id']}/close", headers=anna)
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed", resp.get_json()


def test_a_case_type_closed_by_its_workflow_needs_a_workflow() -> None:
    from workflows.definition import CaseType, DefinitionError
    with pytest.raises(DefinitionError, match="closed_by_workflow"):
        CaseType(key="x", label_de="X", label_en="X", closed_by_workflow=True).validate()


def test_a_running_notification_procedure_cannot_be_closed_or_retitled_by_hand(rt: Runtime, town: Town,
                                                                               client: Any) -> None:
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    pid, case_id = body["procedure"]["id"], body["business"]["id"]
    title = body["procedure"]["title"]
    decide(client, olga, pid, "accept")
    resp = client.patch(f"/api/v1/procedures/{pid}", json={"status": "closed"}, headers=olga)
    assert resp.status_code == 409, resp.get_json()
    assert "von seinem Ablauf bearbeitet" in resp.get_json()["detail_de"]
    resp = client.patch(f"/api/v1/procedures/{pid}", json={"title": "Irgendwas"}, headers=olga)
    assert resp.status_code == 409, resp.get_json()
    resp = client.patch(f"/api/v1/procedures/{pid}", json={"title": title, "status": "open"}, headers=olga)
    assert resp.status_code == 200, resp.get_json()  # what changes nothing is no change
    with rt.db.read() as session:
        procedure = session.get(Procedure, pid)
        assert procedure is not None and procedure.status == "open" and procedure.title == title
    assert _count(rt, AuditEvent, AuditEvent.action.in_(("procedure.close", "procedure.update")),
                  AuditEvent.object_id == str(pid)) == 0
    # The workflow's own end closes it; a procedure opened by hand in the same case (no workflow) stays the
    # clerk's to rename and close.
    _to(client, olga, pid, "complete", "register", "issued")
    mark_sent(rt, pid)
    decide(client, olga, pid, "transmitted")
    with rt.db.read() as session:
        assert session.get(Procedure, pid).status == "closed"  # type: ignore[union-attr]
    own = client.post(f"/api/v1/cases/{case_id}/procedures", json={"title": "Schriftverkehr"}, headers=olga)
    assert own.status_code == 201, own.get_json()
    own_id = own.get_json()["id"]
    assert client.patch(f"/api/v1/procedures/{own_id}", json={"title": "Schriftwechsel"},
                        headers=olga).status_code == 200
    resp = client.patch(f"/api/v1/procedures/{own_id}", json={"status": "closed"}, headers=olga)
    assert resp.status_code == 200 and resp.get_json()["status"] == "closed", resp.get_json()


def test_a_notification_closed_by_hand_does_not_break_its_steps(rt: Runtime, town: Town, client: Any) -> None:
    """Should closing it by hand be possible (see above), the next step must be refused or work, never a 500,
    and never leave an entry without its receipt."""
    olga = town.auth("olga")
    pid = submit(client, olga, anmeldung_payload())["procedure"]["id"]
    _to(client, olga, pid, "accept", "complete")
    client.patch(f"/api/v1/procedures/{pid}", json={"status": "closed"}, headers=olga)
    task_id = open_task(client, olga, pid)["open_task_id"]
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "register"}, headers=olga)
    assert resp.status_code in (200, 409), (resp.status_code, resp.get_json())
    assert _count(rt, TradeEntry) == len(_docs(rt, pid, "receipt"))


def test_receipts_and_transmissions_are_filed_by_the_flow_only(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    case_id, pid = _registered(client, olga)
    receipt, = _docs(rt, pid, "receipt")
    transmissions = _docs(rt, pid, "transmission")
    assert transmissions
    for kind in ("receipt", "transmission"):
        for url in (f"/api/v1/cases/{case_id}/documents", f"/api/v1/procedures/{pid}/documents"):
            resp = client.post(url, headers=olga, content_type="multipart/form-data",
                               data={"file": (io.BytesIO(pdf_bytes()), "bescheinigung.pdf"),
                                     "title": "Empfangsbescheinigung", "kind": kind})
            assert resp.status_code == 422, (kind, url, resp.get_json())
    for doc_id in (receipt, *transmissions):
        resp = client.post(f"/api/v1/documents/{doc_id}/versions", headers=olga, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(pdf_bytes()), "neu.pdf")})
        assert resp.status_code == 409, resp.get_json()
        assert client.post(f"/api/v1/documents/{doc_id}/checkout", headers=olga).status_code == 409
        resp = client.post(f"/api/v1/documents/{doc_id}/move", json={"procedure_id": None}, headers=olga)
        assert resp.status_code == 409, resp.get_json()
    assert _docs(rt, pid, "receipt") == [receipt] and _docs(rt, pid, "transmission") == transmissions
    with rt.db.read() as session:
        assert all(session.get(Document, d).current_version == 1 for d in (receipt, *transmissions))


# --- notifications a business cannot take ----------------------------------------------------------------

def test_no_gewa_2_or_3_for_a_closed_business_nor_one_named_by_another_id(rt: Runtime, town: Town,
                                                                          client: Any) -> None:
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    case_id, business_id = body["business"]["id"], body["business"]["business_id"]
    walk_to_done(client, rt, olga, body["procedure"]["id"])
    gone = submit(client, olga, {"notification": "abmeldung", "business_id": business_id,
                                 "effective_on": "2026-03-03", "reason": "aufgabe"})["procedure"]["id"]
    walk_to_done(client, rt, olga, gone)
    for payload in ({"notification": "abmeldung", "business_id": business_id, "effective_on": "2026-03-04",
                     "reason": "aufgabe"},
                    {"notification": "ummeldung", "business_id": business_id, "effective_on": "2026-03-04",
                     "reason": "taetigkeit", "activity": "Weinhandel"},
                    {"notification": "ummeldung", "business_id": business_id.lower(), "effective_on": "2026-03-04",
                     "reason": "taetigkeit", "activity": "Weinhandel"},
                    {"notification": "ummeldung", "business_id": f"{business_id} ", "effective_on": "2026-03-04",
                     "reason": "taetigkeit", "activity": "Weinhandel"}):
        problem = submit(client, olga, payload, status=422)
        assert problem["field"] == "business_id", problem
    resp = client.post(f"/api/v1/trade/businesses/{case_id}/deregistration", headers=olga,
                       json={"effective_on": "2026-03-04", "reason_text": "nochmals"})
    assert resp.status_code in (409, 422), resp.get_json()
    assert _count(rt, Procedure, Procedure.case_id == case_id) == 2


def test_an_anmeldung_cannot_choose_its_business_id(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    first = submit(client, olga, anmeldung_payload())["business"]
    resp = client.post("/api/v1/intake/trade", headers=olga,
                       json=anmeldung_payload(business_id=first["business_id"], registered_name="Trittbrett"))
    if resp.status_code == 201:
        assert resp.get_json()["business"]["business_id"] != first["business_id"]
    else:
        assert resp.status_code == 422, resp.get_json()
    with rt.db.read() as session:
        ids = [c.metadata_["business_id"] for c in session.execute(select(Case)).scalars()]
    assert len(ids) == len(set(ids))


# --- the steps in their order -----------------------------------------------------------------------------

def test_steps_cannot_be_skipped_or_walked_back_after_the_receipt(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    case_id, pid = body["business"]["id"], body["procedure"]["id"]
    for wrong in ("register", "issued", "transmitted", "complete", "back"):
        _refused(client, olga, pid, wrong)
    decide(client, olga, pid, "accept")
    for wrong in ("register", "issued", "transmitted"):  # Prüfung: no skipping the Eintragung
        _refused(client, olga, pid, wrong)
    decide(client, olga, pid, "complete")
    _refused(client, olga, pid, "issued")  # no receipt before the Eintragung
    assert _count(rt, TradeEntry) == 0 and not _docs(rt, pid, "receipt")
    decide(client, olga, pid, "register")
    _refused(client, olga, pid, "back")  # the receipt's step has no way back
    resp = client.post(f"/api/v1/cases/{case_id}/workflow/return", headers=olga,
                       json={"target": "pruefung", "reason": "nochmals prüfen"})
    assert resp.status_code in (409, 422), resp.get_json()
    decide(client, olga, pid, "issued")
    decide(client, olga, pid, "transmitted", status=409)  # messages pending
    _refused(client, olga, pid, "back")
    assert open_task(client, olga, pid)["step"] == "datenuebermittlung"
    assert _count(rt, TradeEntry) == 1 and len(_docs(rt, pid, "receipt")) == 1


def _refused(client: Any, auth: dict[str, str], pid: int, decision: str) -> None:
    task_id = open_task(client, auth, pid)["open_task_id"]
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": decision, "comment": "Versuch"},
                       headers=auth)
    assert resp.status_code in (409, 422), (decision, resp.status_code, resp.get_json())


def test_a_notification_is_entered_once_even_when_decided_twice(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    pid = body["procedure"]["id"]
    _to(client, olga, pid, "accept", "complete")
    task_id = open_task(client, olga, pid)["open_task_id"]
    answers: list[int] = []

    def go() -> None:
        resp = client.application.test_client().post(f"/api/v1/tasks/{task_id}/complete",
                                                     json={"decision": "register"}, headers=olga)
        answers.append(resp.status_code)

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers)[0] == 200 and answers.count(200) == 1, answers
    assert all(a in (200, 409) for a in answers), answers
    assert _count(rt, TradeEntry) == 1 and len(_docs(rt, pid, "receipt")) == 1
    # And once more, after the fact.
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "register"}, headers=olga)
    assert resp.status_code == 409
    assert _count(rt, TradeEntry) == 1


def test_two_ummeldungen_at_once_each_get_their_own_version(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    business_id = body["business"]["business_id"]
    walk_to_done(client, rt, olga, body["procedure"]["id"])
    pids = [submit(client, olga, {"notification": "ummeldung", "business_id": business_id,
                                  "effective_on": "2026-03-03", "reason": "taetigkeit",
                                  "activity": f"Handel {i}"})["procedure"]["id"] for i in range(2)]
    for pid in pids:
        _to(client, olga, pid, "accept", "complete")
    tasks = [open_task(client, olga, pid)["open_task_id"] for pid in pids]
    answers: list[int] = []

    def go(task_id: int) -> None:
        answers.append(client.application.test_client().post(
            f"/api/v1/tasks/{task_id}/complete", json={"decision": "register"}, headers=olga).status_code)

    threads = [threading.Thread(target=go, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a in (200, 409) for a in answers), answers
    with rt.db.read() as session:
        versions = sorted(session.execute(select(TradeEntry.version)).scalars())
    assert versions == list(range(1, len(versions) + 1))  # no version twice, none skipped
    assert len(versions) == 1 + answers.count(200)


# --- what each recipient gets --------------------------------------------------------------------------------

def _messages(rt: Runtime, client: Any, auth: dict[str, str], pid: int) -> dict[str, bytes]:
    with rt.db.read() as session:
        rows = list(session.execute(select(TradeTransmission).where(TradeTransmission.procedure_id == pid))
                    .scalars())
    out = {}
    for r in rows:
        resp = client.get(f"/api/v1/documents/{r.document_id}/content", headers=auth)
        assert resp.status_code == 200
        out[r.recipient] = resp.data
    return out


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_recipients_get_only_their_fields(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    payload = anmeldung_payload(handwerkskarte=True, business_type="handwerk")
    _, pid = _registered(client, olga, **{k: payload[k] for k in ("handwerkskarte", "business_type")})
    messages = _messages(rt, client, olga, pid)
    assert {"ihk", "hwk", "eichamt", "statistik"} <= set(messages)
    ihk, eichamt = json.loads(messages["ihk"]), json.loads(messages["eichamt"])
    assert "residence_permit" not in _keys(ihk) and "handwerkskarte" not in _keys(ihk)
    assert b"1980-04-12" in messages["ihk"]  # field 7 is the IHK's
    for forbidden in ("residence_permit", "birth_date", "birth_place", "nationality", "employees_full_time",
                      "business_type", "permits", "handwerkskarte", "register_number"):
        assert forbidden not in _keys(eichamt), forbidden
    assert b"1980-04-12" not in messages["eichamt"] and b"Offenbach am Main" not in messages["eichamt"]
    assert b"TR" not in json.dumps(eichamt.get("persons", "")).encode()
    for text in messages.values():
        assert b"signature" not in text.lower()


# --- leaks to other units -----------------------------------------------------------------------------------

def test_register_data_does_not_leak_to_other_units(rt: Runtime, town: Town, client: Any) -> None:
    olga, anna, bernd = town.auth("olga"), town.auth("anna"), town.auth("bernd")
    case_id, pid = _registered(client, olga)
    receipt, = _docs(rt, pid, "receipt")
    with rt.db.read() as session:
        tid = session.execute(select(TradeTransmission.id)).scalars().first()
        tdoc = session.execute(select(TradeTransmission.document_id)).scalars().first()
    for who in (anna, bernd):
        for url in ("/api/v1/search?q=Muster", "/api/v1/search?q=Feinkost", "/api/v1/search?q=GW-2026-00001"):
            body = client.get(url, headers=who).get_json()
            assert body.get("total", 0) == 0 and not body.get("items"), (url, body)
        resp = client.get("/api/v1/search.csv?q=Muster", headers=who)
        assert resp.status_code in (200, 403) and b"Feinkost" not in resp.data and b"Muster" not in resp.data
        cases = client.get("/api/v1/cases?case_type=trade", headers=who).get_json()
        assert cases.get("total", 0) == 0 and not cases.get("items")
        assert all(c["id"] != case_id for c in client.get("/api/v1/cases", headers=who).get_json()["items"])
        inbox = client.get("/api/v1/inbox", headers=who).get_json()
        assert inbox["total"] == 0 and not inbox["items"]
        assert not any(v for v in _numbers(inbox.get("counts"))), inbox["counts"]
        for url in (f"/api/v1/procedures/{pid}/workflow", f"/api/v1/procedures/{pid}",
                    f"/api/v1/trade/procedures/{pid}", f"/api/v1/trade/businesses/{case_id}",
                    f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/workflow",
                    f"/api/v1/cases/{case_id}/audit", f"/api/v1/cases/{case_id}/timeline",
                    f"/api/v1/cases/{case_id}/procedures", f"/api/v1/cases/{case_id}/documents",
                    f"/api/v1/cases/{case_id}/notes", f"/api/v1/documents/{receipt}",
                    f"/api/v1/documents/{receipt}/content", f"/api/v1/documents/{tdoc}/content",
                    f"/api/v1/trade/transmissions/{tid}"):
            resp = client.get(url, headers=who)
            assert resp.status_code == 404, (url, resp.status_code)
        listed = client.get("/api/v1/trade/businesses?q=Muster", headers=who).get_json()
        assert listed["total"] == 0 and listed["items"] == []
        assert client.get("/api/v1/trade/outbox", headers=who).status_code == 403


def _numbers(value: Any) -> list[int]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def test_a_simple_extract_of_a_pending_business_tells_nothing(rt: Runtime, town: Town, client: Any) -> None:
    """Before the Eintragung nothing is in the register: an outsider's simple extract must not disclose the
    notification (409 as for the trade clerk, the same for an unknown id apart from 404)."""
    olga = town.auth("olga")
    case_id = submit(client, olga, anmeldung_payload())["business"]["id"]
    resp = client.get(f"/api/v1/trade/businesses/{case_id}/extract?kind=simple", headers=town.auth("anna"))
    assert resp.status_code in (404, 409), resp.status_code


def test_the_extended_extract_and_the_retrieval_log_for_the_right_people_only(rt: Runtime, town: Town,
                                                                              client: Any) -> None:
    add_trade_users(rt, town)
    olga = town.auth("olga")
    case_id, _ = _registered(client, olga)
    url = f"/api/v1/trade/businesses/{case_id}/extract"
    full = "?kind=extended&requester=Kanzlei%20X&requester_kind=private&interest=Forderung&purpose=Klage"
    for user in ("anna", "bernd", "rita", "heidi", "hanna"):
        resp = client.get(url + full, headers=town.auth(user))
        assert resp.status_code in (403, 404), (user, resp.status_code)
    assert client.get(url + "?kind=extended&requester=Kanzlei%20X", headers=olga).status_code == 422
    assert client.get(url + "?kind=extended&interest=Forderung", headers=olga).status_code == 422
    assert client.get(url + "?kind=extended&requester=%20&interest=%20", headers=olga).status_code == 422
    assert client.get(url + "?kind=extended&requester=X&interest=Y&requester_kind=ghost",
                      headers=olga).status_code == 422
    assert client.get(url + full, headers=olga).status_code == 200
    for user in ("olga", "anna", "bernd"):
        assert client.get("/api/v1/trade/retrievals", headers=town.auth(user)).status_code == 403, user
    for user in ("heidi", "hanna", "rita", "admin"):
        assert client.get("/api/v1/trade/retrievals", headers=town.auth(user)).status_code == 200, user


# --- bad input is a 4xx, never a 500 ------------------------------------------------------------------------

HUGE = (2 ** 63, 10 ** 30, 0, 2 ** 31)


def test_huge_ids_on_every_trade_endpoint_are_404(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    for n in HUGE:
        for method, url, body in (
                ("get", f"/api/v1/trade/businesses/{n}", None),
                ("get", f"/api/v1/trade/businesses/{n}/extract", None),
                ("post", f"/api/v1/trade/businesses/{n}/deregistration",
                 {"effective_on": "2026-03-03", "reason_text": "x"}),
                ("get", f"/api/v1/trade/procedures/{n}", None),
                ("post", f"/api/v1/trade/procedures/{n}/hold",
                 {"missing": ["x"], "follow_up_on": "2026-03-20", "note": ""}),
                ("post", f"/api/v1/trade/procedures/{n}/resume", None),
                ("get", f"/api/v1/trade/transmissions/{n}", None),
                ("post", f"/api/v1/trade/transmissions/{n}/retry", None),
                ("post", f"/api/v1/trade/transmissions/{n}/confirm", None),
                ("get", f"/api/v1/procedures/{n}/workflow", None),
                ("post", f"/api/v1/tasks/{n}/complete", {"decision": "accept"})):
            resp = getattr(client, method)(url, headers=olga, **({"json": body} if body is not None else {}))
            assert resp.status_code in (404, 422), (url, resp.status_code)
    for q in (f"case_id={2 ** 63}", f"offset={2 ** 63}", f"limit={2 ** 63}", "offset=-1", "limit=0",
              "kind=x", "case_id=abc"):
        resp = client.get(f"/api/v1/trade/retrievals?{q}", headers=town.auth("admin"))
        assert resp.status_code in (200, 422), (q, resp.status_code)
    for q in (f"offset={2 ** 63}", f"limit={2 ** 63}", "offset=-1", "status=x", "overdue=vielleicht"):
        for url in ("/api/v1/trade/outbox", "/api/v1/trade/businesses"):
            resp = client.get(f"{url}?{q}", headers=olga)
            assert resp.status_code in (200, 422), (url, q, resp.status_code)
    for q in ("q=%00", "q=" + "x" * 5000, "activity=%25%25", "business_type=x", "status=active&q=%5C"):
        resp = client.get(f"/api/v1/trade/businesses?{q}", headers=olga)
        assert resp.status_code in (200, 422), (q, resp.status_code)


BAD_INTAKE: list[Any] = [
    [], "anmeldung", 5, None, {"notification": 5}, {"notification": ["anmeldung"]},
    {"notification": {"x": 1}},
    anmeldung_payload(persons="Muster"), anmeldung_payload(persons=["Muster"]), anmeldung_payload(persons=[None]),
    anmeldung_payload(persons=[{"role": "owner", "family_name": 5}]),
    anmeldung_payload(persons=[{}] * 500),
    anmeldung_payload(employees_full_time="zwei"), anmeldung_payload(employees_full_time=10 ** 30),
    anmeldung_payload(employees_full_time=-1), anmeldung_payload(employees_part_time=1.5),
    anmeldung_payload(employees_full_time=True),
    anmeldung_payload(permits={"34c": True}), anmeldung_payload(permits="34c"), anmeldung_payload(permits=[5]),
    anmeldung_payload(part_time="ja"), anmeldung_payload(handwerkskarte="nein"),
    anmeldung_payload(received_on=20260302), anmeldung_payload(received_on="02.03.2026"),
    anmeldung_payload(effective_on="9999-12-31"),
    anmeldung_payload(effective_on=None), anmeldung_payload(received_on="+20260-01-01"),
    anmeldung_payload(registered_name="x" * 100_000), anmeldung_payload(registered_name="a\x00b"),
    anmeldung_payload(registered_name=["a"]), anmeldung_payload(email="kein mail"),
    anmeldung_payload(activity_key=47.11), anmeldung_payload(postal_code=63263),
    anmeldung_payload(ex_officio="yes"), anmeldung_payload(reason=["x"]),
    {"notification": "ummeldung", "business_id": 5, "effective_on": "2026-03-03"},
    {"notification": "ummeldung", "business_id": ["GW-2026-00001"], "effective_on": "2026-03-03"},
    {"notification": "abmeldung", "business_id": "x" * 10_000, "effective_on": "2026-03-03", "reason": "aufgabe"},
    {"notification": "abmeldung", "business_id": "GW\x00", "effective_on": "2026-03-03", "reason": "aufgabe"},
]


@SQLITE_ONLY
@pytest.mark.parametrize("index", range(len(BAD_INTAKE)))
def test_bad_intake_bodies_are_4xx(rt: Runtime, town: Town, client: Any, index: int) -> None:
    body = BAD_INTAKE[index]
    resp = client.post("/api/v1/intake/trade", headers={**town.auth("olga"), "Content-Type": "application/json"},
                       data=json.dumps(body))
    assert 400 <= resp.status_code < 500 and resp.status_code != 404, (body if len(str(body)) < 300 else index,
                                                                      resp.status_code, resp.get_json())
    assert _count(rt, Case) == 0


def test_malformed_json_and_bad_bodies_on_the_other_trade_endpoints_are_4xx(rt: Runtime, town: Town,
                                                                            client: Any) -> None:
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    case_id, pid = body["business"]["id"], body["procedure"]["id"]
    decide(client, olga, pid, "accept")
    raw = ["{", "[]", "null", '"x"', "5", '{"missing": "Erlaubnis", "follow_up_on": "2026-03-20"}',
           '{"missing": [5], "follow_up_on": "2026-03-20"}', '{"missing": ["x"], "follow_up_on": "morgen"}',
           '{"missing": ["x"], "follow_up_on": "99999-01-01"}', '{"missing": ["x"], "follow_up_on": "2026-03-20", '
           '"note": 5}', '{"missing": ["x"], "follow_up_on": "2026-03-20", "note": "\\u0000"}',
           '{"missing": ["x"], "follow_up_on": "1900-01-01", "note": ""}',
           '{"missing": ["x"], "follow_up_on": "2026-03-20", "extra": 1}']
    for data in raw:
        resp = client.post(f"/api/v1/trade/procedures/{pid}/hold", data=data,
                           headers={**olga, "Content-Type": "application/json"})
        assert 400 <= resp.status_code < 500, (data, resp.status_code, resp.get_json())
    for data in ("{", "[]", '{"effective_on": 5, "reason_text": "x"}', '{"effective_on": "2026-03-03"}',
                 '{"effective_on": "2026-03-03", "reason_text": ["x"]}',
                 '{"effective_on": "2026-13-03", "reason_text": "x"}'):
        resp = client.post(f"/api/v1/trade/businesses/{case_id}/deregistration", data=data,
                           headers={**olga, "Content-Type": "application/json"})
        assert 400 <= resp.status_code < 500, (data, resp.status_code, resp.get_json())
    for data in ("{", "[]", '{"decision": 5}', '{"decision": ["accept"]}', '{"decision": "x" }',
                 '{"decision": "complete", "comment": 5}'):
        task_id = open_task(client, olga, pid)["open_task_id"]
        resp = client.post(f"/api/v1/tasks/{task_id}/complete", data=data,
                           headers={**olga, "Content-Type": "application/json"})
        assert 400 <= resp.status_code < 500, (data, resp.status_code, resp.get_json())
    assert open_task(client, olga, pid)["step"] == "pruefung"


def test_no_abmeldung_or_ummeldung_dated_before_the_business_started(rt: Runtime, town: Town, client: Any) -> None:
    """The register's history is dated (valid_from): a closure or change before the start (2026-03-01) would
    make an entry that was never true."""
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    business_id = body["business"]["business_id"]
    walk_to_done(client, rt, olga, body["procedure"]["id"])
    for payload in ({"notification": "abmeldung", "business_id": business_id, "effective_on": "2020-01-01",
                     "reason": "aufgabe"},
                    {"notification": "ummeldung", "business_id": business_id, "effective_on": "2020-01-01",
                     "reason": "taetigkeit", "activity": "Weinhandel"}):
        resp = client.post("/api/v1/intake/trade", json=payload, headers=olga)
        assert resp.status_code == 422 and resp.get_json()["field"] == "effective_on", resp.get_json()


def test_anmeldungen_at_once_get_distinct_business_ids(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    answers: list[Any] = []

    def go(i: int) -> None:
        resp = client.application.test_client().post(
            "/api/v1/intake/trade", json=anmeldung_payload(registered_name=f"Laden {i}"), headers=olga)
        answers.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(status in (201, 409) for status, _ in answers), answers
    ids = [body["business"]["business_id"] for status, body in answers if status == 201]
    assert ids and len(ids) == len(set(ids))
    assert _count(rt, Case) == len(ids)


def test_a_hand_made_procedure_does_not_keep_a_deregistered_business_open(rt: Runtime, town: Town,
                                                                          client: Any) -> None:
    """The case closes when the Abmeldung is dealt with "unless another notification of it is still open": a
    procedure a clerk opened by hand (for correspondence) is no notification."""
    olga = town.auth("olga")
    body = submit(client, olga, anmeldung_payload())
    case_id, business_id = body["business"]["id"], body["business"]["business_id"]
    walk_to_done(client, rt, olga, body["procedure"]["id"])
    resp = client.post(f"/api/v1/cases/{case_id}/procedures", json={"title": "Schriftverkehr"}, headers=olga)
    assert resp.status_code == 201, resp.get_json()
    gone = submit(client, olga, {"notification": "abmeldung", "business_id": business_id,
                                 "effective_on": "2026-03-03", "reason": "aufgabe"})["procedure"]["id"]
    walk_to_done(client, rt, olga, gone)
    with rt.db.read() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.metadata_["status"] == "closed"
        assert case.status == "closed"


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_the_simple_extract_holds_the_public_fields_only(rt: Runtime, town: Town, client: Any) -> None:
    """§14(5): name(s), business name, business address, activity; no birth date, birth place, nationality,
    home address, phone or e-mail of the owner."""
    olga = town.auth("olga")
    case_id, _ = _registered(client, olga)
    resp = client.get(f"/api/v1/trade/businesses/{case_id}/extract?kind=simple", headers=town.auth("anna"))
    assert resp.status_code == 200
    text = _pdf_text(resp.data)
    assert "Feinkost Muster" in text and "Frankfurter Straße" in text
    for secret in ("12.04.1980", "1980-04-12", "Bahnhofstraße", "06102", "info@feinkost-muster.de",
                   "Aufenthalt", "türkisch"):
        assert secret not in text, secret


def test_an_outsider_cannot_export_a_business(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    case_id, _ = _registered(client, olga)
    for user in ("anna", "bernd"):
        resp = client.post("/api/v1/exports", json={"case_ids": [case_id]}, headers=town.auth(user))
        assert resp.status_code in (403, 404, 422), (user, resp.status_code, resp.get_json())


def test_a_held_notification_that_is_rejected_leaves_no_open_follow_up(rt: Runtime, town: Town,
                                                                       client: Any) -> None:
    """Rejecting a notification on hold ends its wait: no reminder in the Postkorb for a notification that is
    dealt with (or the rejection is refused until it is resumed)."""
    from eakte.models import FollowUp
    olga = town.auth("olga")
    pid = submit(client, olga, anmeldung_payload())["procedure"]["id"]
    decide(client, olga, pid, "accept")
    resp = client.post(f"/api/v1/trade/procedures/{pid}/hold", headers=olga,
                       json={"missing": ["Erlaubnis nach § 34c GewO"], "follow_up_on": "2026-03-20", "note": ""})
    assert resp.status_code == 200, resp.get_json()
    task_id = open_task(client, olga, pid)["open_task_id"]
    resp = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "reject", "comment": "keine Anzeige"},
                       headers=olga)
    assert resp.status_code in (200, 409), resp.get_json()
    if resp.status_code == 200:
        assert _count(rt, FollowUp, FollowUp.procedure_id == pid, FollowUp.status == "open") == 0


# --- plausible dates ----------------------------------------------------------------------------------------

@SQLITE_ONLY
@pytest.mark.parametrize("field, value, message", [
    ("effective_on", "1899-12-31", "vor dem 01.01.1900"),
    ("effective_on", "0026-03-01", "vor dem 01.01.1900"),  # a year typed short
    ("effective_on", "2027-03-05", "mehr als ein Jahr in der Zukunft"),  # today is 2026-03-04
    ("received_on", "1899-12-31", "Eingangsdatum liegt vor dem 01.01.1900"),
])
def test_a_notification_dated_implausibly_far_back_or_ahead_is_422(rt: Runtime, town: Town, client: Any,
                                                                   field: str, value: str, message: str) -> None:
    olga = town.auth("olga")
    resp = client.post("/api/v1/intake/trade", json=anmeldung_payload(**{field: value}), headers=olga)
    assert resp.status_code == 422, resp.get_json()
    problems = {e["field"]: e for e in resp.get_json()["errors"]}
    assert message in problems[field]["messages_de"][0], problems
    assert _count(rt, Case) == 0


def test_the_edges_of_the_plausible_dates_are_taken(rt: Runtime, town: Town, client: Any) -> None:
    olga = town.auth("olga")
    early = submit(client, olga, anmeldung_payload(effective_on="1900-01-01", received_on="1900-01-01"))
    assert early["procedure"]["id"]
    ahead = submit(client, olga, anmeldung_payload(registered_name="Zukunft", effective_on="2027-03-04"))
    assert ahead["procedure"]["id"]
    # A GewA 3 of the authority's own accord goes through the same rule.
    case_id, _pid = _registered(client, olga, registered_name="Dritter Betrieb")
    resp = client.post(f"/api/v1/trade/businesses/{case_id}/deregistration", headers=olga,
                       json={"effective_on": "2027-06-01", "reason_text": "Laden leer"})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["field"] == "effective_on"
    assert "mehr als ein Jahr" in resp.get_json()["detail_de"]
