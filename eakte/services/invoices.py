"""Invoice intake (XRechnung, ZUGFeRD/Factur-X, plain PDFs and scans) and the payment export (CSV + pain.001)."""
from __future__ import annotations

import datetime as dt
import io
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from eakte.clock import utcnow
from eakte.errors import Conflict, Forbidden, Invalid, NotFound
from eakte.models import Case, InvoicePayment, PaymentExport, Unit, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import audit, cases, documents, workflow
from eakte.services.access import OFFICE_TZ, Actor, require_create_in_unit
from workflows.definition import CaseType
from workflows.invoice import payment
from workflows.invoice.checks import run_checks
from workflows.invoice.parse import InvoiceError, parse_invoice_file

XML_TYPES = frozenset({"text/xml", "application/xml"})
INTAKE_TYPES = XML_TYPES | {"application/pdf", "image/tiff", "image/png", "image/jpeg"}


def invoice_type(rt: Runtime) -> CaseType:
    case_type = rt.registry.get("invoice")
    if case_type is None:
        raise NotFound("the invoice case type is not installed")
    return case_type


@dataclass(frozen=True)
class IntakeResult:
    case: Case
    ingested: documents.Ingested
    structured: bool  # an e-invoice whose fields were read, not a plain PDF/scan waiting for typing


def intake_invoice(rt: Runtime, actor: Actor, upload: documents.Upload, *, unit: str | None = None,
                   duplicate_reason: str | None = None) -> IntakeResult:
    case_type = invoice_type(rt)
    s = case_type.settings
    receipt_unit = unit or s["receipt_unit"]
    with rt.db.read() as session:  # refuse before storing a byte
        unit_row = session.execute(select(Unit).where(Unit.code == receipt_unit)).scalar()
        if unit_row is None:
            raise Invalid(f"unit: no unit with code {receipt_unit!r}", field="unit")
        require_create_in_unit(actor.principal, unit_row.id, unit_row.code)
    with documents.staged_upload(rt, upload) as staged:
        if staged.mime_type not in INTAKE_TYPES:
            raise Invalid(f"an invoice must be XML (XRechnung), a PDF (ZUGFeRD/Factur-X or plain) or a scan, "
                          f"not {staged.mime_type}", field="file")
        metadata = _read_invoice(staged.path, staged.mime_type)  # refuse bad invoices before storing them
        blob = documents.store_staged(rt, staged)
        with rt.db.write() as session:
            _refuse_duplicate(session, metadata, duplicate_reason)
            if duplicate_reason:
                metadata["duplicate_override"] = duplicate_reason
            metadata.setdefault("ordering_unit", _route(s, metadata.get("buyer_reference")))
            metadata = {k: v for k, v in metadata.items() if v is not None}
            title = " ".join(x for x in ["Rechnung", metadata.get("invoice_number"), metadata.get("seller_name")]
                             if x) if metadata.get("invoice_number") else f"Rechnung (Papier) {staged.filename}"
            case = cases.create_case(session, actor, cases.NewCase(s["file_plan_code"], title[:500], receipt_unit,
                                                                   "invoice", metadata), rt.registry)
            ingested = documents.record_document(rt, session, actor, case,
                                                 documents.NewDocument(f"Rechnung {staged.filename}", "invoice"),
                                                 staged, blob)
            workflow.start_workflow(rt, session, actor, case)
            audit.record(session, actor, "invoice.intake", "case", case.id, case_id=case.id,
                         details={"source": metadata.get("source"), "duplicate_override": duplicate_reason,
                                  "checks_failed": [c["code"] for c in metadata.get("checks", [])
                                                    if not c.get("ok")]})
    return IntakeResult(case, ingested, metadata.get("source") != "paper")


def _read_invoice(path: Path, mime: str) -> dict[str, Any]:
    try:
        data = parse_invoice_file(path, mime)
    except InvoiceError as exc:
        raise Invalid(f"not a readable invoice: {exc.message}", detail_de=f"Keine lesbare Rechnung: {exc.message_de}",
                      field="file") from None
    if data is None:
        if mime in XML_TYPES:
            raise Invalid("the XML is no invoice", field="file", detail_de="Das XML ist keine Rechnung")
        return {"source": "paper"}
    source = "zugferd" if data.source == "zugferd" else ("xrechnung-cii" if data.syntax == "cii" else "xrechnung-ubl")
    return {**data.to_metadata(), "source": source,
            "checks": [c.to_metadata() for c in run_checks(data)]}


def _refuse_duplicate(session: Any, metadata: dict[str, Any], reason: str | None) -> None:
    number, seller = metadata.get("invoice_number"), metadata.get("seller_name")
    if not number or not seller:
        return
    earlier = session.execute(select(Case.reference).where(
        Case.case_type == "invoice", Case.metadata_["invoice_number"].as_string() == number,
        Case.metadata_["seller_name"].as_string() == seller).limit(1)).scalar()
    if earlier and not (reason and reason.strip()):
        raise Conflict(f"invoice {number} of {seller} was filed before as case {earlier}; to file it again, give "
                       "a reason (duplicate_reason)",
                       detail_de=f"Rechnung {number} von {seller} ist bereits als Akte {earlier} erfasst",
                       duplicate_of=earlier)


def _route(settings: dict[str, Any], leitweg_id: str | None) -> str | None:
    """The ordering unit from the Leitweg-ID's fine part (the part between the dashes), where configured."""
    if not leitweg_id:
        return None
    parts = leitweg_id.split("-")
    return settings["routing"].get(parts[1]) if len(parts) == 3 else None


# --- payment export ---------------------------------------------------------------------------------------

@dataclass
class ExportResult:
    export_id: int
    count: int
    total: Decimal
    csv_key: str
    pain001_key: str | None
    not_sepa: list[dict[str, str]] = field(default_factory=list)


def export_payments(rt: Runtime, actor: Actor, execution_date: dt.date | None = None) -> ExportResult:
    """Write every released, not yet exported invoice to a CSV and a SEPA credit transfer file; mark them."""
    s = invoice_type(rt).settings
    with rt.db.read() as session:
        cash = session.execute(select(Unit).where(Unit.code == s["cash_unit"])).scalar()
        if not (actor.principal.is_admin or (cash and actor.principal.has_role(cash.id, "clerk"))):
            raise Forbidden(f"the payment export needs the clerk role in the cash unit {s['cash_unit']}",
                            detail_de="Der Zahlungsexport erfordert die Rolle Sachbearbeitung in der Stadtkasse")
    today = execution_date or dt.datetime.now(OFFICE_TZ).date()
    debtor = payment.Debtor(s["debtor_name"], s["debtor_iban"], s["debtor_bic"] or None)
    with rt.db.write() as session:
        released = session.execute(
            select(Case).join(WorkflowInstance, WorkflowInstance.case_id == Case.id)
            .outerjoin(InvoicePayment, InvoicePayment.case_id == Case.id)
            .where(Case.case_type == "invoice", WorkflowInstance.status == "completed",
                   InvoicePayment.case_id.is_(None)).order_by(Case.id).with_for_update(of=Case)).scalars().all()
        if not released:
            raise Conflict("no released invoices are waiting for export",
                           detail_de="Keine freigegebenen Rechnungen zum Export")
        payments, not_sepa = [], []
        for case in released:
            try:
                p = _payment_of(case, today)
                payment.check_sepa_payable(p)
                payments.append(p)
            except (payment.InvalidAccount, payment.NotSepaPayable, KeyError) as exc:
                not_sepa.append({"reference": case.reference, "reason": str(exc)})
        message_id = f"EAKTE-{uuid.uuid4().hex[:20].upper()}"
        all_payments = payments + [p for p in (_payment_or_none(c, today) for c in released) if p
                                   and p not in payments]
        csv_key = _store_text(rt, lambda out: payment.write_csv(all_payments, out))
        pain_key = _store_bytes(rt, lambda out: payment.write_pain001(payments, debtor, message_id, utcnow(), out)) \
            if payments else None
        total = sum((p.amount for p in payments), Decimal("0"))
        export = PaymentExport(created_by=actor.principal.username, count=len(released), total=str(total),
                               message_id=message_id, csv_key=csv_key, pain001_key=pain_key)
        session.add(export)
        session.flush()
        for case in released:
            session.add(InvoicePayment(case_id=case.id, export_id=export.id))
            audit.record(session, actor, "invoice.payment_export", "case", case.id, case_id=case.id,
                         details={"export_id": export.id, "message_id": message_id})
        audit.record(session, actor, "payment_export.create", "payment_export", export.id,
                     details={"count": len(released), "sepa": len(payments), "total": str(total),
                              "csv_sha256": csv_key.rsplit("/", 1)[-1],
                              "pain001_sha256": pain_key.rsplit("/", 1)[-1] if pain_key else None,
                              "not_sepa": not_sepa})
    return ExportResult(export.id, len(released), total, csv_key, pain_key, not_sepa)


def _payment_of(case: Case, today: dt.date) -> payment.Payment:
    m = case.metadata_
    return payment.Payment(
        end_to_end_id=re.sub(r"[^A-Za-z0-9.-]", "-", case.reference)[:35], creditor_name=m["seller_name"],
        creditor_iban=m["iban"], creditor_bic=None, amount=Decimal(m["amount_due"]), currency=m["currency"],
        remittance=f"{m['invoice_number']} {case.reference}", requested_date=today,
        case_reference=case.reference, invoice_number=m["invoice_number"])


def _payment_or_none(case: Case, today: dt.date) -> payment.Payment | None:
    try:
        return _payment_of(case, today)
    except (payment.InvalidAccount, payment.NotSepaPayable, KeyError, ValueError):
        return None


def _store_text(rt: Runtime, write: Any) -> str:
    with tempfile.TemporaryFile(dir=rt.tmp_dir) as tmp:
        text = io.TextIOWrapper(tmp, encoding="utf-8", newline="")
        write(text)
        text.flush()
        tmp.seek(0)
        key = rt.blobs.put(tmp).key
        text.detach()
        return key


def _store_bytes(rt: Runtime, write: Any) -> str:
    with tempfile.TemporaryFile(dir=rt.tmp_dir) as tmp:
        write(tmp)
        tmp.seek(0)
        return rt.blobs.put(tmp).key


def export_file(rt: Runtime, actor: Actor, export_id: int, kind: str) -> tuple[str, str, Any]:
    """(filename, mime type, stream) of an export's CSV or pain.001 file."""
    with rt.db.write() as session:
        export = session.get(PaymentExport, export_id)
        s = invoice_type(rt).settings
        cash = session.execute(select(Unit).where(Unit.code == s["cash_unit"])).scalar()
        allowed = actor.principal.is_admin or actor.principal.is_auditor or (
            cash is not None and actor.principal.has_role(cash.id, "clerk"))
        if export is None or not allowed:
            raise NotFound("no payment export with this id")
        key = export.csv_key if kind == "csv" else export.pain001_key
        if key is None:
            raise NotFound("this export has no SEPA file (no invoice was SEPA-payable)")
        audit.record(session, actor, "payment_export.download", "payment_export", export.id, details={"kind": kind})
    name = f"zahlungen-{export.message_id}.{'csv' if kind == 'csv' else 'xml'}"
    mime = "text/csv; charset=utf-8" if kind == "csv" else "application/xml"
    return name, mime, rt.blobs.open(key)
