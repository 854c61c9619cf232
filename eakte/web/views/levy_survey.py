"""The misallocation levy in the browser (levy_survey): the survey runs (/abgabe/erhebungen), a new run from a
landlord's list (/abgabe/erhebungen/neu: the file, the landlord and the dates; a refused field is shown at its
control, the list's bad lines listed), one run's households with their step and letters, the print batch, and
sending the reminders. Every rule is the services' (eakte.services.levy.survey)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _

from eakte.clock import office_today
from eakte.errors import Conflict, Forbidden, Invalid
from eakte.presenters import content_disposition
from eakte.services.levy import survey as service
from eakte.services.levy.common import levy_type
from eakte.web.auth import current_actor, login_required
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.forms import PlainForm
from eakte.web.runtime import runtime

bp = Blueprint("levy_survey", __name__)

CONTROLS = ("landlord", "reference_date", "period_start", "period_months", "deadline")
LABELS: dict[str, Callable[[], str]] = {
    "file": lambda: _("Liste des Vermieters (CSV)"),
    "landlord": lambda: _("Vermieter"),
    "reference_date": lambda: _("Stichtag"),
    "period_start": lambda: _("Beginn des Leistungszeitraums"),
    "period_months": lambda: _("Dauer des Leistungszeitraums (Monate)"),
    "deadline": lambda: _("Antwortfrist"),
}


def _sid(name: str) -> str:
    return f"survey-{name}"


def _csrf_checked() -> None:
    if not PlainForm().validate_on_submit():
        raise Invalid("the form has expired", detail_de="Das Formular ist abgelaufen; bitte erneut senden")


def _breadcrumbs(*more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Fehlbelegungsabgabe"), None), (_("Erhebungen"), url_for("levy_survey.index")), *more]


@bp.get("/abgabe/erhebungen")
@login_required
def index() -> str:
    surveys = service.survey_list(runtime(), current_actor())
    return render_template("levy/survey_index.html", surveys=surveys, may_run=_may_run(),
                           breadcrumbs=[(_("Fehlbelegungsabgabe"), None), (_("Erhebungen"), None)])


def _may_run() -> bool:
    return service.may_run_survey(runtime(), current_actor())


def _defaults() -> dict[str, str]:
    settings = levy_type(runtime()).settings
    today = office_today()
    start = service.add_months(today.replace(day=1), 1)
    return {"landlord": "", "reference_date": dt.date(start.year, 1, 1).isoformat(),
            "period_start": start.isoformat(), "period_months": str(settings["period_months"]),
            "deadline": (today + dt.timedelta(days=int(settings["response_days"]))).isoformat()}


def _form_page(form: dict[str, str], errors: dict[str, str] | None = None, lines: list[dict[str, Any]] | None = None,
               status: int = 200) -> tuple[str, int]:
    errors = errors or {}
    labels = {_sid(k): v() for k, v in LABELS.items()}
    return render_template("levy/survey_form.html", form=form, errors=errors, labels=labels, sid=_sid,
                           lines=lines or [],
                           summary=[(k, f"{labels.get(k, k)}: {v}") for k, v in errors.items()],
                           breadcrumbs=_breadcrumbs((_("Neue Erhebung"), None))), status


@bp.get("/abgabe/erhebungen/neu")
@login_required
def new() -> tuple[str, int]:
    if not _may_run():
        raise Forbidden("only the levy unit's clerks run a survey",
                        detail_de="Nur die Sachbearbeitung der Fehlbelegungsabgabe kann eine Erhebung durchführen")
    return _form_page(_defaults())


def _request_of(form: dict[str, str], filename: str | None) -> tuple[service.SurveyRequest | None, dict[str, str]]:
    """The request from the form, or the fields a browser could not send right (German messages)."""
    errors: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for name in ("reference_date", "period_start", "deadline"):
        days[name] = form_date(form[name]) if form[name] else None
        if form[name] and days[name] is None:
            errors[_sid(name)] = _("Bitte ein Datum im Format TT.MM.JJJJ angeben.")
    for name in ("reference_date", "period_start"):
        if not form[name]:
            errors[_sid(name)] = _("Bitte angeben.")
    months = None
    if form["period_months"]:
        if form["period_months"].isascii() and form["period_months"].isdigit() and len(form["period_months"]) <= 3:
            months = int(form["period_months"])
        else:
            errors[_sid("period_months")] = _("Bitte eine ganze Zahl angeben.")
    if not form["landlord"]:
        errors[_sid("landlord")] = _("Bitte angeben.")
    if errors:
        return None, errors
    assert days["reference_date"] is not None and days["period_start"] is not None
    return service.SurveyRequest(landlord=form["landlord"], reference_date=days["reference_date"],
                                 period_start=days["period_start"], deadline=days["deadline"],
                                 period_months=months, source_name=filename), {}


@bp.post("/abgabe/erhebungen/neu")
@login_required
def create() -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in CONTROLS}
    upload = request.files.get("file")
    req, errors = _request_of(form, upload.filename if upload is not None else None)
    if upload is None or not upload.filename:
        errors[_sid("file")] = _("Bitte die Liste als CSV-Datei auswählen.")
    if errors or req is None or upload is None:
        return _form_page(form, errors, status=422)
    try:
        result = service.run_survey(runtime(), current_actor(), req, upload.stream)
    except Invalid as exc:
        field = str(exc.extra.get("field") or "file")
        lines = [e for e in exc.extra.get("errors") or [] if "line" in e]
        message = _("Die Liste enthält Fehler; es wurde nichts gespeichert.") if lines else error_message(exc)
        return _form_page(form, {_sid(field if field in LABELS else "file"): message}, lines, 422)
    except Conflict as exc:
        return _form_page(form, {_sid("file"): error_message(exc)}, status=409)
    flash(_("Erhebung %(id)s: %(n)s Haushalte angeschrieben.", id=result.survey_id, n=result.letters), "success")
    for problem in result.skipped:
        flash(_("Zeile %(line)s übersprungen: %(message)s", line=problem.line, message=problem.message_de), "warning")
    return redirect(url_for("levy_survey.show", survey_id=result.survey_id), code=303)


@bp.get("/abgabe/erhebungen/<int:survey_id>")
@login_required
def show(survey_id: int) -> str:
    page = service.survey_page(runtime(), current_actor(), survey_id)
    return render_template("levy/survey_show.html", page=page, survey=page.survey, today=office_today().isoformat(),
                           breadcrumbs=_breadcrumbs((_("Erhebung %(id)s", id=survey_id), None)))


@bp.get("/abgabe/erhebungen/<int:survey_id>/druckstapel")
@login_required
def print_batch(survey_id: int) -> Response:
    batch = service.print_batch(runtime(), current_actor(), survey_id)
    return Response(stream_with_context(batch.chunks), mimetype="application/pdf", direct_passthrough=True,
                    headers={"Content-Disposition": content_disposition(batch.filename),
                             "Content-Length": str(batch.size), "X-Content-Type-Options": "nosniff",
                             "Cache-Control": "private, no-store"})


@bp.post("/abgabe/erhebungen/erinnerungen")
@login_required
def remind() -> Response:
    _csrf_checked()
    sent = service.send_reminders(runtime(), current_actor())
    flash(_("%(n)s Erinnerungen versandt.", n=sent) if sent else _("Keine Erinnerung fällig."),
          "success" if sent else "info")
    back = request.form.get("survey_id", type=int)
    return redirect(url_for("levy_survey.show", survey_id=back) if back else url_for("levy_survey.index"), code=303)
