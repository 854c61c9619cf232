"""The misallocation levy's API after the notice (levy_payments): objections and their decision, §8 changes and
the cancellation, payments (typed in, or the cash office's CSV), a procedure's schedule and balance, the arrears.
Every rule is the services' (eakte.services.levy.objections, changes, payments)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_levy_payments import (LevyArrearsOut, LevyArrearsQuery, LevyBalanceOut, LevyChangeIn,
                                             LevyChangeOut, LevyImportOut, LevyObjectionDecisionIn, LevyObjectionIn,
                                             LevyObjectionOut, LevyPaymentIn, LevyPaymentOut, LevyPaymentUpload,
                                             LevyReversalIn)
from eakte.clock import office_today
from eakte.services.levy import changes, objections, payments


# The single answers first: apispec names a schema where it first meets it (see routes_followups).

@api.post("/levy/procedures/<int:procedure_id>/objections")
@api.auth_required(token_auth)
@api.input(LevyObjectionIn, arg_name="body")
@api.output(LevyObjectionOut, status_code=201)
@api.doc(summary="Record an objection (Widerspruch) against the newest sent notice: the deadline is computed, a "
                 "late one is flagged (not refused); the procedure goes to the review. Clerks of the levy unit; 409 "
                 "unless the levy runs")
def file_objection(procedure_id: int, body: dict[str, Any]) -> Any:
    return objections.file_objection(current_runtime(), current_actor(), procedure_id, body["received_on"],
                                     body["grounds"]), 201


@api.post("/levy/objections/<int:objection_id>/decision")
@api.auth_required(token_auth)
@api.input(LevyObjectionDecisionIn, arg_name="body")
@api.output(LevyObjectionOut)
@api.doc(summary="Decide an open objection: remedy (a new computation, four-eyes and a new notice follow) or "
                 "rejection (forwarded to the objection authority; the notice stands). Clerks of the levy unit")
def decide_objection(objection_id: int, body: dict[str, Any]) -> Any:
    return objections.decide_objection(current_runtime(), current_actor(), objection_id, body["remedy"],
                                       body["note"], body["forwarded_to"])


@api.post("/levy/procedures/<int:procedure_id>/changes")
@api.auth_required(token_auth)
@api.input(LevyChangeIn, arg_name="body")
@api.output(LevyChangeOut, status_code=201)
@api.doc(summary="Ask for a §8 change from the 1st of a month: the procedure goes back to Berechnung (update the "
                 "household, compute, four-eyes, a change notice from that day)")
def request_change(procedure_id: int, body: dict[str, Any]) -> Any:
    return changes.request_change(current_runtime(), current_actor(), procedure_id, body["effective_from"],
                                  body["reason"]), 201


@api.post("/levy/procedures/<int:procedure_id>/cancellation")
@api.auth_required(token_auth)
@api.input(LevyChangeIn, arg_name="body")
@api.output(LevyChangeOut, status_code=201)
@api.doc(summary="Apply for the cancellation of the levy from the 1st of a month (§8); a second clerk confirms it")
def cancel(procedure_id: int, body: dict[str, Any]) -> Any:
    return changes.cancel(current_runtime(), current_actor(), procedure_id, body["effective_from"],
                          body["reason"]), 201


@api.post("/levy/procedures/<int:procedure_id>/cancellation/confirm")
@api.auth_required(token_auth)
@api.output(LevyChangeOut)
@api.doc(summary="Confirm the cancellation (not by whoever applied for it): the cancellation notice is filed and "
                 "posted, the workflow ends")
def confirm_cancellation(procedure_id: int) -> Any:
    return changes.confirm_cancellation(current_runtime(), current_actor(), procedure_id)


@api.delete("/levy/procedures/<int:procedure_id>/cancellation")
@api.auth_required(token_auth)
@api.output(LevyChangeOut)
@api.doc(summary="Withdraw an application for cancellation not yet confirmed: the levy runs on")
def withdraw_cancellation(procedure_id: int) -> Any:
    return changes.withdraw_cancellation(current_runtime(), current_actor(), procedure_id)


@api.post("/levy/procedures/<int:procedure_id>/payments")
@api.auth_required(token_auth)
@api.input(LevyPaymentIn, arg_name="body")
@api.output(LevyPaymentOut, status_code=201)
@api.doc(summary="Record a payment received (clerks of the levy unit); 409 if a payment of the same amount within "
                 "14 days counts already (imported or typed in), unless `separate` says it is another payment")
def record_payment(procedure_id: int, body: dict[str, Any]) -> Any:
    return payments.record_payment(current_runtime(), current_actor(), procedure_id, body["paid_on"],
                                   body["amount"], body["reference"], separate=body["separate"]), 201


@api.post("/levy/payments/<int:payment_id>/reversal")
@api.auth_required(token_auth)
@api.input(LevyReversalIn, arg_name="body")
@api.output(LevyPaymentOut, status_code=201)
@api.doc(summary="Reverse (Storno) a payment booked in error, with the reason: a reversal names it and neither "
                 "counts in the balance. Clerks of the levy unit; 409 for a reversal, a payment reversed already or "
                 "one the cash office's booking confirmed")
def reverse_payment(payment_id: int, body: dict[str, Any]) -> Any:
    return payments.reverse_payment(current_runtime(), current_actor(), payment_id, body["reason"]), 201


@api.get("/levy/procedures/<int:procedure_id>/payments")
@api.auth_required(token_auth)
@api.output(LevyBalanceOut)
@api.doc(summary="A procedure's expected monthly amounts (per notice), its payments and its balance today")
def procedure_payments(procedure_id: int) -> Any:
    return payments.procedure_balance(current_runtime(), current_actor(), procedure_id)


@api.post("/levy/payments/import")
@api.auth_required(token_auth)
@api.input(LevyPaymentUpload, location="form_and_files", arg_name="form")
@api.output(LevyImportOut)
@api.doc(summary="Import the cash office's CSV: matched lines are booked, duplicates (a booking number imported "
                 "already) and unmatched lines reported; a malformed file books nothing (422 naming the line and "
                 "column). Clerks of the levy unit")
def import_payments(form: dict[str, Any]) -> Any:
    upload = form["file"]
    report = payments.import_payments(current_runtime(), current_actor(), upload.stream, upload.filename or None)
    return {"sha256": report.sha256, "lines": report.lines, "imported": report.imported,
            "problems": report.problems, "total": report.total}


@api.get("/levy/arrears")
@api.auth_required(token_auth)
@api.input(LevyArrearsQuery, location="query", arg_name="query")
@api.output(LevyArrearsOut)
@api.doc(summary="The procedures in arrears (due to date more than paid), the oldest unpaid month first "
                 "(clerks of the levy unit, auditors)")
def arrears(query: dict[str, Any]) -> Any:
    today = query["today"] or office_today()
    rows = payments.arrears(current_runtime(), current_actor(), today)
    return {"today": today, "items": rows, "total": sum((r.amount for r in rows), Decimal("0.00"))}
