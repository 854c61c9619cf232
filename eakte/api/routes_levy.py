"""The misallocation levy's API (levy): the procedures (list, one with its household, computations, notices),
recording the household and computing. Every rule is the services' (eakte.services.levy); the steps are decided
with POST /api/v1/tasks/{id}/complete, the income evidence is uploaded with POST /api/v1/procedures/{id}/documents
(kind income_evidence)."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas_levy import HouseholdIn, LevyList, LevyQuery, ProcedureAnswer
from eakte.services.levy import assessment, household, queries


def procedure_out(view: queries.ProcedureView) -> dict[str, Any]:
    return {**vars(view.row), "flat": view.flat, "household": view.household, "answered_on": view.answered_on,
            "reference_date": view.reference_date, "deadline": view.deadline, "pending": view.pending,
            "assessments": [{"id": a.row.id, "number": a.row.number, "kind": a.row.kind,
                             "effective_from": a.row.effective_from, "inputs": a.row.inputs, "result": a.row.result,
                             "monthly_levy": a.row.monthly_levy, "table_version": a.row.table_version,
                             "table_sha256": a.row.table_sha256, "tables_confirmed": a.confirmed,
                             "computed_at": a.row.computed_at, "computed_by": a.computed_by}
                            for a in view.assessments],
            "notices": view.notices, "objections": view.objections, "payments": view.payments,
            "evidence": view.evidence, "may_edit_household": view.may_edit_household,
            "may_compute": view.may_compute, "may_upload": view.may_upload}


def _view(procedure_id: int) -> dict[str, Any]:
    return procedure_out(queries.procedure_view(current_runtime(), current_actor(), procedure_id))


# The single answer first: apispec names a schema where it first meets it (see routes_followups).

@api.get("/levy/procedures/<int:procedure_id>")
@api.auth_required(token_auth)
@api.output(ProcedureAnswer)
@api.doc(summary="A levy procedure: the flat, the household, the step and its open task, every computation with "
                 "its inputs and result, the notices (document ids), objections and payments")
def get_levy_procedure(procedure_id: int) -> dict[str, Any]:
    return _view(procedure_id)


@api.get("/levy/procedures")
@api.auth_required(token_auth)
@api.input(LevyQuery, location="query", arg_name="query")
@api.output(LevyList)
@api.doc(summary="The levy procedures the caller may see (soonest due first): filters step, overdue, q")
def list_levy_procedures(query: dict[str, Any]) -> dict[str, Any]:
    flt = queries.LevyFilter(step=query["step"], overdue=query["overdue"], q=query["q"])
    rows, total = queries.levy_list(current_runtime(), current_actor(), flt, offset=query["offset"],
                                    limit=query["limit"])
    return {"items": rows, "total": total, "offset": query["offset"], "limit": query["limit"]}


@api.put("/levy/procedures/<int:procedure_id>/household")
@api.auth_required(token_auth)
@api.input(HouseholdIn, arg_name="body")
@api.output(ProcedureAnswer)
@api.doc(summary="Record the household (members, incomes, transfer benefits, temporary use): clerks of the levy "
                 "unit in Erhebung, Prüfung or Berechnung (409 otherwise); 422 names the field, e.g. "
                 "members[1].annual_income")
def put_household(procedure_id: int, body: dict[str, Any]) -> dict[str, Any]:
    household.record_household(current_runtime(), current_actor(), procedure_id, body)
    return _view(procedure_id)


@api.post("/levy/procedures/<int:procedure_id>/assessment")
@api.auth_required(token_auth)
@api.output(ProcedureAnswer, status_code=201)
@api.doc(summary="Compute the levy in step Berechnung (409 otherwise) with the tables in force; records every "
                 "input, the result and the table version. 422 names the field the data lack")
def post_assessment(procedure_id: int) -> Any:
    assessment.compute(current_runtime(), current_actor(), procedure_id)
    return _view(procedure_id), 201
