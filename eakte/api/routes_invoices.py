"""Invoice intake and the payment export."""
from __future__ import annotations

from contextlib import closing
from typing import Any, Iterator

from flask import Response, stream_with_context

from eakte.api.auth import current_actor, token_auth
from eakte.api.routes import _upload, api, current_runtime
from eakte.presenters import content_disposition
from eakte.api.schemas import IntakeOut, IntakeUpload, PaymentExportIn, PaymentExportOut
from eakte.api.views import case_view, document_view, version_view
from eakte.services import documents, invoices


@api.post("/intake/invoice")
@api.auth_required(token_auth)
@api.input(IntakeUpload, location="form_and_files", arg_name="form")
@api.output(IntakeOut, status_code=201)
@api.doc(summary="Receive an invoice (XRechnung UBL/CII, ZUGFeRD/Factur-X PDF, plain PDF or scan)")
def intake(form: dict[str, Any]) -> dict[str, Any]:
    result = invoices.intake_invoice(current_runtime(), current_actor(), _upload(form["file"]), unit=form["unit"],
                                     duplicate_reason=form["duplicate_reason"])
    doc = result.ingested
    return {"case": case_view(result.case), "structured": result.structured,
            "document": {**document_view(doc.document), "version": version_view(doc.version),
                         "deduplicated": doc.deduplicated},
            "checks": result.case.metadata_.get("checks") or []}


@api.post("/invoices/payment-exports")
@api.auth_required(token_auth)
@api.input(PaymentExportIn, arg_name="body")
@api.output(PaymentExportOut, status_code=201)
@api.doc(summary="Export released invoices for payment (CSV and SEPA pain.001); marks them exported")
def create_payment_export(body: dict[str, Any]) -> dict[str, Any]:
    r = invoices.export_payments(current_runtime(), current_actor(), body["execution_date"])
    base = f"/api/v1/invoices/payment-exports/{r.export_id}"
    return {"id": r.export_id, "count": r.count, "total": str(r.total), "csv": f"{base}/csv",
            "pain001": f"{base}/pain001" if r.pain001_key else None, "not_sepa": r.not_sepa, "refused": r.refused}


@api.get("/invoices/payment-exports/<int:export_id>/<any(csv, pain001):kind>")
@api.auth_required(token_auth)
@api.doc(summary="Download an export's CSV or pain.001 file",
         responses={200: {"description": "the file", "content": {"text/csv": {}, "application/xml": {}}}})
def payment_export_file(export_id: int, kind: str) -> Response:
    name, mime, stream = invoices.export_file(current_runtime(), current_actor(), export_id, kind)

    def body() -> Iterator[bytes]:
        with closing(stream):
            yield from documents.iter_chunks(stream)

    return Response(stream_with_context(body()), mimetype=mime,
                    headers={"Content-Disposition": content_disposition(name)})
