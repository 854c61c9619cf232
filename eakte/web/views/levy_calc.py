"""The misallocation levy in the browser (levy_calc): the calculator (/abgabe/rechner) and the table versions
(/abgabe/tabellen: the list with their confirmation; admins load a TOML version and confirm one). Every rule is
the services' (eakte.services.levy.tables): the form builds the calculator's payload, a refused field comes back
named and is shown at its control."""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _

from eakte.clock import office_today
from eakte.errors import Conflict, Invalid
from eakte.services.levy import tables as service
from eakte.web.auth import current_actor, current_principal, login_required
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.forms import PlainForm
from eakte.web.runtime import runtime
from workflows.levy.tables import AREA_CLASS_LABELS, BUILD_CLASS_LABELS
from workflows.levy.terms import HEATING, MIETENSTUFEN

bp = Blueprint("levy_calc", __name__)

CONTROLS = ("household_size", "children", "annual_income", "answered", "exempt", "area_m2", "build_year", "heating",
            "mietenstufe", "reference_date")
MAX_UPLOAD = 200_000
LABELS: dict[str, Callable[[], str]] = {
    "household_size": lambda: _("Personen im Haushalt"),
    "children": lambda: _("davon Kinder"),
    "annual_income": lambda: _("Jahreseinkommen des Haushalts (€)"),
    "answered": lambda: _("Auskunft erteilt"),
    "exempt": lambda: _("Ausnahme"),
    "area_m2": lambda: _("Wohnfläche (m²)"),
    "build_year": lambda: _("Baujahr (Bezugsfertigkeit)"),
    "heating": lambda: _("Heizung"),
    "mietenstufe": lambda: _("Mietenstufe"),
    "reference_date": lambda: _("Stichtag"),
}
HEATING_WORDS: dict[str, Callable[[], str]] = {"stove": lambda: _("Ofenheizung"),
                                               "central": lambda: _("Sammelheizung")}
EXEMPT_WORDS: dict[str, Callable[[], str]] = {
    "transfer_benefits": lambda: _("Alle Bewohner beziehen Transferleistungen (Wohngeld, Bürgergeld, …)"),
    "temporary_use": lambda: _("Nur vorübergehende Nutzung (unter sechs Monaten)"),
}
OUTCOME_WORDS: dict[str, Callable[[], str]] = {
    "levied": lambda: _("Abgabe wird erhoben"), "below_threshold": lambda: _("Keine Abgabe: unter der Schwelle"),
    "exempt": lambda: _("Keine Abgabe: Ausnahme"), "no_answer": lambda: _("Keine Auskunft: höchste Stufe"),
}
_GERMAN_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")


def _cid(name: str) -> str:
    return f"calc-{name}"


def form_decimal(text: str) -> str:
    """A number as typed (45.000,50 · 45000,5 · 45000.50 · 60) in the calculator's spelling (45000.50)."""
    value = re.sub(r"[\s€]|m²", "", text)
    if "," in value:
        return value.replace(".", "").replace(",", ".")
    return value.replace(".", "") if _GERMAN_THOUSANDS.fullmatch(value) else value


def payload_of(form: dict[str, str]) -> dict[str, Any]:
    """The calculator's JSON from the form (the very payload the API takes); empty controls are left out."""
    payload: dict[str, Any] = {}
    for name in ("household_size", "children", "build_year", "heating", "mietenstufe"):
        if form.get(name):
            payload[name] = form[name]
    for name in ("annual_income", "area_m2"):
        if form.get(name):
            payload[name] = form_decimal(form[name])
    if form.get("reference_date"):
        day = form_date(form["reference_date"])
        payload["reference_date"] = day.isoformat() if day is not None else form["reference_date"]
    payload["answered"] = form.get("answered", "ja") != "nein"
    payload["exempt"] = form.get("exempt") or None
    return payload


def _message(exc: Invalid) -> str:
    """The field's own message (the service's detail names the field, which the page shows at it anyway)."""
    errors = exc.extra.get("errors") or []
    if errors and errors[0].get("messages_de") and str(get_locale() or "de") == "de":
        return str(errors[0]["messages_de"][0])
    return error_message(exc)


def _calc_page(form: dict[str, str], errors: dict[str, str], calculation: service.Calculation | None = None,
               status: int = 200) -> tuple[str, int]:
    active = service.active(runtime(), current_actor())
    labels = {_cid(k): v() for k, v in LABELS.items()}
    return render_template(
        "levy/calc_form.html", form=form, errors=errors, cid=_cid, labels=labels,
        summary=[(k, f"{labels.get(k, k)}: {v}") for k, v in errors.items()], active=active,
        calculation=calculation, result=calculation.result if calculation else None,
        heating_options=[(k, HEATING_WORDS[k]()) for k in HEATING], mietenstufen=[(m, m) for m in MIETENSTUFEN],
        exempt_options=[(k, v()) for k, v in EXEMPT_WORDS.items()],
        yes_no=[("ja", _("Ja")), ("nein", _("Nein – Festsetzung nach der höchsten Stufe"))],
        heating_word=lambda k: HEATING_WORDS[k]() if k in HEATING_WORDS else k,
        exempt_word=lambda k: EXEMPT_WORDS[k]() if k in EXEMPT_WORDS else "–",
        outcome_word=lambda k: OUTCOME_WORDS[k]() if k in OUTCOME_WORDS else k,
        build_class_label=BUILD_CLASS_LABELS.get, area_class_label=AREA_CLASS_LABELS.get,
        breadcrumbs=[(_("Fehlbelegungsabgabe"), None), (_("Rechner"), None)]), status


@bp.get("/abgabe/rechner")
@login_required
def calculator() -> tuple[str, int]:
    case_type = runtime().registry.get("levy")
    stufe = str(case_type.settings.get("mietenstufe") or "I") if case_type is not None else "I"
    form = {"household_size": "1", "children": "0", "answered": "ja", "heating": "central", "mietenstufe": stufe,
            "reference_date": office_today().isoformat()}
    return _calc_page(form, {})


@bp.post("/abgabe/rechner")
@login_required
def calculate() -> tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in CONTROLS}
    try:
        calculation = service.calculate(runtime(), current_actor(), payload_of(form))
    except Invalid as exc:
        field = str(exc.extra.get("field") or "")
        return _calc_page(form, {_cid(field if field in CONTROLS else "household_size"): _message(exc)}, status=422)
    return _calc_page(form, {}, calculation)


def _csrf_checked() -> None:
    if not PlainForm().validate_on_submit():
        raise Invalid("the form has expired", detail_de="Das Formular ist abgelaufen; bitte erneut senden")


# --- the table versions -------------------------------------------------------------------------------------

def _tables_page(form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    rows = service.list_versions(runtime(), current_actor())
    principal = current_principal()
    errors = errors or {}
    labels = {"tables-label": _("Bezeichnung"), "tables-note": _("Hinweis (Quelle)"),
              "tables-toml": _("Tabelle (TOML)"), "tables-file": _("oder TOML-Datei hochladen")}
    return render_template("levy/calc_tables.html", rows=rows, is_admin=bool(principal and principal.is_admin),
                           form=form or {}, errors=errors, labels=labels,
                           summary=[(k, f"{labels.get(k, k)}: {v}") for k, v in errors.items()],
                           breadcrumbs=[(_("Fehlbelegungsabgabe"), None), (_("Tabellen"), None)]), status


@bp.get("/abgabe/tabellen")
@login_required
def tables() -> tuple[str, int]:
    return _tables_page()


@bp.post("/abgabe/tabellen")
@login_required
def load() -> Response | tuple[str, int]:
    _csrf_checked()
    form = {k: (request.form.get(k) or "").strip() for k in ("label", "note")}
    form["toml"] = request.form.get("toml") or ""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            return _tables_page(form, {"tables-file": _("Die Datei ist zu groß.")}, 422)
        try:
            form["toml"] = data.decode("utf-8")
        except UnicodeDecodeError:
            return _tables_page(form, {"tables-file": _("Die Datei ist keine UTF-8-Textdatei.")}, 422)
    try:
        row = service.load_tables(runtime(), current_actor(), form["toml"], form["label"], form["note"])
    except (Invalid, Conflict) as exc:
        field = str(exc.extra.get("field") or "toml")
        return _tables_page(form, {f"tables-{field if field in ('label', 'note') else 'toml'}": error_message(exc)},
                            422)
    flash(_("Die Tabelle %(label)s ist geladen und gilt ab sofort; sie ist noch zu bestätigen.", label=row.label),
          "success")
    return redirect(url_for("levy_calc.tables"), code=303)


def _confirm(version: int | str) -> Response:
    _csrf_checked()
    try:
        row = service.confirm_tables(runtime(), current_actor(), version)
    except Conflict as exc:
        flash(error_message(exc), "error")
    else:
        flash(_("Die Tabelle %(label)s ist bestätigt.", label=row.label), "success")
    return redirect(url_for("levy_calc.tables"), code=303)


@bp.post("/abgabe/tabellen/<int:version_id>/bestaetigen")
@login_required
def confirm(version_id: int) -> Response:
    return _confirm(version_id)


@bp.post("/abgabe/tabellen/standard/bestaetigen")
@login_required
def confirm_default() -> Response:
    return _confirm("default")
