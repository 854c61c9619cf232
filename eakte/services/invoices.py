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
from typing import Any, Mapping

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from eakte.clock import office_today, utcnow
from eakte.errors import Conflict, Invalid, NotFound
from eakte.models import Case, InvoicePayment, PaymentExport, Unit, WorkflowInstance
from eakte.runtime import Runtime
from eakte.services import approvals, audit, cases, documents, integrity, workflow
from eakte.services.access import Actor, may_read_payment_exports, require_create_in_unit, require_payment_exporter
from workflows.definition import CaseType, FieldLock
from workflows.fields import Field
from workflows.invoice import payment
from workflows.invoice.case_type import PAYMENT_FIELDS, PAYMENT_ORDER_STEP, PAYMENT_REQUIRES, configured_debtor
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
            # Everything here was read or computed by the system (the user's part, the unit, was checked above).
            case = cases.create_case(session, actor, cases.NewCase(s["file_plan_code"], title[:500], receipt_unit,
                                                                   "invoice"), rt.registry, derived=metadata)
            ingested = documents.record_document(rt, session, actor, case,
                                                 documents.NewDocument(f"Rechnung {staged.filename}", "invoice"),
                                                 staged, blob)
            workflow.start_workflow(rt, session, actor, case)
            audit.record(session, actor, "invoice.intake", "case", case.id, case_id=case.id,
                         details={"source": metadata.get("source"), "duplicate_override": duplicate_reason,
                                  "checks_failed": [c["code"] for c in metadata.get("checks", [])
                                                    if not c.get("ok")]})
    return IntakeResult(case, ingested, metadata.get("source") != "paper")


@dataclass(frozen=True)
class FieldState:
    """One invoice field of a case as a form shows it: its value, and why it may not be changed now (or None)."""

    field: Field
    value: Any
    lock: FieldLock | None


def invoice_fields(rt: Runtime, actor: Actor, case_id: int) -> tuple[Case, list[FieldState]]:
    """The invoice fields of a case with their locks (computed, read from the e-invoice, or fixed by a decision),
    for typing in a paper invoice; the change itself goes through `cases.change_case` as the API's PATCH does."""
    case_type = invoice_type(rt)
    with rt.db.read() as session:
        case = cases.get_case(session, actor, case_id)
        if case.case_type != case_type.key:
            raise NotFound("this case is no invoice", detail_de="Diese Akte ist keine Rechnung")
        decided = approvals.decided_steps(session, case_type, case.id)
        return case, [FieldState(f, case.metadata_.get(f.name), case_type.lock(f.name, case.metadata_, decided))
                      for f in case_type.fields]


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


# Exactly the expressions ix_cases_invoice_number indexes (migration 0003). Case.metadata_["invoice_number"] binds
# the JSON path as a parameter, and SQLite only uses an index on an expression that is spelled the same, constants
# included: the duplicate check then read the JSON of every invoice case at each intake.
_INVOICE_NUMBER_SQL = {
    "postgresql": "(metadata ->> 'invoice_number')",
    "sqlite": "CAST(JSON_EXTRACT(metadata, '$.\"invoice_number\"') AS VARCHAR)",
}


def _invoice_number(session: Session) -> Any:
    return literal_column(_INVOICE_NUMBER_SQL[session.get_bind().dialect.name])


def _refuse_duplicate(session: Any, metadata: dict[str, Any], reason: str | None) -> None:
    number, seller = metadata.get("invoice_number"), metadata.get("seller_name")
    if not number or not seller:
        return
    earlier = session.execute(select(Case.reference).where(
        Case.case_type == "invoice", _invoice_number(session) == number,
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
    refused: list[dict[str, str]] = field(default_factory=list)  # held back: values differ from the Anordnung


def export_payments(rt: Runtime, actor: Actor, execution_date: dt.date | None = None) -> ExportResult:
    """Write every released, not yet exported invoice to a CSV and a SEPA credit transfer file; mark them."""
    s = invoice_type(rt).settings
    with rt.db.read() as session:
        cash = session.execute(select(Unit.id).where(Unit.code == s["cash_unit"])).scalar()
        require_payment_exporter(actor.principal, cash, s["cash_unit"])
    today = execution_date or office_today()
    debtor = _debtor(s)
    with rt.db.write() as session:
        released = session.execute(
            select(Case).join(WorkflowInstance, WorkflowInstance.case_id == Case.id)
            .outerjoin(InvoicePayment, InvoicePayment.case_id == Case.id)
            .where(Case.case_type == "invoice", WorkflowInstance.status == "completed",
                   InvoicePayment.case_id.is_(None)).order_by(Case.id).with_for_update(of=Case)).scalars().all()
        if not released:
            raise Conflict("no released invoices are waiting for export",
                           detail_de="Keine freigegebenen Rechnungen zum Export")
        # Pay exactly what the Anordnung ordered: a case whose values differ from it (changed behind the
        # services' back) is held back, not exported, and stays waiting; the refusal is audited.
        orders = approvals.approved_records(session, [c.id for c in released], PAYMENT_ORDER_STEP)
        confirmed = approvals.decided_steps_of(session, invoice_type(rt), [c.id for c in released])
        ordered, refused = [], []
        for case in released:
            reason = (_unconfirmed(confirmed.get(case.id, frozenset()))
                      or _differs_from_order(case, orders.get(case.id)))
            if reason is None:
                ordered.append(case)
                continue
            refused.append({"reference": case.reference, "reason": reason})
            audit.record(session, actor, "invoice.payment_export_refused", "case", case.id, case_id=case.id,
                         details={"reason": reason, "approved": orders.get(case.id)})
        result = _write_export(rt, session, actor, debtor, ordered, orders, today, refused) if ordered else None
    if result is None:
        raise Conflict("no released invoice can be exported: " + "; ".join(f"{r['reference']}: {r['reason']}"
                                                                          for r in refused),
                       detail_de="Keine freigegebene Rechnung kann exportiert werden: Werte weichen von der "
                                 "Anordnung ab", refused=refused)
    return result


def _debtor(settings: Mapping[str, Any]) -> payment.Debtor:
    try:
        debtor = configured_debtor(settings)
    except ValueError as exc:  # the case type refuses to load with such settings; kept for a changed registry
        raise Conflict(f"the debtor account in [case_types.invoice] is invalid: {exc}") from None
    if debtor is None:
        raise Conflict("the payment export needs the municipality's own account: set debtor_name and debtor_iban "
                       "(and debtor_bic) in [case_types.invoice] of the configuration",
                       detail_de="Für den Zahlungsexport muss das eigene Konto der Kommune konfiguriert sein "
                                 "(debtor_name, debtor_iban in [case_types.invoice])")
    return debtor


def _unconfirmed(decided: frozenset[str]) -> str | None:
    """Why a payment lacks a confirmation it rests on (a step without a valid approval), or None."""
    missing = [step for step in PAYMENT_REQUIRES if step not in decided]
    if missing:
        return f"no valid approval of step(s) {', '.join(missing)} is recorded for this invoice"
    return None


def _differs_from_order(case: Case, order: dict[str, Any] | None) -> str | None:
    """Why `case` may not be paid as ordered, or None."""
    if order is None:
        return "no payment order (Anordnung) with its approved values is recorded for this invoice"
    changed = [name for name in PAYMENT_FIELDS if case.metadata_.get(name) != order.get(name)]
    if changed:
        return f"{', '.join(changed)} differ(s) from what the Anordnung approved"
    return None


def _write_export(rt: Runtime, session: Session, actor: Actor, debtor: payment.Debtor, ordered: list[Case],
                  orders: dict[int, dict[str, Any]], today: dt.date, refused: list[dict[str, str]]) -> ExportResult:
    """Write the CSV and pain.001 of `ordered`, paid as their orders say, and mark those cases exported."""
    payments, not_sepa = [], []
    for case in ordered:
        try:
            p = _payment_of(case, orders[case.id], today)
            payment.check_sepa_payable(p)
            payments.append(p)
        except (payment.InvalidAccount, payment.NotSepaPayable, KeyError, ValueError, ArithmeticError) as exc:
            not_sepa.append({"reference": case.reference, "reason": str(exc)})
    message_id = f"EAKTE-{uuid.uuid4().hex[:20].upper()}"
    all_payments = payments + [p for p in (_payment_or_none(c, orders[c.id], today) for c in ordered)
                               if p and p not in payments]
    csv_key = _store_text(rt, session, lambda out: payment.write_csv(all_payments, out))
    pain_key = _store_bytes(rt, session,
                            lambda out: payment.write_pain001(payments, debtor, message_id, utcnow(), out)) \
        if payments else None
    total = sum((p.amount for p in payments), Decimal("0"))
    export = PaymentExport(created_by=actor.principal.username, count=len(ordered), total=str(total),
                           message_id=message_id, csv_key=csv_key, pain001_key=pain_key)
    session.add(export)
    session.flush()
    for case in ordered:
        session.add(InvoicePayment(case_id=case.id, export_id=export.id))
        audit.record(session, actor, "invoice.payment_export", "case", case.id, case_id=case.id,
                     details={"export_id": export.id, "message_id": message_id, "paid": orders[case.id]})
    audit.record(session, actor, "payment_export.create", "payment_export", export.id,
                 details={"count": len(ordered), "cases": [c.id for c in ordered], "sepa": len(payments),
                          "total": str(total),
                          "csv_sha256": csv_key.rsplit("/", 1)[-1],
                          "pain001_sha256": pain_key.rsplit("/", 1)[-1] if pain_key else None,
                          "not_sepa": not_sepa, "refused": refused})
    return ExportResult(export.id, len(ordered), total, csv_key, pain_key, not_sepa, refused)


def _payment_of(case: Case, order: dict[str, Any], today: dt.date) -> payment.Payment:
    """The payment as the Anordnung ordered it (`order`: the values its approval recorded)."""
    m = order
    return payment.Payment(
        end_to_end_id=re.sub(r"[^A-Za-z0-9.-]", "-", case.reference)[:35], creditor_name=m["seller_name"],
        creditor_iban=m["iban"], creditor_bic=None, amount=Decimal(m["amount_due"]), currency=m["currency"],
        remittance=f"{m['invoice_number']} {case.reference}", requested_date=today,
        case_reference=case.reference, invoice_number=m["invoice_number"])


def _payment_or_none(case: Case, order: dict[str, Any], today: dt.date) -> payment.Payment | None:
    try:
        return _payment_of(case, order, today)
    except (payment.InvalidAccount, payment.NotSepaPayable, KeyError, ValueError, ArithmeticError):
        return None


def _store_text(rt: Runtime, session: Any, write: Any) -> str:
    with tempfile.TemporaryFile(dir=rt.tmp_dir) as tmp:
        text = io.TextIOWrapper(tmp, encoding="utf-8", newline="")
        write(text)
        text.flush()
        tmp.seek(0)
        key = integrity.store_referenced(rt, session, tmp).key  # kept from gc until the export row commits
        text.detach()
        return key


def _store_bytes(rt: Runtime, session: Any, write: Any) -> str:
    with tempfile.TemporaryFile(dir=rt.tmp_dir) as tmp:
        write(tmp)
        tmp.seek(0)
        return integrity.store_referenced(rt, session, tmp).key


def export_file(rt: Runtime, actor: Actor, export_id: int, kind: str) -> tuple[str, str, Any]:
    """(filename, mime type, stream) of an export's CSV or pain.001 file."""
    with rt.db.write() as session:
        export = session.get(PaymentExport, export_id)
        s = invoice_type(rt).settings
        cash = session.execute(select(Unit.id).where(Unit.code == s["cash_unit"])).scalar()
        if export is None or not may_read_payment_exports(actor.principal, cash):
            raise NotFound("no payment export with this id")
        key = export.csv_key if kind == "csv" else export.pain001_key
        if key is None:
            raise NotFound("this export has no SEPA file (no invoice was SEPA-payable)")
        audit.record(session, actor, "payment_export.download", "payment_export", export.id, details={"kind": kind})
    name = f"zahlungen-{export.message_id}.{'csv' if kind == 'csv' else 'xml'}"
    mime = "text/csv; charset=utf-8" if kind == "csv" else "application/xml"
    return name, mime, rt.blobs.open(key)
