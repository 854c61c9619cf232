"""The approval chain cannot be walked around (issue 8, point 1, after review): a return only goes back to a step
approved before the current one, the payment export needs every confirmation it rests on, the approved invoice
document cannot be replaced by a new version, and a deputy's decision counts for four-eyes as the absent
colleague's too."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from eakte.clock import utcnow
from eakte.models import AuditEvent, Task
from tests.helpers import pdf_bytes
from tests.workflows.test_deputies_escalation import deputies, env, invoice_at_sachlich  # noqa: F401 (fixture)
from tests.workflows.test_frozen_fields import CHAIN, export, paper_invoice, walk
from tests.workflows.test_invoice_flow import XR, decide, intake, my_task
from tests.workflows.test_review_attacks import current_step, ret
from workflows.definition import CaseType, Decision, DefinitionError, DocumentKind, Step


def _documents(client, town, case_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/cases/{case_id}/documents", headers=town.auth("anna")).get_json()["items"]


def _new_version(client, town, document_id: int, text: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/documents/{document_id}/versions", headers=town.auth("anna"),
                       content_type="multipart/form-data",
                       data={"file": (io.BytesIO(pdf_bytes(text, text)), "rechnung.pdf")})


def _e_invoice_for_32(client, town) -> int:  # type: ignore[no-untyped-def]
    case_id = intake(client, town, XR / "01.01a-INVOICE_ubl.xml").get_json()["case"]["id"]
    resp = client.patch(f"/api/v1/cases/{case_id}", json={"metadata": {"ordering_unit": "32"}},
                        headers=town.auth("anna"))
    assert resp.status_code == 200, resp.get_json()
    return case_id


# --- the correction path goes back only --------------------------------------------------------------------

def test_return_targets_only_steps_approved_before_the_current_one(env) -> None:
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id, CHAIN[:3])  # at the Anordnung
    for target in ("zahlung", "anordnung", "nowhere"):
        refused = ret(client, town, "ute", case_id, target)
        assert refused.status_code == 422, (target, refused.get_json())
        assert "eingang, sachlich, rechnerisch" in refused.get_json()["detail"]
    assert current_step(client, town, case_id) == "anordnung"
    assert ret(client, town, "ute", case_id, "rechnerisch").status_code == 200
    # rechnerisch was voided by going back to it: from there, only eingang and sachlich lie behind.
    forward = ret(client, town, "anna", case_id, "anordnung")
    assert forward.status_code == 422 and "eingang, sachlich)" in forward.get_json()["detail"]
    assert current_step(client, town, case_id) == "rechnerisch"


# --- the export rests on every confirmation ------------------------------------------------------------------

def test_export_refuses_an_invoice_whose_sachlich_approval_is_not_valid(env) -> None:
    """Defence in depth: even if the workflow got past a step without a valid approval (here: its approval voided
    behind the services' back), the payment export does not pay it, though the Anordnung's values match."""
    rt, town, client = env
    case_id = paper_invoice(client, town)
    walk(client, town, case_id)
    with rt.db.write() as session:
        for task in session.execute(select(Task).where(Task.case_id == case_id, Task.step == "sachlich")).scalars():
            task.voided_at = utcnow()
    refused = export(client, town)
    assert refused.status_code == 409, refused.get_json()
    assert "sachlich" in refused.get_json()["detail"] and "rechnerisch" not in refused.get_json()["detail"]
    with rt.db.read() as session:
        assert session.execute(select(AuditEvent.id).where(
            AuditEvent.case_id == case_id, AuditEvent.action == "invoice.payment_export_refused")).scalar()


# --- the approved invoice document is fixed ------------------------------------------------------------------

def test_the_invoice_document_gets_no_new_version_once_sachlich_is_decided(env) -> None:
    rt, town, client = env
    case_id = _e_invoice_for_32(client, town)
    [invoice] = _documents(client, town, case_id)
    assert invoice["kind"] == "invoice"
    assert _new_version(client, town, invoice["id"], "vor der Prüfung").status_code == 201  # not decided yet
    walk(client, town, case_id, CHAIN[:2])
    refused = _new_version(client, town, invoice["id"], "andere Rechnung")
    assert refused.status_code == 409, refused.get_json()
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = refused.get_json()
    assert problem["step"] == "sachlich" and problem["kind"] == "invoice" and "sachlich" in problem["detail"]
    # A new, different document is still welcome, and so are its versions.
    added = client.post(f"/api/v1/cases/{case_id}/documents", headers=town.auth("anna"),
                        content_type="multipart/form-data",
                        data={"title": "Rückfrage", "kind": "correspondence",
                              "file": (io.BytesIO(pdf_bytes("Rückfrage", "Rückfrage")), "brief.pdf")})
    assert added.status_code == 201, added.get_json()
    assert _new_version(client, town, added.get_json()["id"], "Rückfrage 2").status_code == 201
    versions = client.get(f"/api/v1/documents/{invoice['id']}", headers=town.auth("anna")).get_json()
    assert versions["current_version"] == 2  # the refused upload left no version behind
    # The correction path lifts the lock: returned to eingang, sachlich must confirm the replacement anew.
    at = my_task(client, town, "anna", case_id)
    assert decide(client, town, "anna", at["id"], "return", "Falsche Rechnung").status_code == 200
    assert _new_version(client, town, invoice["id"], "berichtigte Rechnung").status_code == 201


def test_a_document_kind_frozen_after_an_unknown_step_is_refused() -> None:
    with pytest.raises(DefinitionError, match="frozen after unknown step"):
        CaseType("t", "t", "t", document_kinds=(DocumentKind("a", "a", "a", frozen_after="nope"),), start="s",
                 steps=(Step("s", "s", "s", "clerk", decisions=(Decision("ok", "ok", "ok", None),)),)).validate()


# --- four-eyes counts the absent colleague a deputy acted for ---------------------------------------------------

def test_the_absent_colleague_cannot_order_what_their_deputy_confirmed_in_their_name(env) -> None:
    """otto (approver, 32) names olga (clerk, 32) as his deputy; she confirms "sachlich richtig" with his right.
    That confirmation is otto's as far as four-eyes goes: he cannot then order the payment himself."""
    rt, town, client = env
    case_id, sachlich = invoice_at_sachlich(client, town)
    assert deputies(client, town, "otto", "olga").status_code == 200
    assert decide(client, town, "olga", sachlich, "approve").status_code == 200
    rechnerisch = my_task(client, town, "anna", case_id)
    assert decide(client, town, "anna", rechnerisch["id"], "approve").status_code == 200
    anordnung = my_task(client, town, "otto", case_id)
    assert anordnung["step"] == "anordnung"
    otto_may = {d["key"]: d for d in anordnung["decisions"]}  # his inbox already says why not
    assert otto_may["approve"]["allowed"] is False and "four-eyes" in otto_may["approve"]["reason"]
    refused = decide(client, town, "otto", anordnung["id"], "approve")
    assert refused.status_code == 403 and "four-eyes" in refused.get_json()["detail"], refused.get_json()
    assert decide(client, town, "ute", anordnung["id"], "approve").status_code == 200
