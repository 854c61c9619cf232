"""Invoice intake (Rechnungseingang): e-invoices and paper invoices, duplicates, typing a paper invoice's fields."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eakte.errors import Conflict, EakteError, Forbidden, Invalid
from eakte.services import cases, documents, invoices, workflow
from eakte.services.overview import may_take_in_invoices
from eakte.web.auth import current_actor, login_required
from eakte.web.runtime import runtime

bp = Blueprint("invoices", __name__)
REASON_MAX = 2000


def _message(exc: EakteError) -> str:
    return exc.detail_de if str(get_locale() or "de") == "de" and exc.detail_de else exc.detail


def _require_intake() -> None:
    if not may_take_in_invoices(runtime(), current_actor()):
        raise Forbidden("you may not take in invoices",
                        detail_de="Sie dürfen keine Rechnungen im Rechnungseingang erfassen.")


def _render(*, errors: dict[str, str] | None = None, duplicate_of: str | None = None, reason: str = "",
            status: int = 200) -> tuple[str, int]:
    errors = errors or {}
    return render_template("invoices/intake.html", errors=errors, summary=list(errors.items()),
                           duplicate_of=duplicate_of, reason=reason,
                           breadcrumbs=[(_("Rechnungseingang"), None)]), status


@bp.get("/invoices/intake")
@login_required
def intake() -> tuple[str, int]:
    _require_intake()
    return _render()


@bp.post("/invoices/intake")
@login_required
def receive() -> object:
    _require_intake()
    upload = request.files.get("file")
    override = request.form.get("override") == "1"
    reason = request.form.get("duplicate_reason", "").strip()
    duplicate_of = request.form.get("duplicate_of") or None
    if upload is None or not upload.filename:
        return _render(errors={"file": _("Bitte wählen Sie die Rechnungsdatei aus.")}, duplicate_of=duplicate_of,
                       reason=reason, status=422)
    if override and not reason:
        return _render(errors={"duplicate_reason": _("Bitte begründen Sie, warum die Rechnung trotzdem übernommen "
                                                     "werden soll.")}, duplicate_of=duplicate_of, status=422)
    if len(reason) > REASON_MAX:
        return _render(errors={"duplicate_reason": _("Die Begründung darf höchstens %(n)s Zeichen lang sein.",
                                                     n=REASON_MAX)}, duplicate_of=duplicate_of, reason=reason,
                       status=422)
    try:
        result = invoices.intake_invoice(
            runtime(), current_actor(),
            documents.Upload(stream=upload.stream, filename=upload.filename or "",
                             claimed_type=upload.mimetype or None),
            duplicate_reason=reason if override else None)
    except Conflict as exc:
        if "duplicate_of" not in exc.extra:
            raise
        return _render(duplicate_of=exc.extra["duplicate_of"], status=409)
    except Invalid as exc:
        return _render(errors={"file": _message(exc)}, status=422)
    case = result.case
    flash(_("Die Rechnung wurde als Akte %(ref)s erfasst.", ref=case.reference), "success")
    if not result.structured:  # a plain PDF or scan: its fields are typed next
        return redirect(url_for("invoices.fields", case_id=case.id), code=303)
    return redirect(_work_on(case.id), code=303)


def _work_on(case_id: int) -> str:
    """Where the clerk continues with a new invoice: its open task (the receipt step), else the fields."""
    _instance, open_tasks, _events = workflow.case_workflow(runtime(), current_actor(), case_id)
    if open_tasks.tasks:
        return url_for("tasks.show", task_id=open_tasks.tasks[0].id)
    return url_for("invoices.fields", case_id=case_id)


def _fields_page(case_id: int, *, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                 status: int = 200) -> tuple[str, int]:
    case, states = invoices.invoice_fields(runtime(), current_actor(), case_id)
    # A computed field the system left empty (e.g. the line count of a paper invoice) says nothing to the typist.
    editable = [s for s in states if s.field.kind != "list" and not (s.field.read_only and s.value is None)]
    errors = errors or {}
    return render_template("invoices/fields.html", case=case, states=editable, values=values or {},
                           errors=errors, summary=[(f"field-{k}", v) for k, v in errors.items()],
                           next_task=_open_task(case.id),
                           breadcrumbs=[(_("Rechnungseingang"), url_for("invoices.intake")),
                                        (case.reference, None)]), status


def _open_task(case_id: int) -> int | None:
    _instance, open_tasks, _events = workflow.case_workflow(runtime(), current_actor(), case_id)
    return open_tasks.tasks[0].id if open_tasks.tasks else None


@bp.get("/invoices/<int:case_id>/fields")
@login_required
def fields(case_id: int) -> tuple[str, int]:
    return _fields_page(case_id)


@bp.post("/invoices/<int:case_id>/fields")
@login_required
def save_fields(case_id: int) -> object:
    _case, states = invoices.invoice_fields(runtime(), current_actor(), case_id)
    # Only fields the form offers as editable are sent; the service refuses any lock the form did not know of.
    names = [s.field.name for s in states if s.lock is None and s.field.kind != "list"]
    values = {name: request.form.get(name, "").strip() for name in names}
    try:
        cases.change_case(runtime(), current_actor(), case_id,
                          cases.CaseChanges(metadata={k: (v or None) for k, v in values.items()}))
    except (Invalid, Conflict) as exc:
        name = str(exc.extra.get("field") or "").removeprefix("metadata.")
        errors = {name if name in values else "form": _message(exc)}
        return _fields_page(case_id, errors=errors, values=values, status=422)
    flash(_("Die Rechnungsdaten wurden gespeichert."), "success")
    return redirect(url_for("invoices.fields", case_id=case_id), code=303)
