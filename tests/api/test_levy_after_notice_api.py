"""The levy's after-notice API (issue 14 points 6 and 7): an objection recorded (deadline, late flag) and decided
through the API, the remedy's new computation and notice through the flow's API, a rejection forwarded; a §8
change and a cancellation; payments typed in and imported as CSV (multipart), the balance and the arrears; 422
naming the field, 403/404 for those who may not."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

from eakte.clock import set_clock
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY
from tests.levy_fixtures import (build_flat_procedure, build_levy_town, compute_assessment, levy_actor, levy_decide,
                                 levy_runtime_at, levy_view, members, put_household, run_to_running)

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

HEADER = "Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck\n"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc)) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Any:
    return build_levy_town(rt)


@pytest.fixture
def pid(rt: Runtime, town: Any) -> int:
    _, procedure_id = build_flat_procedure(rt, levy_actor(rt, "wilhelm"), household=members("27000.00"))
    run_to_running(rt, procedure_id)
    return procedure_id


def later(day: str) -> None:
    set_clock(lambda: dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9), tzinfo=dt.timezone.utc))


def test_objection_remedy_and_new_notice_through_the_api(client: Any, town: Any, pid: int) -> None:
    w, lena = town.auth("wilhelm"), town.auth("lena")
    later("2026-05-07")
    resp = client.post(f"/api/v1/levy/procedures/{pid}/objections",
                       json={"received_on": "2026-05-06", "grounds": "Einkommen zu hoch angesetzt"}, headers=w)
    assert resp.status_code == 201, resp.get_json()
    objection = resp.get_json()
    assert (objection["deadline"], objection["late"], objection["status"]) == ("2026-05-05", True, "open")
    assert levy_view(client, w, pid)["step"] == "widerspruch"
    resp = client.post(f"/api/v1/levy/objections/{objection['id']}/decision",
                       json={"remedy": True, "note": "Nachweis nachgereicht"}, headers=lena)
    assert resp.status_code == 200 and resp.get_json()["status"] == "remedied"
    view = levy_view(client, w, pid)
    assert view["step"] == "berechnung" and view["pending"]["kind"] == "remedy"
    put_household(client, w, pid, members("24000.00"))
    compute_assessment(client, w, pid)
    levy_decide(client, w, pid, "computed")
    levy_decide(client, lena, pid, "confirm")
    levy_decide(client, w, pid, "sent")
    view = levy_view(client, w, pid)
    assert view["step"] == "laufend" and len(view["notices"]) == 2


def test_rejection_and_bad_input_name_the_field(client: Any, town: Any, pid: int) -> None:
    w = town.auth("wilhelm")
    resp = client.post(f"/api/v1/levy/procedures/{pid}/objections", json={"received_on": "2026-04-02"}, headers=w)
    assert resp.status_code == 422 and "grounds" in resp.get_data(as_text=True)
    resp = client.post(f"/api/v1/levy/procedures/{pid}/objections",
                       json={"received_on": "2026-04-09", "grounds": "x"}, headers=w)
    assert resp.status_code == 422 and resp.get_json()["field"] == "received_on"
    resp = client.post(f"/api/v1/levy/procedures/{pid}/objections", json={"received_on": "2026-04-02",
                                                                          "grounds": "x"}, headers=w)
    oid = resp.get_json()["id"]
    resp = client.post(f"/api/v1/levy/objections/{oid}/decision", json={"remedy": False, "note": "unbegründet"},
                       headers=w)
    assert resp.get_json()["forwarded_to"] == "Anhörungsausschuss des Kreises Musterkreis"
    assert client.post(f"/api/v1/levy/objections/{oid}/decision", json={"remedy": True, "note": "doch"},
                       headers=w).status_code == 409


def test_who_may_not(client: Any, town: Any, pid: int) -> None:
    body = {"received_on": "2026-04-02", "grounds": "x"}
    assert client.post(f"/api/v1/levy/procedures/{pid}/objections", json=body,
                       headers=town.auth("anna")).status_code == 404
    assert client.post(f"/api/v1/levy/procedures/{pid}/objections", json=body,
                       headers=town.auth("rita")).status_code == 403
    pay = {"paid_on": "2026-04-02", "amount": "10,00"}
    assert client.post(f"/api/v1/levy/procedures/{pid}/payments", json=pay,
                       headers=town.auth("rita")).status_code == 403
    assert client.get(f"/api/v1/levy/procedures/{pid}/payments", headers=town.auth("anna")).status_code == 404
    assert client.get(f"/api/v1/levy/procedures/{pid}/payments", headers=town.auth("rita")).status_code == 200
    assert client.get("/api/v1/levy/arrears", headers=town.auth("anna")).status_code == 403
    change = {"effective_from": "2027-01-01", "reason": "x"}
    assert client.post(f"/api/v1/levy/procedures/{pid}/changes", json=change,
                       headers=town.auth("rita")).status_code == 403
    assert client.post(f"/api/v1/levy/procedures/{pid}/cancellation", json=change,
                       headers=town.auth("anna")).status_code == 404
    assert client.post(f"/api/v1/levy/procedures/{pid}/objections", json=body).status_code == 401


def test_change_and_cancellation(client: Any, town: Any, pid: int) -> None:
    w = town.auth("wilhelm")
    resp = client.post(f"/api/v1/levy/procedures/{pid}/changes", json={"effective_from": "2027-01-15",
                                                                       "reason": "x"}, headers=w)
    assert resp.status_code == 422 and resp.get_json()["field"] == "effective_from"
    resp = client.post(f"/api/v1/levy/procedures/{pid}/cancellation",
                       json={"effective_from": "2026-10-01", "reason": "Auszug"}, headers=w)
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    assert (out["kind"], out["step"], out["effective_from"], out["notice_id"]) == \
        ("cancellation", "laufend", "2026-10-01", None)  # applied for: the levy runs on until confirmed
    # Four eyes: whoever applied may not confirm; an auditor or another unit may do neither.
    confirm = f"/api/v1/levy/procedures/{pid}/cancellation/confirm"
    resp = client.post(confirm, headers=w)
    assert resp.status_code == 409 and "Vier-Augen" in resp.get_json()["detail_de"]
    assert client.post(confirm, headers=town.auth("rita")).status_code == 403
    assert client.post(confirm, headers=town.auth("anna")).status_code == 404
    # Withdrawn and applied for again; then the colleague confirms.
    assert client.delete(f"/api/v1/levy/procedures/{pid}/cancellation", headers=w).status_code == 200
    assert client.post(confirm, headers=town.auth("lena")).status_code == 409  # nothing applied for now
    assert client.post(f"/api/v1/levy/procedures/{pid}/cancellation",
                       json={"effective_from": "2026-10-01", "reason": "Auszug"}, headers=w).status_code == 201
    resp = client.post(confirm, headers=town.auth("lena"))
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    assert (out["kind"], out["step"], out["effective_from"]) == ("cancellation", None, "2026-10-01")
    assert out["notice_id"]
    assert levy_view(client, w, pid)["step"] is None  # the workflow has ended
    balance = client.get(f"/api/v1/levy/procedures/{pid}/payments", headers=w).get_json()
    assert [d["due_on"] for d in balance["schedule"]][-1] == "2026-09-01"


def test_payments_import_balance_and_arrears(client: Any, town: Any, pid: int) -> None:
    w = town.auth("wilhelm")
    ref = levy_view(client, w, pid)["reference"]
    resp = client.post(f"/api/v1/levy/procedures/{pid}/payments", json={"paid_on": "2026-04-02",
                                                                        "amount": "0,00"}, headers=w)
    assert resp.status_code == 422 and resp.get_json()["field"] == "amount"
    for huge in ("1" * 31, "1" * 31 + ",00"):  # beyond the decimal precision: refused, not a 500
        resp = client.post(f"/api/v1/levy/procedures/{pid}/payments", json={"paid_on": "2026-04-02",
                                                                            "amount": huge}, headers=w)
        assert resp.status_code == 422 and resp.get_json()["field"] == "amount", huge
    future = (HEADER + f"K-9;02.04.2099;50,00;FBA {ref}\n").encode()
    resp = client.post("/api/v1/levy/payments/import", data={"file": (io.BytesIO(future), "kasse.csv")},
                       headers=w, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Zukunft" in str(resp.get_json())
    csv = (HEADER + f"K-1;02.04.2026;50,00;FBA {ref}\nK-2;02.04.2026;10,00;ohne Zeichen\n").encode()
    resp = client.post("/api/v1/levy/payments/import", data={"file": (io.BytesIO(csv), "kasse.csv")},
                       headers=w, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    assert [(i["booking_id"], i["amount"]) for i in report["imported"]] == [("K-1", "50.00")]
    assert [(p["line"], p["kind"]) for p in report["problems"]] == [(3, "unmatched")]
    bad = (HEADER + "K-3;99.99.2026;1,00;x\n").encode()
    resp = client.post("/api/v1/levy/payments/import", data={"file": (io.BytesIO(bad), "kasse.csv")},
                       headers=w, content_type="multipart/form-data")
    assert resp.status_code == 422 and resp.get_json()["field"] == "Buchungsdatum"
    assert resp.get_json()["line"] == 2
    resp = client.post(f"/api/v1/levy/procedures/{pid}/payments", json={"paid_on": "2026-04-02",
                                                                        "amount": "20.00", "reference": "bar"},
                       headers=w)
    assert resp.status_code == 201 and resp.get_json()["amount"] == "20.00"
    twin = {"paid_on": "2026-04-01", "amount": "50,00"}  # what the import booked as K-1: it would count twice
    resp = client.post(f"/api/v1/levy/procedures/{pid}/payments", json=twin, headers=w)
    assert resp.status_code == 409 and resp.content_type == "application/problem+json"
    assert (resp.get_json()["field"], resp.get_json()["booking_id"]) == ("separate", "K-1")
    balance = client.get(f"/api/v1/levy/procedures/{pid}/payments", headers=town.auth("rita")).get_json()
    monthly = balance["schedule"][0]["amount"]
    assert balance["paid"] == "70.00" and balance["expected_to_date"] == monthly
    resp = client.post(f"/api/v1/levy/procedures/{pid}/payments", json={**twin, "separate": True}, headers=w)
    assert resp.status_code == 201  # the clerk says it is another payment
    resp = client.post(f"/api/v1/levy/payments/{resp.get_json()['id']}/reversal", json={"reason": "Test"}, headers=w)
    assert resp.status_code == 201
    later("2026-05-10")
    arrears = client.get("/api/v1/levy/arrears", headers=town.auth("rita")).get_json()
    assert [r["procedure_id"] for r in arrears["items"]] == [pid]
    assert arrears["items"][0]["oldest_unpaid"] == "2026-04-01"
    on_the_day = client.get("/api/v1/levy/arrears?today=2026-04-02", headers=w).get_json()
    assert on_the_day["items"][0]["amount"] == str(Decimal(monthly) - Decimal("70.00"))  # April less the 70 paid
    assert client.get("/api/v1/levy/arrears?today=2026-04-01", headers=w).get_json()["items"][0]["amount"] == monthly


def test_a_payment_is_reversed_through_the_api(client: Any, town: Any, pid: int) -> None:
    w = town.auth("wilhelm")
    paid = client.post(f"/api/v1/levy/procedures/{pid}/payments", json={"paid_on": "2026-04-02",
                                                                        "amount": "40,00"}, headers=w).get_json()
    resp = client.post(f"/api/v1/levy/payments/{paid['id']}/reversal", json={}, headers=w)
    assert resp.status_code == 422 and "reason" in str(resp.get_json())
    resp = client.post(f"/api/v1/levy/payments/{paid['id']}/reversal", json={"reason": "x"},
                       headers=town.auth("rita"))
    assert resp.status_code == 403 and resp.content_type == "application/problem+json"
    resp = client.post(f"/api/v1/levy/payments/{paid['id']}/reversal", json={"reason": "doppelt"}, headers=w)
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["source"], resp.get_json()["supersedes_id"]) == ("reversal", paid["id"])
    resp = client.post(f"/api/v1/levy/payments/{paid['id']}/reversal", json={"reason": "doppelt"}, headers=w)
    assert resp.status_code == 409
    balance = client.get(f"/api/v1/levy/procedures/{pid}/payments", headers=w).get_json()
    assert balance["paid"] == "0.00"
    assert [(p["id"], p["counts"], p["superseded_as"]) for p in balance["payments"]] == [
        (paid["id"], False, "reversal"), (paid["id"] + 1, False, None)]
    assert client.post("/api/v1/levy/payments/99999999999999999999/reversal", json={"reason": "x"},
                       headers=w).status_code == 404
