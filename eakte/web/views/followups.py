"""Follow-ups (Wiedervorlage) in the browser: setting one from the case page, marking it done, postponing it.
The Postkorb lists the due ones (views/inbox.py); every rule is the service's (eakte.services.followups)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eakte.errors import Forbidden, Invalid
from eakte.services import cases, followups
from eakte.web.auth import current_actor, local_path, login_required
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.i18n import fmt_date
from eakte.web.runtime import runtime

bp = Blueprint("followups", __name__)
_FIELDS = {"due_on": "followup-due_on", "note": "followup-note", "for_unit": "followup-for",
           "procedure_id": "followup-procedure"}  # service field → id of its control on the form


@dataclass(frozen=True)
class SetForm:
    """The form "Wiedervorlage setzen" as sent: kept as typed, to show again beside its errors."""

    due_on: str = ""
    note: str = ""
    target: str = "me"  # "me" or "unit"
    procedure: str = ""

    @classmethod
    def from_request(cls) -> "SetForm":
        f = request.form
        return cls(f.get("due_on", "").strip(), f.get("note", "").strip(),
                   "unit" if f.get("target") == "unit" else "me", f.get("procedure", "").strip())


def _set_page(case_id: int, form: SetForm, errors: dict[str, str], status: int) -> tuple[str, int]:
    rt, actor = runtime(), current_actor()
    case = cases.read_case(rt, actor, case_id)
    return render_template("followups/new.html", case=case, form=form, errors=errors,
                           panel=followups.case_panel(rt, actor, case_id), summary=list(errors.items()),
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (_("Wiedervorlage setzen"), None)]), status


@bp.get("/cases/<int:case_id>/followups/new")
@login_required
def new(case_id: int) -> tuple[str, int]:
    return _set_page(case_id, SetForm(), {}, 200)


@bp.post("/cases/<int:case_id>/followups")
@login_required
def create(case_id: int) -> Response | tuple[str, int]:
    form = SetForm.from_request()
    errors: dict[str, str] = {}
    due_on = form_date(form.due_on) if form.due_on else None
    if due_on is None:
        errors[_FIELDS["due_on"]] = _("Bitte geben Sie das Datum der Wiedervorlage an (TT.MM.JJJJ).")
    if not form.note:
        errors[_FIELDS["note"]] = _("Bitte geben Sie einen Hinweis ein.")
    procedure_id = int(form.procedure) if form.procedure.isdigit() else None
    if due_on is not None and not errors:
        try:
            followups.set_followup(runtime(), current_actor(), case_id, followups.NewFollowUp(
                due_on, form.note, for_unit=form.target == "unit", procedure_id=procedure_id))
        except (Invalid, Forbidden) as exc:
            if exc.extra.get("field") not in _FIELDS:
                raise  # not about the form (e.g. no right to change the case): the error page
            errors[_FIELDS[exc.extra["field"]]] = error_message(exc)
    if errors or due_on is None:
        return _set_page(case_id, form, errors, 422)
    flash(_("Wiedervorlage zum %(date)s gesetzt.", date=fmt_date(due_on)), "success")
    return redirect(url_for("cases.show", case_id=case_id) + "#followups-heading", code=303)


def _back(entry: followups.FollowUpEntry) -> str:
    return local_path(request.form.get("next")) or url_for("cases.show", case_id=entry.case_id)


@bp.post("/followups/<int:followup_id>/done")
@login_required
def done(followup_id: int) -> Response:
    entry = followups.complete_followup(runtime(), current_actor(), followup_id)
    flash(_("Wiedervorlage zu %(reference)s erledigt.", reference=entry.case_reference), "success")
    return redirect(_back(entry), code=303)


def _postpone_page(entry: followups.FollowUpEntry, value: str, error: str | None,
                   status: int) -> tuple[str, int]:
    return render_template("followups/postpone.html", f=entry, value=value, error=error,
                           next_url=local_path(request.values.get("next")) or "",
                           summary=[("postpone-due_on", error)] if error else [],
                           breadcrumbs=[(_("Postkorb"), url_for("inbox.index")),
                                        (entry.case_reference, url_for("cases.show", case_id=entry.case_id)),
                                        (_("Wiedervorlage verschieben"), None)]), status


@bp.get("/followups/<int:followup_id>/postpone")
@login_required
def postpone_form(followup_id: int) -> tuple[str, int]:
    entry = followups.read_followup(runtime(), current_actor(), followup_id)
    return _postpone_page(entry, followups.suggested_postpone().isoformat(), None, 200)


@bp.post("/followups/<int:followup_id>/postpone")
@login_required
def postpone(followup_id: int) -> Response | tuple[str, int]:
    value = request.form.get("due_on", "").strip()
    due_on = form_date(value) if value else None
    if due_on is None:
        entry = followups.read_followup(runtime(), current_actor(), followup_id)
        return _postpone_page(entry, value, _("Bitte geben Sie das neue Datum an (TT.MM.JJJJ)."), 422)
    try:
        entry = followups.postpone_followup(runtime(), current_actor(), followup_id, due_on)
    except Invalid as exc:  # a date in the past: shown at the field
        entry = followups.read_followup(runtime(), current_actor(), followup_id)
        return _postpone_page(entry, value, error_message(exc), 422)
    flash(_("Wiedervorlage zu %(reference)s auf den %(date)s verschoben.", reference=entry.case_reference,
            date=fmt_date(due_on)), "success")
    return redirect(_back(entry), code=303)
