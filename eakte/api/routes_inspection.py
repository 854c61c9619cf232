"""The employee's own inspection of their file (`/me/personnel-files`): read-only, every opening and every copy
logged. A file the caller is not the subject of answers 404, whatever else the caller may read."""
from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from flask import Response

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import api, current_runtime
from eakte.api.schemas import RowId, Strict
from eakte.http import file_response
from eakte.presenters import content_disposition
from eakte.services import inspection

_BEIHILFE = "also the sub-files a unit of their own keeps (Beihilfe); default false"


class InspectionQuery(Strict):
    include_beihilfe = fields.Boolean(load_default=False, metadata={"description": _BEIHILFE})


class CopyQuery(InspectionQuery):
    version = RowId(metadata={"description": "a version number; default the current one"})


class OwnFileOut(Schema):
    id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    case_type = fields.String()
    status = fields.String(metadata={"description": "open | closed (closed after leaving service)"})
    closed_at = fields.Date(allow_none=True)


class OwnFileList(Schema):
    items = fields.List(fields.Nested(OwnFileOut))


class InspectedDocumentOut(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    document_date = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    version = fields.Integer(metadata={"description": "the current version, the one a copy is of by default"})
    filename = fields.String()
    size = fields.Integer()
    mime_type = fields.String()


class PartOut(Schema):
    subfile = fields.String(allow_none=True, metadata={"description": "the sub-file's key; null: the Grundakte"})
    label = fields.String()
    label_en = fields.String()
    procedure_id = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True)
    documents = fields.List(fields.Nested(InspectedDocumentOut))


class AdverseStatusOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String(metadata={"description": "hearing | filed | removed"})
    document_id = fields.Integer(allow_none=True)
    hearing_due_on = fields.Date()
    statement_document_id = fields.Integer(allow_none=True)
    statement_declined = fields.Boolean()
    removal_due_on = fields.Date(allow_none=True)


class InspectionOut(OwnFileOut):
    metadata = fields.Dict(metadata={"description": "the personal data fields"})
    include_beihilfe = fields.Boolean()
    parts = fields.List(fields.Nested(PartOut), metadata={"description": "the Grundakte, then the sub-files"})
    adverse_items = fields.List(fields.Nested(AdverseStatusOut))


def _own_file_view(f: inspection.OwnFile) -> dict[str, Any]:
    return {"id": f.case_id, "reference": f.reference, "title": f.title, "case_type": f.case_type,
            "status": f.status, "closed_at": f.closed_at}


@api.get("/me/personnel-files")
@api.auth_required(token_auth)
@api.output(OwnFileList)
@api.doc(summary="The files the caller is the subject of (their own personnel file), open and closed")
def my_files() -> dict[str, Any]:
    return {"items": [_own_file_view(f) for f in inspection.own_files(current_runtime(), current_actor())]}


@api.get("/me/personnel-files/<int:case_id>")
@api.auth_required(token_auth)
@api.input(InspectionQuery, location="query", arg_name="query")
@api.output(InspectionOut)
@api.doc(summary="Inspect one's own file: personal data and all documents by sub-file (logged)")
def inspect_my_file(case_id: int, query: dict[str, Any]) -> dict[str, Any]:
    seen = inspection.inspect(current_runtime(), current_actor(), case_id, include_apart=query["include_beihilfe"])
    case = seen.case
    return {"id": case.id, "reference": case.reference, "title": case.title, "case_type": case.case_type,
            "status": case.status, "closed_at": case.closed_at, "metadata": case.metadata_,
            "include_beihilfe": seen.include_apart,
            "parts": [{"subfile": p.subfile, "label": p.label_de, "label_en": p.label_en,
                       "procedure_id": p.procedure_id,
                       "reference": p.reference, "documents": [vars(d) for d in p.documents]} for p in seen.parts],
            "adverse_items": [vars(i) for i in seen.adverse_items]}


@api.get("/me/personnel-files/<int:case_id>/documents/<int:document_id>/content")
@api.auth_required(token_auth)
@api.input(CopyQuery, location="query", arg_name="query")
@api.doc(summary="A copy of a document of one's own file, streamed (logged)",
         responses={200: {"description": "the file", "content": {"application/octet-stream": {}}}})
def copy_of_my_document(case_id: int, document_id: int, query: dict[str, Any]) -> Response:
    version, stream = inspection.open_copy(current_runtime(), current_actor(), case_id, document_id,
                                           include_apart=query["include_beihilfe"],
                                           version_number=query.get("version"))

    return file_response(version, stream, {
        "Content-Disposition": content_disposition(version.filename), "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox", "Cache-Control": "private, no-store"})
