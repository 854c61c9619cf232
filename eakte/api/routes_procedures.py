"""Procedures (Vorgänge) and sub-files (Teilakten) of a case; uploading into them; moving documents."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime, upload_into
from eakte.api.schemas import (DocumentOut, DocumentUpload, IngestOut, MoveIn, ProcedureIn, ProcedureList,
                               ProcedureOut, ProcedurePatch)
from eakte.api.views import document_view
from eakte.models import Procedure
from eakte.services import procedures


def procedure_view(procedure: Procedure) -> dict[str, Any]:
    return {"id": procedure.id, "case_id": procedure.case_id, "number": procedure.number,
            "reference": procedure.reference, "kind": procedure.kind, "subfile": procedure.subfile,
            "title": procedure.title, "status": procedure.status, "created_at": procedure.created_at,
            "updated_at": procedure.updated_at, "closed_at": procedure.closed_at}


@api.get("/cases/<int:case_id>/procedures")
@api.auth_required(token_auth)
@api.output(ProcedureList)
@api.doc(summary="The procedures and sub-files of a case the caller may see, by number")
def list_procedures(case_id: int) -> dict[str, Any]:
    rows = procedures.case_procedures(current_runtime(), current_actor(), case_id)
    return {"items": [procedure_view(p) for p in rows]}


@api.post("/cases/<int:case_id>/procedures")
@api.auth_required(token_auth)
@api.input(ProcedureIn, arg_name="body")
@api.output(ProcedureOut, status_code=201)
@api.doc(summary="Open a procedure (Vorgang) in an open case; its reference is <case reference>-<number> "
                 "(not for case types that declare sub-files)")
def create_procedure(case_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return procedure_view(procedures.open_procedure(current_runtime(), current_actor(), case_id, body["title"]))


@api.get("/procedures/<int:procedure_id>")
@api.auth_required(token_auth)
@api.output(ProcedureOut)
@api.doc(summary="One procedure or sub-file")
def get_procedure(procedure_id: int) -> dict[str, Any]:
    return procedure_view(procedures.read_procedure(current_runtime(), current_actor(), procedure_id))


@api.patch("/procedures/<int:procedure_id>")
@api.auth_required(token_auth)
@api.input(ProcedurePatch, arg_name="body")
@api.output(ProcedureOut)
@api.doc(summary="Rename, close or reopen a procedure (clerks of the case's unit, case open)",
         description="A procedure a workflow runs on (e.g. a trade notification) is closed by that workflow: "
                     "closing or renaming it by hand is a 409 while it runs.")
def patch_procedure(procedure_id: int, body: dict[str, Any]) -> dict[str, Any]:
    changes = procedures.ProcedureChanges(title=body.get("title"), status=body.get("status"))
    return procedure_view(procedures.change_procedure(current_runtime(), current_actor(), procedure_id, changes))


@api.post("/procedures/<int:procedure_id>/documents")
@api.auth_required(token_auth)
@api.input(DocumentUpload, location="form_and_files", arg_name="form")
@api.output(IngestOut, status_code=201)
@api.doc(summary="Upload a document into an open procedure; as the case's upload otherwise")
def upload_into_procedure(procedure_id: int, form: dict[str, Any]) -> dict[str, Any]:
    procedure = procedures.read_procedure(current_runtime(), current_actor(), procedure_id)
    return upload_into(procedure.case_id, form, procedure.id)


@api.post("/documents/<int:document_id>/move")
@api.auth_required(token_auth)
@api.input(MoveIn, arg_name="body")
@api.output(DocumentOut)
@api.doc(summary="Move a document to the case level (procedure_id null) or into another open procedure/sub-file "
                 "of its case; its versions stay as they are (audited)")
def move_document(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    rt, actor = current_runtime(), current_actor()
    document = procedures.move(rt, actor, document_id, body["procedure_id"])
    return document_view(document, {actor.principal.user_id: actor.principal.username})
