"""Records shaped as both the API and the web pages show them: plain values, no HTTP, one definition each."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from urllib.parse import quote

from eakte.clock import utcnow
from eakte.models import Task
from eakte.runtime import Runtime
from eakte.services import workflow


def task_views(rt: Runtime, page: workflow.TaskList) -> list[dict[str, Any]]:
    return [task_view(rt, page.context, t) for t in page.tasks]


def task_view(rt: Runtime, ctx: workflow.PageContext, task: Task) -> dict[str, Any]:
    case_type = rt.registry.get(task.case_type)
    step = case_type.step(task.step) if case_type else None
    names = ctx.names
    now = utcnow()
    return {
        "id": task.id, "case_id": task.case_id, "case_reference": task.case.reference,
        "procedure_id": task.procedure_id,
        "procedure_reference": task.procedure.reference if task.procedure is not None else None,
        "procedure_title": task.procedure.title if task.procedure is not None else None,
        "case_title": task.case.title, "case_type": task.case_type, "step": task.step,
        "step_label_de": step.label_de if step else task.step, "step_label_en": step.label_en if step else task.step,
        "unit": task.unit.code, "role": task.role, "status": task.status, "due_at": task.due_at,
        "overdue": bool(task.status == "open" and task.due_at and task.due_at < now),
        "escalated": task.escalated_at is not None, "claimed_by": ctx.claimant(task),
        "decision": task.decision, "comment": task.comment, "decided_by": names.get(task.decided_by),
        "decided_at": task.decided_at, "checks": task.case.metadata_.get("checks") or [],
        "decisions": workflow.allowed_decisions(rt, ctx, task),
    }


@dataclass(frozen=True)
class InvoiceLineRow:
    """One invoice line as the tables show it: numbers as Decimal for the locale's filters, texts as written."""

    position: str
    name: str
    quantity: Decimal | None
    unit_code: str
    net_price: Decimal | None
    net_amount: Decimal | None
    vat_category: str
    vat_rate: Decimal | None


@dataclass(frozen=True)
class InvoiceLines:
    rows: list[InvoiceLineRow]
    count: int  # how many lines the invoice has; more than len(rows) when only the first ones were stored

    @property
    def truncated(self) -> bool:
        return self.count > len(self.rows)


def _number(value: Any) -> Decimal | None:
    """A stored decimal string; trailing zeros go ("9.9000" is 9,90 €, "20.0000" pieces are 20)."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    normal = number.normalize()
    try:
        # normalize() writes 100 as 1E+2; quantizing to the exponent 0 keeps whole numbers plain.
        return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal
    except InvalidOperation:  # a whole number beyond the context's 28 digits: shown as stored
        return number


def _line_text(value: Any) -> str:
    return "" if value is None or isinstance(value, (dict, list)) else str(value)


def invoice_lines(metadata: Mapping[str, Any]) -> InvoiceLines | None:
    """The lines of an e-invoice's metadata for the tables, or None when the case has no lines at all (a paper
    invoice, a case from before lines were kept). Read leniently: what cannot be read shows as empty."""
    stored = metadata.get("lines")
    if not isinstance(stored, list):
        return None
    rows = [InvoiceLineRow(
        position=_line_text(line.get("line_id")), name=_line_text(line.get("name")),
        quantity=_number(line.get("quantity")), unit_code=_line_text(line.get("unit_code")),
        net_price=_number(line.get("net_price")), net_amount=_number(line.get("net_amount")),
        vat_category=_line_text(line.get("vat_category")), vat_rate=_number(line.get("vat_rate")),
    ) for line in stored if isinstance(line, Mapping)]
    count = metadata.get("line_count")
    return InvoiceLines(rows, count if isinstance(count, int) and not isinstance(count, bool)
                        and count >= len(rows) else len(rows))


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII fallback plus the exact UTF-8 name (RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in ascii_name) or "download"
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_headers(filename: str, size: int | None = None) -> dict[str, str]:
    """An attachment's headers; with its length when known, so a client can show the download's progress."""
    headers = {"Content-Disposition": content_disposition(filename)}
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers
