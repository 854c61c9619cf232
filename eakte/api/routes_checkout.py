"""Check-out / check-in of documents: while one clerk has a document checked out, nobody else adds a version
(409 naming the holder and since when)."""
from __future__ import annotations

from typing import Any

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import _ingest_view, _upload, api, caller_names, current_runtime
from eakte.api.schemas import CheckoutBreakIn, DocumentOut, IngestOut, VersionUpload
from eakte.api.views import document_view
from eakte.services import checkout


@api.post("/documents/<int:document_id>/checkout")
@api.auth_required(token_auth)
@api.output(DocumentOut)
@api.doc(summary="Check the document out (clerks of its unit): until it is checked in, cancelled or the lock "
                 "broken, nobody else adds a version; 409 when someone else holds it")
def check_out(document_id: int) -> dict[str, Any]:
    return document_view(checkout.check_out(current_runtime(), current_actor(), document_id), caller_names())


@api.post("/documents/<int:document_id>/checkin")
@api.auth_required(token_auth)
@api.input(VersionUpload, location="form_and_files", arg_name="form")
@api.output(IngestOut, status_code=201)
@api.doc(summary="Check the document in with a new version (the holder); the check-out ends with it")
def check_in(document_id: int, form: dict[str, Any]) -> dict[str, Any]:
    return _ingest_view(checkout.check_in(current_runtime(), current_actor(), document_id, _upload(form["file"])))


@api.post("/documents/<int:document_id>/checkout/cancel")
@api.auth_required(token_auth)
@api.output(DocumentOut)
@api.doc(summary="Cancel one's own check-out without a new version")
def cancel_checkout(document_id: int) -> dict[str, Any]:
    return document_view(checkout.cancel(current_runtime(), current_actor(), document_id))


@api.post("/documents/<int:document_id>/checkout/break")
@api.auth_required(token_auth)
@api.input(CheckoutBreakIn, arg_name="body")
@api.output(DocumentOut)
@api.doc(summary="Break someone's check-out (admins, the head of the case's unit); audited with the holder "
                 "and the reason")
def break_checkout(document_id: int, body: dict[str, Any]) -> dict[str, Any]:
    document, _holder = checkout.break_lock(current_runtime(), current_actor(), document_id, body["reason"])
    return document_view(document)
