"""The trade register's API: intake of notifications (GewA 1–3), the register's businesses with their entry,
history and notifications, the authority's own deregistration, and holding a notification in Prüfung. Every rule
is the services' (eakte.services.trade); the steps are decided with POST /api/v1/tasks/{id}/complete."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_trade import (ANMELDUNG_EXAMPLE, BusinessList, BusinessOut, BusinessQuery, DeregistrationIn,
                                     HoldIn, TradeIntakeOut, NotificationAnswer, NotificationIn)
from eakte.services.trade import intake, queries


def _procedure_out(summary: queries.NotificationSummary) -> dict[str, Any]:
    p = summary.procedure
    return {"id": p.id, "reference": p.reference, "title": p.title, "status": p.status,
            "notification": summary.notification, "received_on": summary.received_on, "source": summary.source,
            "workflow_status": summary.workflow_status, "step": summary.step, "step_label_de": summary.step_label_de,
            "step_label_en": summary.step_label_en,
            "open_task_id": summary.open_task_id, "due_at": summary.due_at, "overdue": summary.overdue,
            "hold": summary.hold, "receipt_document_id": summary.receipt_document_id,
            "entry_version": summary.entry_version, "transmissions": summary.transmissions}


def _intake_out(result: intake.IntakeResult) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    page = queries.notification_page(rt, actor, result.procedure.id)
    return {"created": result.created, "business": queries.business_row(page.case),
            "procedure": _procedure_out(page.summary)}


# The single answers first: apispec names a schema where it first meets it (see routes_followups).

@api.get("/trade/procedures/<int:procedure_id>")
@api.auth_required(token_auth)
@api.output(NotificationAnswer)
@api.doc(summary="A notification (its procedure): step, due date, hold, receipt, transmissions")
def get_notification(procedure_id: int) -> dict[str, Any]:
    return _procedure_out(queries.notification_page(current_runtime(), current_actor(), procedure_id).summary)


@api.post("/intake/trade")
@api.auth_required(token_auth)
@api.input(NotificationIn, arg_name="body", example=ANMELDUNG_EXAMPLE)
@api.output(TradeIntakeOut, status_code=201)
@api.doc(summary="Take in a trade notification (GewA 1 Anmeldung creates the business; GewA 2 Ummeldung and GewA 3 "
                 "Abmeldung name an active business by business_id); clerks of the trade unit. 422 names the "
                 "field, e.g. business_id of an unknown or closed business")
def submit(body: dict[str, Any]) -> Any:
    return _intake_out(intake.submit_notification(current_runtime(), current_actor(), body, source="api")), 201


@api.get("/trade/businesses")
@api.auth_required(token_auth)
@api.input(BusinessQuery, location="query", arg_name="query")
@api.output(BusinessList)
@api.doc(summary="The register's businesses: q searches name, owners, address, activity and business ID; "
                 "filters status, business_type, activity")
def list_businesses(query: dict[str, Any]) -> dict[str, Any]:
    flt = queries.BusinessFilter(q=query["q"], status=query["status"], business_type=query["business_type"],
                                 activity=query["activity"])
    rows, total = queries.list_businesses(current_runtime(), current_actor(), flt, offset=query["offset"],
                                          limit=query["limit"])
    return {"items": rows, "total": total, "offset": query["offset"], "limit": query["limit"]}


@api.get("/trade/businesses/<int:case_id>")
@api.auth_required(token_auth)
@api.output(BusinessOut)
@api.doc(summary="A business: its current register entry, every earlier version with its changes, its "
                 "notifications with their step, receipt and transmissions")
def get_business(case_id: int) -> dict[str, Any]:
    page = queries.business_page(current_runtime(), current_actor(), case_id)
    return {"business": page.row, "entry": dict(page.current.data) if page.current else None,
            "history": [{"version": h.entry.version, "notification": h.entry.notification,
                         "valid_from": h.entry.valid_from, "status": h.entry.status,
                         "recorded_at": h.entry.recorded_at, "recorded_by": h.recorded_by,
                         "procedure_id": h.entry.procedure_id, "procedure_reference": h.procedure_reference,
                         "data": h.entry.data, "changes": [{"field": c.field, "label_de": c.label_de, "old": c.old,
                                                            "new": c.new} for c in h.changes]}
                        for h in page.history],
            "procedures": [_procedure_out(s) for s in page.procedures],
            "documents": [{"id": d.id, "title": d.title, "kind": d.kind, "procedure_id": d.procedure_id}
                          for d in page.documents]}


@api.post("/trade/businesses/<int:case_id>/deregistration")
@api.auth_required(token_auth)
@api.input(DeregistrationIn, arg_name="body")
@api.output(TradeIntakeOut, status_code=201)
@api.doc(summary="Deregister a business of the authority's own accord (GewO §14(4)): a GewA 3 von Amts wegen")
def deregister(case_id: int, body: dict[str, Any]) -> Any:
    result = intake.ex_officio_deregistration(current_runtime(), current_actor(), case_id, body["effective_on"],
                                              body["reason_text"])
    return _intake_out(result), 201


@api.post("/trade/procedures/<int:procedure_id>/hold")
@api.auth_required(token_auth)
@api.input(HoldIn, arg_name="body")
@api.output(NotificationAnswer)
@api.doc(summary="Put a notification in Prüfung on hold for missing documents (a note and a follow-up); 409 in "
                 "any other step")
def hold(procedure_id: int, body: dict[str, Any]) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    intake.hold(rt, actor, procedure_id, body["missing"], body["follow_up_on"], body["note"])
    return _procedure_out(queries.notification_page(rt, actor, procedure_id).summary)


@api.post("/trade/procedures/<int:procedure_id>/resume")
@api.auth_required(token_auth)
@api.output(NotificationAnswer)
@api.doc(summary="End a notification's hold (its follow-up is done); 409 when it is not on hold")
def resume(procedure_id: int) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    intake.resume(rt, actor, procedure_id)
    return _procedure_out(queries.notification_page(rt, actor, procedure_id).summary)
