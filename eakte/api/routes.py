"""REST endpoints under /api/v1: parse, call a service (which opens the unit of work), shape the answer."""
from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import Response, current_app, request
from eakte.api.auth import current_actor, token_auth
from eakte.api.schemas import (
    AuditList,
    CaseIn,
    CaseList,
    CaseOut,
    CasePatch,
    CaseQuery,
    ContentQuery,
    DocumentList,
    DocumentOut,
    DocumentUpload,
    FilePlanIn,
    FilePlanList,
    FilePlanOut,
    IngestOut,
    MeOut,
    Paging,
    VersionUpload,
)
from eakte.http import file_response
from eakte.presenters import content_disposition
from eakte.api.views import case_view, document_view, file_plan_view, retention_view, version_view
from eakte.models import Case
from eakte.runtime import Runtime
from eakte.services import cases, documents, fileplan, identity, retention

api = APIBlueprint("api", __name__, url_prefix="/api/v1", tag="eakte")


def current_runtime() -> Runtime:
    return current_app.extensions["eakte"]


@api.get("/me")
@api.auth_required(token_auth)
@api.output(MeOut)
@api.doc(summary="The calling user and their roles")
def me() -> dict[str, Any]:
    p = current_actor().principal
    user, units = identity.whoami(current_runtime(), p)
    roles = [{"unit": units[uid].code, "unit_name": units[uid].name, "role": role}
             for uid, rs in sorted(p.roles_by_unit.items()) if uid in units for role in sorted(rs)]
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "roles": roles,
            "is_admin": p.is_admin, "is_auditor": p.is_auditor}


# --- file plan --------------------------------------------------------------------------------------------

@api.post("/file-plan")
@api.auth_required(token_auth)
@api.input(FilePlanIn, arg_name="body")
@api.output(FilePlanOut, status_code=201)
@api.doc(summary="Add a file plan node (admins)")
def add_file_plan_node(body: dict[str, Any]) -> dict[str, Any]:
    node, plan = fileplan.create_node(current_runtime(), current_actor(), body["code"], body["title"],
                                      body["retention_years"], body["disposal"])
    return file_plan_view(node, {n.id: n.code for n in plan})


@api.get("/file-plan")
@api.auth_required(token_auth)
@api.output(FilePlanList)
@api.doc(summary="The file plan (Aktenplan)")
def list_file_plan() -> dict[str, Any]:
    nodes = fileplan.file_plan(current_runtime())
    codes = {n.id: n.code for n in nodes}
    return {"items": [file_plan_view(n, codes) for n in nodes]}


# --- cases ------------------------------------------------------------------------------------------------

def one_case_view(case: Case) -> dict[str, Any]:
    """One case with its retention periods (lists carry none: that would cost a query per case)."""
    periods = retention.retention_if_visible(current_runtime(), current_actor(), case.id)
    return {**case_view(case), "retention": retention_view(periods) if periods is not None else None}


@api.post("/cases")
@api.auth_required(token_auth)
@api.input(CaseIn, arg_name="body")
@api.output(CaseOut, status_code=201)
@api.doc(summary="Create a case; its reference is <file-plan code>/<number>/<year>")
def create_case(body: dict[str, Any]) -> dict[str, Any]:
    return one_case_view(cases.open_case(current_runtime(), current_actor(), cases.NewCase(**body)))


@api.get("/cases")
@api.auth_required(token_auth)
@api.input(CaseQuery, location="query", arg_name="query")
@api.output(CaseList)
@api.doc(summary="Cases the caller may see, newest first")
def list_cases(query: dict[str, Any]) -> dict[str, Any]:
    offset, limit = query.pop("offset"), query.pop("limit")
    flt = cases.CaseFilter(title_contains=query.pop("q", None), **query)
    rows, total = cases.find_cases(current_runtime(), current_actor(), flt, offset=offset, limit=limit)
    return {"items": [case_view(c) for c in rows], "total": total, "offset": offset, "limit": limit}


@api.get("/cases/<int:case_id>")
@api.auth_required(token_auth)
@api.output(CaseOut)
@api.doc(summary="One case")
def get_case(case_id: int) -> dict[str, Any]:
    return one_case_view(cases.read_case(current_runtime(), current_actor(), case_id))


@api.patch("/cases/<int:case_id>")
@api.auth_required(token_auth)
@api.input(CasePatch, arg_name="body")
@api.output(CaseOut)
@api.doc(summary="Change title, metadata (clerks of the responsible unit) or confidentiality level "
                 "(raising: clerks; lowering: the unit's head)")
def patch_case(case_id: int, body: dict[str, Any]) -> dict[str, Any]:
    return one_case_view(cases.change_case(current_runtime(), current_actor(), case_id,
                                           cases.CaseChanges(**body)))


@api.post("/cases/<int:case_id>/close")
@api.auth_required(token_auth)
@api.output(CaseOut)
@api.doc(summary="Close the case (z.d.A.); its retention period starts",
         description="409 for a case type whose workflow closes its cases (`closed_by_workflow`, e.g. a trade "
                     "business, closed by the Eintragung of its Abmeldung).")
def close_case(case_id: int) -> dict[str, Any]:
    return one_case_view(cases.conclude_case(current_runtime(), current_actor(), case_id))


@api.get("/cases/<int:case_id>/audit")
@api.auth_required(token_auth)
@api.input(Paging, location="query", arg_name="query")
@api.output(AuditList)
@api.doc(summary="The audit trail of a case, oldest first")
def case_audit(case_id: int, query: dict[str, Any]) -> dict[str, Any]:
    events = cases.case_trail(current_runtime(), current_actor(), case_id, offset=query["offset"],
                              limit=query["limit"])
    return {"items": events, "offset": query["offset"], "limit": query["limit"]}


# --- documents --------------------------------------------------------------------------------------------

@api.get("/cases/<int:case_id>/documents")
@api.auth_required(token_auth)
@api.output(DocumentList)
@api.doc(summary="The documents of a case")
def list_documents(case_id: int) -> dict[str, Any]:
    rows, usernames = documents.case_files(current_runtime(), current_actor(), case_id)
    return {"items": [document_view(d, usernames) for d in rows]}


@api.post("/cases/<int:case_id>/documents")
@api.auth_required(token_auth)
@api.input(DocumentUpload, location="form_and_files", arg_name="form")
@api.output(IngestOut, status_code=201)
@api.doc(summary="Upload a document; its type is read from the content")
def upload_document(case_id: int, form: dict[str, Any]) -> dict[str, Any]:
    return upload_into(case_id, form)


def upload_into(case_id: int, form: dict[str, Any], procedure_id: int | None = None) -> dict[str, Any]:
    """The one upload path: into the case, or into one of its procedures (POST /procedures/{id}/documents)."""
    new = documents.NewDocument(title=form["title"], kind=form["kind"], document_date=form["document_date"],
                                procedure_id=procedure_id)
    result = documents.add_document(current_runtime(), current_actor(), case_id, new, _upload(form["file"]))
    return _ingest_view(result)


@api.post("/documents/<int:document_id>/versions")
@api.auth_required(token_auth)
@api.input(VersionUpload, location="form_and_files", arg_name="form")
@api.output(IngestOut, status_code=201)
@api.doc(summary="Add a new version of a document")
def upload_version(document_id: int, form: dict[str, Any]) -> dict[str, Any]:
    result = documents.add_version(current_runtime(), current_actor(), document_id, _upload(form["file"]))
    return _ingest_view(result)


@api.get("/documents/<int:document_id>")
@api.auth_required(token_auth)
@api.output(DocumentOut)
@api.doc(summary="A document with all its versions")
def get_document(document_id: int) -> dict[str, Any]:
    return document_view(*documents.document_with_uploaders(current_runtime(), current_actor(), document_id))


@api.get("/documents/<int:document_id>/content")
@api.auth_required(token_auth)
@api.input(ContentQuery, location="query", arg_name="query")
@api.doc(summary="The stored bytes of the current (or the given) version, streamed",
         responses={200: {"description": "the file", "content": {"application/octet-stream": {}}}})
def get_content(document_id: int, query: dict[str, Any]) -> Response:
    version, stream = documents.open_content(current_runtime(), current_actor(), document_id, query.get("version"))
    headers = {"ETag": f'"{version.sha256}"', "Content-Disposition": content_disposition(version.filename),
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox",
               "Cache-Control": "private, no-cache"}
    if version.sha256 in request.if_none_match:
        stream.close()
        return Response(status=304, headers=headers)
    return file_response(version, stream, headers)


def _upload(storage: Any) -> documents.Upload:
    claimed = storage.mimetype or None  # werkzeug strips parameters; octet-stream counts as no claim downstream
    return documents.Upload(stream=storage.stream, filename=storage.filename or "", claimed_type=claimed)


def caller_names() -> dict[int, str]:
    """The caller's own name by id: the only one a document they just changed can be checked out by."""
    p = current_actor().principal
    return {p.user_id: p.username}


def _ingest_view(result: documents.Ingested) -> dict[str, Any]:
    return {**document_view(result.document, caller_names()), "version": version_view(result.version),
            "deduplicated": result.deduplicated}
