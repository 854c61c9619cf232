"""Deputies (Vertretung): one's own deputies for date ranges; the rules (same unit, dates) are the service's."""
from __future__ import annotations


from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eakte.errors import EakteError, Forbidden, Invalid, NotFound
from eakte.services import workflow
from eakte.web.auth import current_actor, login_required
from eakte.web.dates import form_date
from eakte.web.runtime import runtime

bp = Blueprint("deputies", __name__)


def _render(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
            status: int = 200) -> tuple[str, int]:
    periods = workflow.my_deputies(runtime(), current_actor())
    errors = errors or {}
    return render_template("deputies/index.html", periods=periods, errors=errors, form=form or {},
                           summary=list(errors.items()),
                           breadcrumbs=[(_("Vertretung"), None)]), status


@bp.get("/deputies")
@login_required
def index() -> tuple[str, int]:
    return _render()


@bp.post("/deputies")
@login_required
def add() -> object:
    form = {k: request.form.get(k, "").strip() for k in ("username", "starts_on", "ends_on")}
    errors: dict[str, str] = {}
    if not form["username"]:
        errors["username"] = _("Bitte geben Sie den Benutzernamen der Vertretung ein.")
    starts, ends = form_date(form["starts_on"]), form_date(form["ends_on"])
    if starts is None:
        errors["starts_on"] = _("Bitte geben Sie das Anfangsdatum an (TT.MM.JJJJ).")
    if ends is None:
        errors["ends_on"] = _("Bitte geben Sie das Enddatum an (TT.MM.JJJJ).")
    elif starts is not None and ends < starts:  # the form's own sanity; the service refuses it as well
        errors["ends_on"] = _("Das Enddatum darf nicht vor dem Anfangsdatum liegen.")
    if not errors:
        assert starts is not None and ends is not None
        try:
            workflow.add_deputy(runtime(), current_actor(), workflow.DeputyPeriod(form["username"], starts, ends))
        except (Invalid, Forbidden) as exc:  # the service's refusal, shown at the field it concerns
            errors["username"] = _message(exc)
    if errors:
        return _render(errors, form, 422)
    flash(_("Vertretung durch %(name)s gespeichert.", name=form["username"]), "success")
    return redirect(url_for("deputies.index"), code=303)


@bp.post("/deputies/end")
@login_required
def end() -> object:
    username, starts = request.form.get("username", ""), form_date(request.form.get("starts_on", ""))
    if starts is None:
        raise NotFound("no such deputy period", detail_de="Diese Vertretung gibt es nicht")
    workflow.end_deputy(runtime(), current_actor(), username, starts)
    flash(_("Vertretung durch %(name)s beendet.", name=username), "success")
    return redirect(url_for("deputies.index"), code=303)


def _message(exc: EakteError) -> str:
    return exc.detail_de if str(get_locale() or "de") == "de" and exc.detail_de else exc.detail
