"""The approval chain means something (issue 8, points 1 and 2): what a decided step confirmed is frozen, fields the
system computes are read-only, the correction path is an audited return to an earlier step, and the payment
export pays exactly what the Anordnung approved."""
from __future__ import annotations

import io

from lxml import etree
from sqlalchemy import select

from eakte.models import Case, InvoicePayment, Task
from tests.helpers import pdf_bytes
from tests.workflows.test_invoice_flow import XR, decide, env, intake, my_task  # noqa: F401 (env is a fixture)

CHAIN = [("anna", "eingang", "forward"), ("otto", "sachlich", "approve"), ("anna", "rechnerisch", "approve"),
         ("ute", "anordnung", "approve"), ("kurt", "zahlung", "release")]
TYPED = {"invoice_number": "P-4711", "issue_date": "2026-11-02", "currency": "EUR", "seller_name": "Bau GmbH",
         "total_net": "100.00", "total_vat": "19.00", "total_gross": "119.00", "amount_due": "119.00",
         "iban": "DE89370400440532013000", "ordering_unit": "32"}
OTHER_IBAN = "DE02120300000000202051"


def walk(client, town, case_id: int, chain=CHAIN) -> None:  # type: ignore[no-untyped-def]
    for user, step, decision in chain:
        t = my_task(client, town, user, case_id)
        assert t["step"] == step
        resp = decide(client, town, user, t["id"], decision)
        assert resp.status_code == 200, resp.get_json()


def patch(client, town, case_id: int, metadata: dict, user: str = "anna"):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/v1/cases/{case_id}", headers=town.auth(user), json={"metadata": metadata})


def metadata_of(client, town, case_id: int) -> dict:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/cases/{case_id}", headers=town.auth("anna")).get_json()["metadata"]


def paper_invoice(client, town) -> int:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/intake/invoice", headers=town.auth("anna"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf_bytes("Rechnung P-4711")), "scan.pdf")})
    case_id = resp.get_json()["case"]["id"]
    assert patch(client, town, case_id, TYPED).status_code == 200
    return case_id


def export(client, town):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/invoices/payment-exports", json={}, headers=town.auth("kurt"))


def paid(client, town, info: dict) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(IBAN, amount) of every credit transfer in the export's pain.001."""
    xml = etree.fromstring(client.get(info["pain001"], headers=town.auth("kurt")).data)
    ns = {"p": xml.nsmap[None]}
    return [(tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=ns), tx.findtext("p:Amt/p:InstdAmt", namespaces=ns))
            for tx in xml.iterfind(".//p:CdtTrfTxInf", namespaces=ns)]


def test_approved_amount_and_iban_are_frozen_and_the_export_pays_them(env) -> None:
    rt, town, client = env
    created = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]
    case_id, approved = created["id"], created["metadata"]
    walk(client, town, case_id)
    for change in ({"iban": OTHER_IBAN}, {"amount_due": "99999.00"}, {"amount_due": None}):
        refused = patch(client, town, case_id, change)
        assert refused.status_code == 409, refused.get_json()
        assert refused.headers["Content-Type"] == "application/problem+json"
        body = refused.get_json()
        name = next(iter(change))
        assert body["field"] == f"metadata.{name}" and body["step"] == "sachlich"
        assert name in body["detail"] and "sachlich" in body["detail"]
    assert patch(client, town, case_id, {"iban": approved["iban"]}).status_code == 200  # unchanged: no change
    assert metadata_of(client, town, case_id) == approved
    info = export(client, town).get_json()
    assert info["count"] == 1 and info["refused"] == []
    assert paid(client, town, info) == [(approved["iban"], approved["amount_due"])]


def test_typed_paper_invoice_is_frozen_once_sachlich_is_decided(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:1])
    assert patch(client, town, case_id, {"iban": OTHER_IBAN}).status_code == 200  # not yet confirmed: typing goes on
    walk(client, town, case_id, CHAIN[1:2])
    for change in ({"iban": TYPED["iban"]}, {"amount_due": "999.00"}, {"seller_name": "Andere GmbH"},
                   {"invoice_number": "X"}, {"issue_date": "2026-01-01"}, {"ordering_unit": "20"}):
        refused = patch(client, town, case_id, change)
        assert refused.status_code == 409 and refused.get_json()["step"] == "sachlich", change
    assert metadata_of(client, town, case_id)["iban"] == OTHER_IBAN
    assert patch(client, town, case_id, {"duplicate_override": "Zweitschrift"}).status_code == 200  # not frozen


def test_export_refuses_an_invoice_changed_behind_the_services_back(env) -> None:
    rt, town, client = env
    honest = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]
    forged = intake(client, town, XR / "01.02a-INVOICE_ubl.xml").get_json()["case"]
    assert patch(client, town, forged["id"], {"ordering_unit": "32"}).status_code == 200
    for case in (honest, forged):
        walk(client, town, case["id"])
    with rt.db.write() as session:  # a direct database write, past every service
        case = session.get(Case, forged["id"])
        case.metadata_ = {**case.metadata_, "amount_due": "99999.00", "iban": OTHER_IBAN}
    resp = export(client, town)
    assert resp.status_code == 201, resp.get_json()
    info = resp.get_json()
    assert info["count"] == 1
    assert [r["reference"] for r in info["refused"]] == [forged["reference"]]
    assert "amount_due" in info["refused"][0]["reason"] and "iban" in info["refused"][0]["reason"]
    assert paid(client, town, info) == [(honest["metadata"]["iban"], honest["metadata"]["amount_due"])]
    with rt.db.read() as session:
        assert session.get(InvoicePayment, forged["id"]) is None  # still waiting, not marked paid
    again = export(client, town)
    assert again.status_code == 409 and forged["reference"] in again.get_json()["detail"]
    assert again.get_json()["refused"][0]["reference"] == forged["reference"]
    trail = [e["action"] for e in client.get(f"/api/v1/cases/{forged['id']}/audit?limit=500",
                                             headers=town.auth("anna")).get_json()["items"]]
    assert trail.count("invoice.payment_export_refused") == 2 and "invoice.payment_export" not in trail


def test_anordnung_records_what_it_approved(env) -> None:
    rt, town, client = env
    created = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]
    walk(client, town, created["id"], CHAIN[:4])
    trail = client.get(f"/api/v1/cases/{created['id']}/audit?limit=500", headers=town.auth("anna")).get_json()
    decided = [e["details"] for e in trail["items"] if e["action"] == "workflow.decide"]
    order = next(d for d in decided if d["step"] == "anordnung")
    m = created["metadata"]
    assert order["approved"] == {"amount_due": m["amount_due"], "currency": m["currency"], "iban": m["iban"],
                                 "seller_name": m["seller_name"], "invoice_number": m["invoice_number"]}
    assert all("approved" not in d for d in decided if d["step"] != "anordnung")


def test_return_to_an_earlier_step_voids_later_decisions_and_unfreezes(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:3])  # now at anordnung, for the approvers of unit 32
    assert patch(client, town, case_id, {"iban": OTHER_IBAN}).status_code == 409
    url = f"/api/v1/cases/{case_id}/workflow/return"

    def ret(user: str, **body):  # type: ignore[no-untyped-def]
        return client.post(url, headers=town.auth(user), json=body)

    for user in ("olga", "kurt", "anna"):  # they see the case, but may not act on the Anordnung
        denied = ret(user, target="sachlich", reason="IBAN falsch")
        assert denied.status_code == 403 and "approver" in denied.get_json()["detail"], user
    assert ret("ute", target="sachlich", reason=" ").status_code == 422
    assert ret("ute", target="sachlich").status_code == 422
    unknown = ret("ute", target="zahlung", reason="IBAN falsch")
    assert unknown.status_code == 422 and "sachlich" in unknown.get_json()["detail"]
    assert ret("ute", target="anordnung", reason="IBAN falsch").status_code == 422  # the current step
    with rt.db.read() as session:
        decided = {t.step: t.id for t in session.execute(select(Task).where(Task.case_id == case_id,
                                                                            Task.status == "done")).scalars()}
    done = ret("ute", target="sachlich", reason="IBAN laut Lieferant falsch")
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["returned_from"] == "anordnung" and body["entered"] == "sachlich"
    assert sorted(body["voided"]) == sorted([decided["sachlich"], decided["rechnerisch"]])
    with rt.db.read() as session:
        rows = {t.id: t for t in session.execute(select(Task).where(Task.case_id == case_id)).scalars()}
    assert all(rows[i].status == "done" and rows[i].voided_at is not None for i in body["voided"])  # kept, marked
    assert rows[decided["eingang"]].voided_at is None
    assert [rows[i].status for i in body["cancelled"]] == ["cancelled"]
    wf = client.get(f"/api/v1/cases/{case_id}/workflow", headers=town.auth("anna")).get_json()
    assert wf["current_step"] == "sachlich"
    assert [(e["action"], e["step"]) for e in wf["history"] if e["action"] in ("returned", "voided")] == [
        ("returned", "anordnung"), ("voided", "sachlich"), ("voided", "rechnerisch")]
    assert ret("ute", target="sachlich", reason="again").status_code == 422  # sachlich is now current
    trail = client.get(f"/api/v1/cases/{case_id}/audit?limit=500", headers=town.auth("anna")).get_json()["items"]
    returned = [e for e in trail if e["action"] == "workflow.return"]
    assert len(returned) == 1 and returned[0]["actor"] == "ute"
    assert returned[0]["details"]["reason"] == "IBAN laut Lieferant falsch"

    # Unfrozen: the clerk corrects the IBAN, and the chain is decided anew.
    assert patch(client, town, case_id, {"iban": OTHER_IBAN}).status_code == 200
    walk(client, town, case_id, CHAIN[1:4])
    # A return decision voids too: the cash office sends it back to the Anordnung, whose approval stops counting.
    t = my_task(client, town, "kurt", case_id)
    assert decide(client, town, "kurt", t["id"], "return", "Betrag prüfen").status_code == 200
    with rt.db.read() as session:
        orders = session.execute(select(Task.voided_at).where(Task.case_id == case_id, Task.step == "anordnung",
                                                              Task.status == "done")).scalars().all()
    assert len(orders) == 1 and orders[0] is not None
    walk(client, town, case_id, CHAIN[3:])
    info = export(client, town).get_json()
    assert paid(client, town, info) == [(OTHER_IBAN, TYPED["amount_due"])]


def test_clerk_cannot_forge_checks_or_other_derived_fields(env) -> None:
    rt, town, client = env
    created = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]
    case_id, stored = created["id"], created["metadata"]
    fake = [{"code": "ALL", "ok": True, "severity": "error", "message": "ALL ok"}]
    for change, name in [({"checks": fake}, "checks"), ({"checks": None}, "checks"), ({"source": "paper"}, "source"),
                         ({"iban": OTHER_IBAN}, "iban"), ({"amount_due": "1.00"}, "amount_due")]:
        refused = patch(client, town, case_id, change)
        assert refused.status_code == 422, (change, refused.get_json())
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.get_json()["field"] == f"metadata.{name}" and name in refused.get_json()["detail"]
    assert metadata_of(client, town, case_id) == stored
    assert patch(client, town, case_id, {"checks": stored["checks"]}).status_code == 200  # sent back unchanged
    assert patch(client, town, case_id, {"ordering_unit": "32"}).status_code == 200  # routing is the clerk's

    paper = paper_invoice(client, town)
    assert patch(client, town, paper, {"checks": fake}).get_json()["field"] == "metadata.checks"
    assert patch(client, town, paper, {"source": "xrechnung-ubl"}).status_code == 422
    assert all(c["code"] != "ALL" for c in metadata_of(client, town, paper)["checks"])
    made = client.post("/api/v1/cases", headers=town.auth("anna"), json={
        "file_plan_code": "20.30", "title": "Rechnung", "unit": "20", "case_type": "invoice",
        "metadata": {**TYPED, "checks": fake}})
    assert made.status_code == 422 and made.get_json()["field"] == "metadata.checks"

