"""The misallocation levy in the browser after the notice (levy_payments): recording an objection (the deadline
shown, a late one flagged), deciding it, a §8 change or the cancellation, payments (a form per procedure, the
cash office's CSV import with its report), a procedure's schedule and balance, the arrears. Every rule is the
services' (eakte.services.levy.objections, changes, payments): a refused field comes back named at its control.

The procedure page (levy.procedure, helper core's) shows this module's section through the template global
`levy_after_notice(procedure_id)` (templates levy/payments_section.html)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eakte.clock import office_today
from eakte.errors import Conflict, EakteError, Forbidden, Invalid, PaymentBookedAlready
from eakte.services.levy import changes, objections, payments, queries
from eakte.services.levy.after_notice import AfterNotice, after_notice
from eakte.web.auth import current_actor, login_required
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.forms import PlainForm
from eakte.web.i18n import fmt_money
from eakte.web.runtime import runtime

bp = Blueprint("levy_payments", __name__)
CHANGE_KINDS = ("change", "cancellation")


def _crumbs(*more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Fehlbelegungsabgabe"), url_for("levy.index")), *more]


def _procedure_crumbs(view: queries.ProcedureView, last: str) -> list[tuple[str, str | None]]:
    name = view.flat.get("flat_id") or view.case.reference
    return _crumbs((str(name), url_for("levy.procedure", procedure_id=view.procedure.id)), (last, None))


def _csrf_checked() -> None:
    if not PlainForm().validate_on_submit():
        raise Invalid("the form has expired", detail_de="Das Formular ist abgelaufen; bitte erneut senden")


def _back(procedure_id: int, anchor: str = "after-notice-heading") -> Response:
    return redirect(url_for("levy.procedure", procedure_id=procedure_id, _anchor=anchor), code=303)  # type: ignore[return-value]


def _day(name: str, errors: dict[str, str], label: str) -> dt.date | None:
    text = (request.form.get(name) or "").strip()
    if not text:
        errors[name] = _("Bitte geben Sie %(label)s an.", label=label)
        return None
    day = form_date(text)
    if day is None:
        errors[name] = _("Bitte ein Datum angeben (TT.MM.JJJJ).")
    return day


def _field_error(exc: Invalid, errors: dict[str, str], fields: tuple[str, ...], fallback: str) -> None:
    field = str(exc.extra.get("field") or "")
    errors[field if field in fields else fallback] = error_message(exc)


def _require_may_change(view: queries.ProcedureView) -> None:
    if not view.may_change:
        raise Forbidden("only the levy unit's clerks act on a levy procedure",
                        detail_de="Nur die Sachbearbeitung der Fehlbelegungsabgabe kann hier etwas erfassen")


# --- the procedure page's section ---------------------------------------------------------------------------

@bp.app_template_global("levy_after_notice")
def levy_after_notice(procedure_id: int) -> AfterNotice | None:
    return after_notice(runtime(), current_actor(), procedure_id)


# --- objection ----------------------------------------------------------------------------------------------

def _objection_page(procedure_id: int, form: dict[str, str], errors: dict[str, str], status: int = 200,
                    ) -> tuple[str, int]:
    rt, actor = runtime(), current_actor()
    view = queries.procedure_view(rt, actor, procedure_id)
    _require_may_change(view)
    deadline = objections.objection_deadline(rt, actor, procedure_id)
    received = form_date(form.get("received_on", "")) if form.get("received_on") else None
    late = bool(deadline and received and received > deadline.deadline)
    return render_template("levy/objection_form.html", view=view, procedure=view.procedure, deadline=deadline,
                           form=form, errors=errors, summary=list(errors.items()), late=late,
                           breadcrumbs=_procedure_crumbs(view, _("Widerspruch erfassen"))), status


@bp.get("/abgabe/vorgaenge/<int:procedure_id>/widerspruch")
@login_required
def objection_form(procedure_id: int) -> tuple[str, int]:
    return _objection_page(procedure_id, {"received_on": office_today().isoformat(), "grounds": ""}, {})


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/widerspruch")
@login_required
def file_objection(procedure_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in ("received_on", "grounds")}
    errors: dict[str, str] = {}
    received = _day("received_on", errors, _("den Eingang"))
    if errors or received is None:
        return _objection_page(procedure_id, form, errors, 422)
    try:
        entry = objections.file_objection(runtime(), current_actor(), procedure_id, received, form["grounds"])
    except Invalid as exc:
        _field_error(exc, errors, ("received_on", "grounds"), "grounds")
        return _objection_page(procedure_id, form, errors, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return _back(procedure_id)
    if entry.late:
        flash(_("Der Widerspruch ist erfasst – verspätet: die Frist endete am %(date)s.",
                date=entry.deadline.strftime("%d.%m.%Y")), "warning")
    else:
        flash(_("Der Widerspruch ist erfasst (fristgerecht bis %(date)s).",
                date=entry.deadline.strftime("%d.%m.%Y")), "success")
    return _back(procedure_id)


def _decision_page(objection_id: int, form: dict[str, str], errors: dict[str, str], status: int = 200,
                   ) -> tuple[str, int]:
    rt, actor = runtime(), current_actor()
    entry = objections.read_objection(rt, actor, objection_id)
    view = queries.procedure_view(rt, actor, entry.procedure_id)
    _require_may_change(view)
    choices = [("remedy", _("Abhilfe: neu berechnen und neuen Bescheid erlassen")),
               ("reject", _("Nichtabhilfe: Vorlage an die Widerspruchsbehörde"))]
    return render_template("levy/objection_decision.html", view=view, procedure=view.procedure, entry=entry,
                           form=form, errors=errors, summary=list(errors.items()), choices=choices,
                           breadcrumbs=_procedure_crumbs(view, _("Widerspruch entscheiden"))), status


def _authority() -> str:
    case_type = runtime().registry.get("levy")
    return str(case_type.settings.get("objection_authority") or "") if case_type is not None else ""


@bp.get("/abgabe/widersprueche/<int:objection_id>/entscheidung")
@login_required
def decision_form(objection_id: int) -> tuple[str, int]:
    return _decision_page(objection_id, {"outcome": "", "note": "", "forwarded_to": _authority()}, {})


@bp.post("/abgabe/widersprueche/<int:objection_id>/entscheidung")
@login_required
def decide(objection_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in ("outcome", "note", "forwarded_to")}
    errors: dict[str, str] = {}
    if form["outcome"] not in ("remedy", "reject"):
        errors["outcome"] = _("Bitte wählen Sie Abhilfe oder Nichtabhilfe.")
        return _decision_page(objection_id, form, errors, 422)
    rt, actor = runtime(), current_actor()
    entry = objections.read_objection(rt, actor, objection_id)
    try:
        objections.decide_objection(rt, actor, objection_id, form["outcome"] == "remedy", form["note"],
                                    form["forwarded_to"] or None)
    except Invalid as exc:
        _field_error(exc, errors, ("note", "forwarded_to"), "note")
        return _decision_page(objection_id, form, errors, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return _back(entry.procedure_id)
    flash(_("Abhilfe: Der Vorgang ist zur neuen Berechnung zurückgegeben.") if form["outcome"] == "remedy"
          else _("Nichtabhilfe: Der Widerspruch geht an die Widerspruchsbehörde."), "success")
    return _back(entry.procedure_id)


# --- §8 change or cancellation ------------------------------------------------------------------------------

def _change_page(procedure_id: int, form: dict[str, str], errors: dict[str, str], status: int = 200,
                 ) -> tuple[str, int]:
    view = queries.procedure_view(runtime(), current_actor(), procedure_id)
    _require_may_change(view)
    choices = [("change", _("Änderung: neu berechnen, Änderungsbescheid ab dem Datum")),
               ("cancellation", _("Aufhebung: Aufhebungsbescheid ab dem Datum, die Abgabe endet"))]
    return render_template("levy/change_form.html", view=view, procedure=view.procedure, form=form, errors=errors,
                           summary=list(errors.items()), choices=choices,
                           breadcrumbs=_procedure_crumbs(view, _("Änderung oder Aufhebung (§ 8 FBAG)"))), status


@bp.get("/abgabe/vorgaenge/<int:procedure_id>/aenderung")
@login_required
def change_form(procedure_id: int) -> tuple[str, int]:
    first = office_today().replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return _change_page(procedure_id, {"kind": "change", "effective_from": following.isoformat(), "reason": ""},
                        {})


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/aenderung")
@login_required
def change(procedure_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in ("kind", "effective_from", "reason")}
    errors: dict[str, str] = {}
    if form["kind"] not in CHANGE_KINDS:
        errors["kind"] = _("Bitte wählen Sie Änderung oder Aufhebung.")
    day = _day("effective_from", errors, _("das Datum, ab dem es gilt"))
    if errors or day is None:
        return _change_page(procedure_id, form, errors, 422)
    rt, actor = runtime(), current_actor()
    try:
        if form["kind"] == "change":
            changes.request_change(rt, actor, procedure_id, day, form["reason"])
        else:
            changes.cancel(rt, actor, procedure_id, day, form["reason"])
    except Invalid as exc:
        _field_error(exc, errors, ("effective_from", "reason"), "reason")
        return _change_page(procedure_id, form, errors, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return _back(procedure_id)
    flash(_("Die Änderung ist erfasst: bitte Haushalt und Einkommen prüfen und neu berechnen.")
          if form["kind"] == "change" else _("Die Aufhebung ist beantragt; eine zweite Person bestätigt sie."),
          "success")
    return _back(procedure_id)


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/aufhebung/bestaetigen")
@login_required
def confirm_cancellation(procedure_id: int) -> Response:
    _csrf_checked()
    try:
        changes.confirm_cancellation(runtime(), current_actor(), procedure_id)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return _back(procedure_id)
    flash(_("Die Abgabe ist aufgehoben; der Aufhebungsbescheid ist abgelegt."), "success")
    return _back(procedure_id)


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/aufhebung/verwerfen")
@login_required
def withdraw_cancellation(procedure_id: int) -> Response:
    _csrf_checked()
    try:
        changes.withdraw_cancellation(runtime(), current_actor(), procedure_id)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return _back(procedure_id)
    flash(_("Der Antrag auf Aufhebung ist verworfen; die Abgabe läuft weiter."), "success")
    return _back(procedure_id)


# --- payments -----------------------------------------------------------------------------------------------

def _payments_page(procedure_id: int, form: dict[str, str], errors: dict[str, str], status: int = 200,
                   ) -> tuple[str, int]:
    rt, actor = runtime(), current_actor()
    view = queries.procedure_view(rt, actor, procedure_id)
    balance = payments.procedure_balance(rt, actor, procedure_id)
    return render_template("levy/payments_procedure.html", view=view, procedure=view.procedure, balance=balance,
                           form=form, errors=errors, summary=list(errors.items()), may_pay=view.may_change,
                           breadcrumbs=_procedure_crumbs(view, _("Zahlungen"))), status


def _empty_payment() -> dict[str, str]:
    return {"paid_on": office_today().isoformat(), "amount": "", "reference": ""}


@bp.get("/abgabe/vorgaenge/<int:procedure_id>/zahlungen")
@login_required
def procedure_payments(procedure_id: int) -> tuple[str, int]:
    return _payments_page(procedure_id, _empty_payment(), {})


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/zahlungen")
@login_required
def record_payment(procedure_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in ("paid_on", "amount", "reference")}
    errors: dict[str, str] = {}
    day = _day("paid_on", errors, _("das Zahlungsdatum"))
    if not form["amount"]:
        errors["amount"] = _("Bitte geben Sie den Betrag an.")
    if errors or day is None:
        return _payments_page(procedure_id, form, errors, 422)
    separate = request.form.get("separate") == "1"
    try:
        entry = payments.record_payment(runtime(), current_actor(), procedure_id, day, form["amount"],
                                        form["reference"] or None, separate=separate)
    except Invalid as exc:
        _field_error(exc, errors, ("paid_on", "amount", "reference"), "amount")
        return _payments_page(procedure_id, form, errors, 422)
    except PaymentBookedAlready as exc:  # the form comes back with the box to confirm it
        errors["separate"] = error_message(exc)
        return _payments_page(procedure_id, form, errors, 409)
    flash(_("Zahlung über %(amount)s erfasst.", amount=fmt_money(entry.amount)), "success")
    return redirect(url_for("levy_payments.procedure_payments", procedure_id=procedure_id), code=303)  # type: ignore[return-value]


def _reversal_page(payment_id: int, reason: str, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    rt, actor = runtime(), current_actor()
    payment = payments.read_payment(rt, actor, payment_id)
    view = queries.procedure_view(rt, actor, payment.procedure_id)
    _require_may_change(view)
    return render_template("levy/payment_reversal.html", view=view, procedure=view.procedure, payment=payment,
                           reason=reason, errors=errors, summary=list(errors.items()),
                           breadcrumbs=_procedure_crumbs(view, _("Zahlung stornieren"))), status


@bp.get("/abgabe/zahlungen/<int:payment_id>/storno")
@login_required
def reversal_form(payment_id: int) -> tuple[str, int]:
    return _reversal_page(payment_id, "", {})


@bp.post("/abgabe/zahlungen/<int:payment_id>/storno")
@login_required
def reverse_payment(payment_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    reason = (request.form.get("reason") or "").strip()
    try:
        reversal = payments.reverse_payment(runtime(), current_actor(), payment_id, reason)
    except Invalid as exc:
        return _reversal_page(payment_id, reason, {"reason": error_message(exc)}, 422)
    except Conflict as exc:
        return _reversal_page(payment_id, reason, {"reason": error_message(exc)}, 409)
    flash(_("Zahlung über %(amount)s storniert.", amount=fmt_money(reversal.amount)), "success")
    return redirect(url_for("levy_payments.procedure_payments", procedure_id=reversal.procedure_id), code=303)  # type: ignore[return-value]


def _import_page(report: payments.ImportReport | None = None, error: str | None = None,
                 status: int = 200) -> tuple[str, int]:
    german = str(get_locale() or "de") == "de"
    return render_template("levy/payments_import.html", report=report, error=error, german=german,
                           summary=[("file", error)] if error else [],
                           breadcrumbs=_crumbs((_("Zahlungen importieren"), None))), status


@bp.get("/abgabe/zahlungen")
@login_required
def import_form() -> tuple[str, int]:
    return _import_page()


@bp.post("/abgabe/zahlungen")
@login_required
def import_file() -> tuple[str, int]:
    _csrf_checked()
    storage = request.files.get("file")
    if storage is None or not storage.filename:
        return _import_page(error=_("Bitte wählen Sie die CSV-Datei der Stadtkasse aus."), status=422)
    try:
        report = payments.import_payments(runtime(), current_actor(), storage.stream, storage.filename)
    except EakteError as exc:
        if exc.status not in (409, 413, 422):
            raise
        return _import_page(error=error_message(exc), status=exc.status)
    return _import_page(report)


@bp.get("/abgabe/rueckstaende")
@login_required
def arrears() -> str:
    text = (request.args.get("stichtag") or "").strip()
    day = form_date(text) if text else None
    today = day or office_today()
    rows = payments.arrears(runtime(), current_actor(), today)
    return render_template("levy/payments_arrears.html", rows=rows, today=today,
                           total=sum((r.amount for r in rows), Decimal("0.00")),
                           breadcrumbs=_crumbs((_("Rückstände"), None)))

