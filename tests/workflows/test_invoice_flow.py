"""Invoices end to end over the API: intake of every sample, checks, the approval chain with its guards,
duplicates, bad input, plain PDFs, escalation and the payment export."""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from eakte.app import create_app
from eakte.models import Case, Document
from eakte.services import identity, workflow
from tests.conftest import OPERATOR, TESTDATA, build_town, make_runtime
from tests.helpers import pdf_bytes
from workflows.invoice.parse import parse_invoice_file

XR = TESTDATA / "xrechnung"
ZF = TESTDATA / "zugferd"
SAMPLES = sorted(XR.glob("*.xml")) + sorted(ZF.glob("*.xml")) + sorted(ZF.glob("*.pdf"))
DEBTOR = {"debtor_name": "Gemeinde Musterstadt", "debtor_iban": "DE89370400440532013000", "debtor_bic": "HELADEF1822"}
INVOICE_SETTINGS = {"invoice": {"routing": {"12345": "32"}, **DEBTOR}}
EXTRA_USERS = {
    "mia": [("32", "approver"), ("20", "clerk")],   # could do sachlich and rechnerisch: four-eyes must stop her
    "otto": [("32", "approver")],
    "ute": [("32", "approver")],
    "hans": [("32", "approver"), ("32", "head_of_unit")],
    "kurt": [("20", "clerk")],
}


@pytest.fixture
def env(tmp_path, db_url):  # type: ignore[no-untyped-def]
    rt = make_runtime(tmp_path, db_url, case_types=INVOICE_SETTINGS)
    town = build_town(rt)
    with rt.db.write() as session:
        for name, roles in EXTRA_USERS.items():
            user = identity.create_user(session, OPERATOR, name, roles=[identity.UnitRole(u, r) for u, r in roles],
                                        known_roles=rt.registry.roles)
            town.tokens[name] = identity.issue_token(session, OPERATOR, user)
    yield rt, town, create_app(rt).test_client()
    rt.close()


def intake(client, town, path: Path, user: str = "anna", **form):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/intake/invoice", headers=town.auth(user), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(path.read_bytes()), path.name), **form})


def my_task(client, town, user: str, case_id: int) -> dict:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/inbox", headers=town.auth(user)).get_json()["items"]
    return next(t for t in items if t["case_id"] == case_id)


def decide(client, town, user: str, task_id: int, decision: str, comment: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=town.auth(user),
                       json={"decision": decision, "comment": comment})


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_becomes_an_invoice_case(env, sample: Path) -> None:
    rt, town, client = env
    resp = intake(client, town, sample)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    expected = parse_invoice_file(sample, "application/pdf" if sample.suffix == ".pdf" else "text/xml")
    assert expected is not None
    stored = body["case"]["metadata"]
    for key, value in expected.to_metadata().items():
        if value is not None and value != []:
            assert stored[key] == value, key
    assert body["case"]["case_type"] == "invoice" and body["structured"] is True
    assert body["case"]["reference"].startswith("20.30/")
    assert {c["code"] for c in body["checks"]} >= {"BR-DE-15", "BR-CO-15"}
    assert body["document"]["version"]["sha256"]


def test_full_approval_chain_with_guards_and_export(env) -> None:
    rt, town, client = env
    created = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()
    case_id = created["case"]["id"]
    assert created["case"]["metadata"]["ordering_unit"] == "32"  # routed by the Leitweg-ID's fine part
    assert all(c["ok"] for c in created["checks"] if c["severity"] == "error")

    t = my_task(client, town, "anna", case_id)
    assert t["step"] == "eingang" and t["checks"]
    assert decide(client, town, "anna", t["id"], "forward").status_code == 200

    # sachlich richtig: the ordering unit; mia decides it.
    assert not any(x["case_id"] == case_id for x in client.get("/api/v1/inbox", headers=town.auth("anna"))
                   .get_json()["items"])
    t = my_task(client, town, "mia", case_id)
    assert t["step"] == "sachlich"
    assert decide(client, town, "mia", t["id"], "approve").status_code == 200

    # rechnerisch richtig: mia is a finance clerk too, but four-eyes refuses her.
    t = my_task(client, town, "mia", case_id)
    assert t["step"] == "rechnerisch"
    offered = {d["key"]: d for d in t["decisions"]}
    assert offered["approve"]["allowed"] is False and "four-eyes" in offered["approve"]["reason"]
    refused = decide(client, town, "mia", t["id"], "approve")
    assert refused.status_code == 403 and "four-eyes" in refused.get_json()["detail"]
    assert "Vier-Augen" in refused.get_json()["detail_de"]
    assert decide(client, town, "anna", t["id"], "approve").status_code == 200

    t = my_task(client, town, "otto", case_id)
    assert t["step"] == "anordnung"
    assert decide(client, town, "mia", t["id"], "approve").status_code == 403  # sachlich was hers
    assert decide(client, town, "otto", t["id"], "approve").status_code == 200

    t = my_task(client, town, "kurt", case_id)
    assert t["step"] == "zahlung"
    assert decide(client, town, "anna", t["id"], "release").status_code == 403  # anna decided rechnerisch
    done = decide(client, town, "kurt", t["id"], "release").get_json()
    assert done["finished"] == "completed"

    wf = client.get(f"/api/v1/cases/{case_id}/workflow", headers=town.auth("anna")).get_json()
    assert wf["status"] == "completed" and wf["open_tasks"] == []
    assert [(e["step"], e["actor"]) for e in wf["history"] if e["action"] == "decided"] == [
        ("eingang", "anna"), ("sachlich", "mia"), ("rechnerisch", "anna"), ("anordnung", "otto"),
        ("zahlung", "kurt")]

    export = client.post("/api/v1/invoices/payment-exports", json={}, headers=town.auth("kurt"))
    assert export.status_code == 201, export.get_json()
    info = export.get_json()
    assert info["count"] == 1 and info["total"] == created["case"]["metadata"]["amount_due"]
    rows = list(csv.reader(io.StringIO(client.get(info["csv"], headers=town.auth("kurt")).data.decode("utf-8-sig")),
                           delimiter=";"))
    assert rows[1][0] == created["case"]["reference"]
    xml = etree.fromstring(client.get(info["pain001"], headers=town.auth("kurt")).data)
    ns = {"p": xml.nsmap[None]}
    assert xml.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "1"
    assert xml.findtext(".//p:CdtrAcct/p:Id/p:IBAN", namespaces=ns) == created["case"]["metadata"]["iban"]
    again = client.post("/api/v1/invoices/payment-exports", json={}, headers=town.auth("kurt"))
    assert again.status_code == 409  # exported once only
    assert client.post("/api/v1/invoices/payment-exports", json={}, headers=town.auth("otto")).status_code == 403

    trail = [e["action"] for e in client.get(f"/api/v1/cases/{case_id}/audit?limit=500",
                                             headers=town.auth("anna")).get_json()["items"]]
    for action in ["case.create", "document.create", "workflow.start", "invoice.intake", "workflow.decide",
                   "invoice.payment_export"]:
        assert action in trail, action
    assert trail.count("workflow.decide") == 5


def test_value_tier_needs_stronger_role(env) -> None:
    rt, town, client = env
    case_id = intake(client, town, XR / "01.05a-INVOICE_ubl.xml").get_json()["case"]["id"]  # 10,555.30 EUR
    client.patch(f"/api/v1/cases/{case_id}", json={"metadata": {"ordering_unit": "32"}}, headers=town.auth("anna"))
    for user, step, decision in [("anna", "eingang", "forward"), ("otto", "sachlich", "approve"),
                                 ("anna", "rechnerisch", "approve")]:
        t = my_task(client, town, user, case_id)
        assert t["step"] == step
        assert decide(client, town, user, t["id"], decision).status_code == 200
    t = my_task(client, town, "ute", case_id)
    refused = decide(client, town, "ute", t["id"], "approve")
    assert refused.status_code == 403 and "head_of_unit" in refused.get_json()["detail"]
    assert decide(client, town, "hans", t["id"], "approve").status_code == 200


def test_reject_and_return_need_a_reason(env) -> None:
    rt, town, client = env
    case_id = intake(client, town, XR / "01.02a-INVOICE_ubl.xml").get_json()["case"]["id"]
    t = my_task(client, town, "anna", case_id)
    unrouted = decide(client, town, "anna", t["id"], "forward")  # its Leitweg-ID routes nowhere
    assert unrouted.status_code == 422 and "ordering_unit" in unrouted.get_json()["detail"]
    client.patch(f"/api/v1/cases/{case_id}", json={"metadata": {"ordering_unit": "32"}}, headers=town.auth("anna"))
    decide(client, town, "anna", t["id"], "forward")
    t = my_task(client, town, "otto", case_id)
    bad = decide(client, town, "otto", t["id"], "return")
    assert bad.status_code == 422 and "comment" in bad.get_json()["detail"]
    assert decide(client, town, "otto", t["id"], "fly").status_code == 422
    assert decide(client, town, "otto", t["id"], "return", "Lieferung unvollständig").get_json()["entered"] == "eingang"
    t = my_task(client, town, "anna", case_id)
    rejected = decide(client, town, "anna", t["id"], "reject", "Nicht bestellt").get_json()
    assert rejected["finished"] == "rejected"
    assert decide(client, town, "anna", t["id"], "reject", "x").status_code == 409


def test_duplicate_is_refused_unless_overridden(env) -> None:
    rt, town, client = env
    first = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()
    dup = intake(client, town, XR / "01.01a-INVOICE_uncefact.xml")  # the same invoice in the other syntax
    assert dup.status_code == 409
    assert first["case"]["reference"] in dup.get_json()["detail"]
    assert dup.get_json()["duplicate_of"] == first["case"]["reference"]
    ok = intake(client, town, XR / "01.01a-INVOICE_uncefact.xml", duplicate_reason="Korrigierte Zweitschrift")
    assert ok.status_code == 201
    assert ok.get_json()["case"]["metadata"]["duplicate_override"] == "Korrigierte Zweitschrift"


def _nothing_stored(rt) -> bool:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        no_rows = session.execute(select(func.count()).select_from(Case)).scalar() == 0 and \
            session.execute(select(func.count()).select_from(Document)).scalar() == 0
    blobs = rt.settings.local_blob_path / "sha256"
    return no_rows and not (blobs.exists() and any(p.is_file() for p in blobs.rglob("*")))


@pytest.mark.parametrize("content, needle", [
    (b"<?xml version='1.0'?><Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'><unclosed>",
     "not a readable invoice"),
    (b"<?xml version='1.0'?><order><id>1</id></order>", "order"),
])
def test_bad_xml_gets_clear_error_and_leaves_nothing(env, content: bytes, needle: str) -> None:
    rt, town, client = env
    resp = client.post("/api/v1/intake/invoice", headers=town.auth("anna"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "rechnung.xml")})
    assert resp.status_code == 422, resp.get_json()
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert needle in resp.get_json()["detail"]
    assert _nothing_stored(rt)


def test_plain_pdf_waits_for_typed_fields(env) -> None:
    rt, town, client = env
    resp = client.post("/api/v1/intake/invoice", headers=town.auth("anna"), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf_bytes("Rechnung 4711")), "scan.pdf")})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["structured"] is False and body["case"]["metadata"]["source"] == "paper"
    case_id = body["case"]["id"]
    t = my_task(client, town, "anna", case_id)
    refused = decide(client, town, "anna", t["id"], "forward")
    assert refused.status_code == 422 and "invoice_number" in refused.get_json()["detail"]
    bad = client.patch(f"/api/v1/cases/{case_id}", headers=town.auth("anna"), json={"metadata": {"iban": "DE00"}})
    assert bad.status_code == 422 and "metadata.iban" in bad.get_json()["detail"]
    typed = {"invoice_number": "4711", "issue_date": "2026-11-02", "currency": "EUR", "seller_name": "Bau GmbH",
             "total_net": "100.00", "total_vat": "19.00", "total_gross": "119.00", "amount_due": "119.00",
             "iban": "DE89370400440532013000", "ordering_unit": "32", "buyer_reference": "04011000-1234512345-06"}
    patched = client.patch(f"/api/v1/cases/{case_id}", headers=town.auth("anna"), json={"metadata": typed})
    assert patched.status_code == 200, patched.get_json()
    checks = {c["code"]: c["ok"] for c in patched.get_json()["metadata"]["checks"]}
    assert checks.get("BR-CO-15") is True
    assert decide(client, town, "anna", t["id"], "forward").status_code == 200


def test_overdue_task_escalates_once(env) -> None:
    rt, town, client = env
    case_id = intake(client, town, XR / "01.07a-INVOICE_ubl.xml").get_json()["case"]["id"]  # due 2016-08-14
    t = my_task(client, town, "anna", case_id)
    assert t["overdue"] is True and t["escalated"] is False
    assert client.get("/api/v1/inbox?overdue=true", headers=town.auth("anna")).get_json()["total"] == 1
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, "leiter", known_roles=rt.registry.roles,
                                    roles=[identity.UnitRole("20", "head_of_unit")])
        town.tokens["leiter"] = identity.issue_token(session, OPERATOR, user)
    assert client.get("/api/v1/inbox", headers=town.auth("leiter")).get_json()["total"] == 0
    assert workflow.escalate_overdue(rt, dt.datetime(2030, 1, 1)) == 1
    assert workflow.escalate_overdue(rt, dt.datetime(2030, 1, 1)) == 0  # idempotent
    esc = client.get("/api/v1/inbox", headers=town.auth("leiter")).get_json()
    assert esc["total"] == 1 and esc["items"][0]["escalated"] is True
    trail = [e["action"] for e in client.get(f"/api/v1/cases/{case_id}/audit?limit=500",
                                             headers=town.auth("anna")).get_json()["items"]]
    assert trail.count("workflow.escalate") == 1


def test_inbox_claim_deputy_and_counts(env) -> None:
    rt, town, client = env
    ids = [intake(client, town, XR / name).get_json()["case"]["id"]
           for name in ["01.02a-INVOICE_ubl.xml", "01.03a-INVOICE_ubl.xml"]]
    inbox = client.get("/api/v1/inbox", headers=town.auth("anna")).get_json()
    assert inbox["total"] == 2 and inbox["counts"] == {"invoice": 2}
    assert client.get("/api/v1/inbox?step=sachlich", headers=town.auth("anna")).get_json()["total"] == 0
    task = my_task(client, town, "anna", ids[0])
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=town.auth("anna")).status_code == 204
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=town.auth("kurt")).status_code == 409
    assert client.get("/api/v1/inbox", headers=town.auth("kurt")).get_json()["total"] == 1  # claimed: not his
    assert decide(client, town, "kurt", task["id"], "forward").status_code == 409
    assert client.post(f"/api/v1/tasks/{task['id']}/release", headers=town.auth("kurt")).status_code == 403
    assert client.post(f"/api/v1/tasks/{task['id']}/release", headers=town.auth("anna")).status_code == 204
    # bernd (Kämmerei approver, no clerk role) sees nothing until he deputises for anna.
    assert client.get("/api/v1/inbox", headers=town.auth("bernd")).get_json()["total"] == 0
    today = dt.date.today()
    put = client.put("/api/v1/me/deputies", headers=town.auth("anna"), json={"deputies": [
        {"user": "bernd", "from": (today - dt.timedelta(days=1)).isoformat(),
         "to": (today + dt.timedelta(days=7)).isoformat()}]})
    assert put.status_code == 200
    assert client.get("/api/v1/inbox", headers=town.auth("bernd")).get_json()["total"] == 2
    bad = client.put("/api/v1/me/deputies", headers=town.auth("anna"), json={"deputies": [
        {"user": "bernd", "from": "2026-12-10", "to": "2026-12-01"}]})
    assert bad.status_code == 422
    # An outsider sees neither the tasks nor the cases.
    assert client.get("/api/v1/inbox", headers=town.auth("olga")).get_json()["total"] == 0
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", headers=town.auth("olga"),
                       json={"decision": "forward"}).status_code == 404


def test_case_types_endpoint(env) -> None:
    rt, town, client = env
    items = {t["key"]: t for t in client.get("/api/v1/case-types", headers=town.auth("anna")).get_json()["items"]}
    assert {"general", "invoice"} <= set(items)
    invoice = items["invoice"]
    assert [s["key"] for s in invoice["steps"]] == ["eingang", "sachlich", "rechnerisch", "anordnung", "zahlung"]
    assert {f["name"] for f in invoice["fields"]} >= {"invoice_number", "amount_due", "iban", "skonto"}
    bad = client.post("/api/v1/cases", headers=town.auth("anna"), json={
        "file_plan_code": "20.30", "title": "x", "unit": "20", "case_type": "nope"})
    assert bad.status_code == 422 and "case_type" in bad.get_json()["detail"]
    bad_meta = client.post("/api/v1/cases", headers=town.auth("anna"), json={
        "file_plan_code": "20.30", "title": "x", "unit": "20", "case_type": "invoice",
        "metadata": {"total_gross": "viel"}})
    assert bad_meta.status_code == 422 and "metadata.total_gross" in bad_meta.get_json()["detail"]




def test_cli_payment_export(env, tmp_path) -> None:
    from click.testing import CliRunner

    from eakte.cli import main
    rt, town, client = env
    case_id = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]["id"]
    for user, decision in [("anna", "forward"), ("otto", "approve"), ("anna", "approve"), ("ute", "approve"),
                           ("kurt", "release")]:
        assert decide(client, town, user, my_task(client, town, user, case_id)["id"], decision).status_code == 200
    env_vars = {"EAKTE_DATA_DIR": str(rt.settings.data_dir), "EAKTE_DATABASE_URL": rt.settings.database_url,
                "EAKTE_JOBS__BACKEND": "immediate",
                **{f"EAKTE_CASE_TYPES__INVOICE__{k.upper()}": v for k, v in DEBTOR.items()}}
    out = CliRunner().invoke(main, ["invoices", "export-payments", "--user", "kurt", "--out-dir", str(tmp_path)],
                             env=env_vars)
    assert out.exit_code == 0, out.output
    files = sorted(p.suffix for p in tmp_path.iterdir() if p.name.startswith("zahlungen-"))
    assert files == [".csv", ".xml"] and "1 invoices" in out.output
    again = CliRunner().invoke(main, ["invoices", "export-payments", "--user", "kurt"], env=env_vars)
    assert again.exit_code == 1 and "no released invoices" in again.stderr
    # The export files are records too: gc keeps them, verify checks them.
    gc = CliRunner().invoke(main, ["storage", "gc", "--grace-hours", "0"], env=env_vars)
    assert gc.exit_code == 0 and "0 blobs removed" in gc.output
    assert "All 3 blobs intact." in CliRunner().invoke(main, ["storage", "verify"], env=env_vars).output
