"""Adverse items (nachteilige Vorgänge: complaints, warnings) of a personnel file: filed for the hearing, the
employee's statement or that they declined, taken into the file, removed on application or as unfounded. Every
rule is the service's (eakte.services.adverse); a step the rules do not allow now is a 409."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields, validators

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import _upload, api, current_runtime
from eakte.api.schemas import RowId, Strict
from eakte.services import adverse


class AdverseItemUpload(Schema):
    file = fields.File(required=True)
    title = fields.String(required=True, validate=validators.Length(min=1, max=500))
    kind = fields.String(required=True, metadata={"description": ", ".join(adverse.ADVERSE_KINDS)})
    procedure_id = RowId(load_default=None, allow_none=True,
                         metadata={"description": "a sub-file or procedure of this file; none: the Grundakte"})
    document_date = fields.Date(load_default=None)


class StatementUpload(Schema):
    file = fields.File(load_default=None, metadata={"description": "the employee's statement"})
    declined = fields.Boolean(load_default=False, metadata={
        "description": "true: the employee declined to give a statement (then no file)"})


class RemoveIn(Strict):
    ground = fields.String(required=True, metadata={
        "description": "application (the employee's, from the removal date) or unfounded (at once)"})


class AdverseItemOut(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    procedure_id = fields.Integer(allow_none=True)
    kind = fields.String()
    status = fields.String(metadata={"description": "hearing, filed or removed"})
    title = fields.String(allow_none=True, metadata={"description": "the item document's title; null once removed"})
    document_id = fields.Integer(allow_none=True)
    statement_document_id = fields.Integer(allow_none=True)
    statement_declined = fields.Boolean()
    hearing_due_on = fields.Date()
    heard_at = fields.DateTime(allow_none=True)
    heard_by = fields.String(allow_none=True)
    filed_at = fields.DateTime(allow_none=True)
    filed_by = fields.String(allow_none=True)
    removal_due_on = fields.Date(allow_none=True, metadata={"description": "from this day removal on application"})
    removed_at = fields.DateTime(allow_none=True)
    removed_by = fields.String(allow_none=True)
    removal_ground = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    followup_id = fields.Integer(allow_none=True, metadata={"description": "the hearing's follow-up (Postkorb)"})
    may_record_hearing = fields.Boolean()
    may_file = fields.Boolean()
    may_remove_on_application = fields.Boolean()
    may_remove_unfounded = fields.Boolean()


class AdverseItemList(Schema):
    items = fields.List(fields.Nested(AdverseItemOut))


@api.post("/cases/<int:case_id>/adverse-items")
@api.auth_required(token_auth)
@api.input(AdverseItemUpload, location="form_and_files", arg_name="form")
@api.output(AdverseItemOut, status_code=201)
@api.doc(summary="File an adverse item (complaint, warning) for the employee's hearing, with its document")
def file_item(case_id: int, form: dict[str, Any]) -> Any:
    return adverse.file_item(current_runtime(), current_actor(), case_id, adverse.NewAdverseItem(
        title=form["title"], kind=form["kind"], procedure_id=form["procedure_id"],
        document_date=form["document_date"]), _upload(form["file"]))


@api.get("/cases/<int:case_id>/adverse-items")
@api.auth_required(token_auth)
@api.output(AdverseItemList)
@api.doc(summary="The file's adverse items, newest first (readers of the whole file)")
def list_items(case_id: int) -> dict[str, Any]:
    return {"items": adverse.case_items(current_runtime(), current_actor(), case_id)}


@api.get("/adverse-items/<int:item_id>")
@api.auth_required(token_auth)
@api.output(AdverseItemOut)
@api.doc(summary="An adverse item")
def get_item(item_id: int) -> Any:
    return adverse.read_item(current_runtime(), current_actor(), item_id)


@api.post("/adverse-items/<int:item_id>/statement")
@api.auth_required(token_auth)
@api.input(StatementUpload, location="form_and_files", arg_name="form")
@api.output(AdverseItemOut)
@api.doc(summary="Record the hearing: the employee's statement as a file, or declined=true")
def record_statement(item_id: int, form: dict[str, Any]) -> Any:
    storage = form["file"]
    return adverse.record_statement(current_runtime(), current_actor(), item_id,
                                    _upload(storage) if storage is not None else None, declined=form["declined"])


@api.post("/adverse-items/<int:item_id>/file")
@api.auth_required(token_auth)
@api.output(AdverseItemOut)
@api.doc(summary="Take the heard item into the file; refused (409) before the hearing is recorded")
def file_after_hearing(item_id: int) -> Any:
    return adverse.file_after_hearing(current_runtime(), current_actor(), item_id)


@api.post("/adverse-items/<int:item_id>/remove")
@api.auth_required(token_auth)
@api.input(RemoveIn, location="json_or_form", arg_name="body")
@api.output(AdverseItemOut)
@api.doc(summary="Remove the item and destroy its documents: on application (from its removal date) or as "
                 "unfounded (at once)")
def remove(item_id: int, body: dict[str, Any]) -> Any:
    return adverse.remove(current_runtime(), current_actor(), item_id, body["ground"])
