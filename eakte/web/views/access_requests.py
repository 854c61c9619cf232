"""Akteneinsicht: auditors and admins ask for recorded-reason access to a restricted file by its reference; the
head of the personnel office grants or refuses. Every rule is the service's (eakte.services.access_requests)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eakte.errors import Conflict, Invalid
from eakte.services import access_requests
from eakte.web.auth import current_actor, login_required
from eakte.web.errors import error_message
from eakte.web.i18n import fmt_datetime
from eakte.web.runtime import runtime

bp = Blueprint("access_requests", __name__)
_FIELDS = {"reference": "access-reference", "reason": "access-reason"}  # service field → id of its control


@dataclass(frozen=True)
class AskForm:
    """The form "Einsicht beantragen" as sent: kept as typed, to show again beside its errors."""

    reference: str = ""
    reason: str = ""

    @classmethod
    def from_request(cls) -> "AskForm":
        return cls(request.form.get("reference", "").strip(), request.form.get("reason", "").strip())


def _page(form: AskForm, errors: dict[str, str], status: int, *, refuse_id: int | None = None,
          comment: str = "") -> tuple[str, int]:
    data = access_requests.page(runtime(), current_actor())
    return render_template("access_requests/index.html", data=data, form=form, errors=errors,
                           summary=list(errors.items()), refuse_id=refuse_id, comment=comment,
                           breadcrumbs=[(_("Akteneinsicht"), None)]), status


def _done() -> Response:
    return redirect(url_for("access_requests.index"), code=303)


def _stale(exc: Conflict) -> Response:
    """A step on a request no longer open (a second tab, the back button): the reason above the current list,
    not an error page that leads away from it."""
    flash(error_message(exc), "error")
    return _done()


@bp.get("/access-requests")
@login_required
def index() -> tuple[str, int]:
    return _page(AskForm(), {}, 200)


@bp.post("/access-requests")
@login_required
def create() -> Response | tuple[str, int]:
    form = AskForm.from_request()
    errors: dict[str, str] = {}
    if not form.reference:
        errors[_FIELDS["reference"]] = _("Bitte geben Sie das Aktenzeichen der Akte an.")
    if not form.reason:
        errors[_FIELDS["reason"]] = _("Bitte begründen Sie, wozu Sie die Akte einsehen.")
    if not errors:
        try:
            entry = access_requests.ask_by_reference(runtime(), current_actor(), form.reference, form.reason)
        except (Invalid, Conflict) as exc:
            # A file already readable, or a request already waiting, concerns the reference named.
            errors[_FIELDS.get(exc.extra.get("field") or "reference", _FIELDS["reference"])] = error_message(exc)
        else:
            if entry.active:
                flash(_("Einsicht in %(reference)s sofort gewährt bis %(until)s; sie ist für die Leitung als "
                        "sofort gewährt gekennzeichnet.", reference=entry.case_reference,
                        until=fmt_datetime(entry.expires_at)), "success")
            else:
                flash(_("Antrag auf Einsicht in %(reference)s gestellt.", reference=entry.case_reference), "success")
            return _done()
    return _page(form, errors, 422)


@bp.post("/access-requests/<int:request_id>/grant")
@login_required
def grant(request_id: int) -> Response:
    try:
        entry = access_requests.decide_grant(runtime(), current_actor(), request_id)
    except Conflict as exc:  # decided or withdrawn meanwhile (another tab, another head): the list shows how
        return _stale(exc)
    flash(_("Einsicht in %(reference)s für %(user)s gewährt bis %(until)s.", reference=entry.case_reference,
            user=entry.user_name, until=fmt_datetime(entry.expires_at)), "success")
    return _done()


@bp.post("/access-requests/<int:request_id>/refuse")
@login_required
def refuse(request_id: int) -> Response | tuple[str, int]:
    comment = request.form.get("comment", "").strip()
    try:
        entry = access_requests.decide_refuse(runtime(), current_actor(), request_id, comment)
    except Conflict as exc:
        return _stale(exc)
    except Invalid as exc:  # no reason given: shown at that request's field
        if exc.extra.get("field") != "comment":
            raise
        error = _("Bitte begründen Sie die Ablehnung.") if not comment else error_message(exc)
        return _page(AskForm(), {f"refuse-comment-{request_id}": error}, 422, refuse_id=request_id,
                     comment=comment)
    flash(_("Antrag von %(user)s auf Einsicht in %(reference)s abgelehnt.", user=entry.user_name,
            reference=entry.case_reference), "success")
    return _done()


@bp.post("/access-requests/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int) -> Response:
    try:
        entry = access_requests.take_back(runtime(), current_actor(), request_id)
    except Conflict as exc:
        return _stale(exc)
    flash(_("Antrag auf Einsicht in %(reference)s zurückgezogen.", reference=entry.case_reference), "success")
    return _done()
