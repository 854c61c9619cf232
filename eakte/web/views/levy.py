"""The misallocation levy in the browser (levy): the list of procedures (/abgabe, filters by step and overdue) and
a procedure's page (the flat, the household form, the income evidence, every computation with its inputs, the
notices, the current step with its task). Every rule is the services' (eakte.services.levy): the household form
builds the payload and calls the service; a refused field comes back named and is shown at its control. The
steps are decided on the task page (Postkorb)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _

from eakte.errors import Conflict, EakteError, Invalid
from eakte.services import documents
from eakte.services.levy import assessment, household, queries
from eakte.web.auth import current_actor, login_required
from eakte.web.case_type_roles import case_type_nav_visible, case_type_roles
from eakte.web.errors import error_message
from eakte.web.forms import PlainForm
from eakte.web.i18n import fmt_money
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime
from workflows.levy.case_type import STEPS
from workflows.levy.household import MAX_MEMBERS
from workflows.levy.terms import BENEFITS, INCOME_EVIDENCE_KIND

bp = Blueprint("levy", __name__)
PAGE_SIZE = 25
MEMBER_FIELDS = ("name", "birth_date", "child", "tenant", "annual_income", "benefit")

STEP_WORDS: dict[str, Callable[[], str]] = {
    "erhebung": lambda: _("Erhebung"), "pruefung": lambda: _("Prüfung"), "berechnung": lambda: _("Berechnung"),
    "vier_augen": lambda: _("Vier-Augen-Prüfung"), "bescheid": lambda: _("Festsetzungsbescheid"),
    "laufend": lambda: _("Laufende Abgabe"), "widerspruch": lambda: _("Widerspruchsprüfung"),
    "finished": lambda: _("abgeschlossen"),
}
BENEFIT_WORDS: dict[str, Callable[[], str]] = {
    "wohngeld": lambda: _("Wohngeld"), "buergergeld": lambda: _("Bürgergeld"),
    "grundsicherung": lambda: _("Grundsicherung"), "sozialhilfe": lambda: _("Hilfe zum Lebensunterhalt"),
    "asylbewerberleistungen": lambda: _("Leistungen nach dem AsylbLG"),
}
NOTICE_WORDS: dict[str, Callable[[], str]] = {
    "assessment": lambda: _("Festsetzungsbescheid"), "change": lambda: _("Änderungsbescheid"),
    "cancellation": lambda: _("Aufhebungsbescheid"),
}
OUTCOME_WORDS: dict[str, Callable[[], str]] = {
    "levied": lambda: _("Abgabe wird erhoben"), "below_threshold": lambda: _("unter der Abgabegrenze: keine Abgabe"),
    "exempt": lambda: _("befreit: keine Abgabe"), "no_answer": lambda: _("keine Auskunft: höchste Stufe"),
}
EXEMPT_WORDS: dict[str, Callable[[], str]] = {
    "transfer_benefits": lambda: _("alle Haushaltsmitglieder beziehen Transferleistungen"),
    "temporary_use": lambda: _("nur vorübergehende Nutzung"),
}
KIND_WORDS: dict[str, Callable[[], str]] = {
    "initial": lambda: _("Erstberechnung"), "change": lambda: _("Änderung (§ 8 FBAG)"),
    "remedy": lambda: _("Abhilfe (Widerspruch)"),
}
HEATING_WORDS: dict[str, Callable[[], str]] = {"stove": lambda: _("Ofenheizung"),
                                                "central": lambda: _("Sammelheizung")}
FLAT_LABELS: dict[str, Callable[[], str]] = {
    "flat_id": lambda: _("Wohnungsnummer (Vermieter)"), "street": lambda: _("Straße"),
    "house_number": lambda: _("Hausnummer"), "postal_code": lambda: _("Postleitzahl"), "city": lambda: _("Ort"),
    "flat_number": lambda: _("Lage/Wohnung"), "area_m2": lambda: _("Wohnfläche (m²)"),
    "build_year": lambda: _("Baujahr (Bezugsfertigkeit)"), "heating": lambda: _("Heizung"),
    "mietenstufe": lambda: _("Mietenstufe"), "net_rent": lambda: _("Nettokaltmiete (monatlich)"),
    "landlord": lambda: _("Vermieter"), "tenant_name": lambda: _("Mieter/in (Inhaber/in des Mietverhältnisses)"),
}


def word(words: dict[str, Callable[[], str]], key: Any) -> str:
    label = words.get(str(key)) if key is not None else None
    return label() if label else ("" if key is None else str(key))


def percent(value: Any) -> str:
    """A percentage as the locale writes it ("37,62 %"); "–" for none."""
    if value in (None, ""):
        return "–"
    try:
        return f"{format_decimal(Decimal(str(value)), format='#,##0.##')} %"
    except InvalidOperation:
        return str(value)


def _words() -> dict[str, Any]:
    return {"percent": percent, "step_word": lambda k: word(STEP_WORDS, k),
            "benefit_word": lambda k: word(BENEFIT_WORDS, k),
            "notice_word": lambda k: word(NOTICE_WORDS, k), "outcome_word": lambda k: word(OUTCOME_WORDS, k),
            "exempt_word": lambda k: word(EXEMPT_WORDS, k), "kind_word": lambda k: word(KIND_WORDS, k),
            "heating_word": lambda k: word(HEATING_WORDS, k), "flat_label": lambda k: word(FLAT_LABELS, k)}


def _levy_roles() -> frozenset[str]:
    return case_type_roles("levy")


@bp.app_template_global("levy_nav_visible")
def levy_nav_visible() -> bool:
    return case_type_nav_visible("levy")


def _crumbs(*more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Fehlbelegungsabgabe"), url_for("levy.index")), *more]


def _csrf_checked() -> None:
    if not PlainForm().validate_on_submit():
        raise Invalid("the form has expired", detail_de="Das Formular ist abgelaufen; bitte erneut senden")


# --- the list -----------------------------------------------------------------------------------------------

@bp.get("/abgabe")
@login_required
def index() -> str:
    step = request.args.get("schritt", "")
    step = step if step in STEP_WORDS else ""
    overdue = request.args.get("ueberfaellig") == "1"
    q = (request.args.get("q") or "").strip()[:200]
    flt = queries.LevyFilter(step=step or None, overdue=True if overdue else None, q=q or None)
    number = page_number()
    rows, total = queries.levy_list(runtime(), current_actor(), flt, offset=(number - 1) * PAGE_SIZE,
                                    limit=PAGE_SIZE)
    steps = [(k, word(STEP_WORDS, k)) for k in (*(s.key for s in STEPS), "finished")]
    return render_template("levy/index.html", rows=rows, page=page_of(total, PAGE_SIZE, number),
                           given={"schritt": step, "ueberfaellig": overdue, "q": q}, steps=steps,
                           breadcrumbs=[(_("Fehlbelegungsabgabe"), None)], **_words())


# --- a procedure --------------------------------------------------------------------------------------------

def _member_rows(members: list[Any]) -> list[dict[str, str]]:
    """The household's members as the form's text values."""
    rows = []
    for m in members:
        m = m if isinstance(m, dict) else {}
        income = m.get("annual_income")
        rows.append({"name": str(m.get("name") or ""), "birth_date": str(m.get("birth_date") or ""),
                     "child": "1" if m.get("child") else "", "tenant": "1" if m.get("tenant") else "",
                     "annual_income": str(income).replace(".", ",") if income not in (None, "") else "",
                     "benefit": str(m.get("benefit") or "")})
    return rows


def member_control(index: int, name: str) -> str:
    return f"members-{index}-{name}"


def _page(procedure_id: int, form_rows: list[dict[str, str]] | None = None, temporary_use: bool | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    view = queries.procedure_view(runtime(), current_actor(), procedure_id)
    rows = form_rows if form_rows is not None else _member_rows(view.household["members"])
    errors = errors or {}
    case = view.case
    name = (view.flat.get("flat_id") or case.reference)
    return render_template(
        "levy/procedure.html", view=view, case=case, procedure=view.procedure, row=view.row, flat=view.flat,
        form_rows=rows or [_member_rows([{}])[0]], max_members=MAX_MEMBERS,
        temporary_use=view.household["temporary_use"] if temporary_use is None else temporary_use,
        errors=errors, summary=list(errors.items()), control=member_control,
        benefits=[(b, word(BENEFIT_WORDS, b)) for b in BENEFITS],
        flat_fields=[k for k in FLAT_LABELS if view.flat.get(k) not in (None, "")],
        breadcrumbs=_crumbs((name, None)), **_words()), status


@bp.get("/abgabe/vorgaenge/<int:procedure_id>")
@login_required
def procedure(procedure_id: int) -> tuple[str, int]:
    return _page(procedure_id)


def _form_rows() -> list[dict[str, str]]:
    """The member rows the form sent (members-<i>-<field>), in their order; wholly empty rows left out."""
    indexes = sorted({int(k.split("-")[1]) for k in request.form if k.startswith("members-")
                      and k.count("-") == 2 and k.split("-")[1].isdigit()})
    rows = []
    for i in indexes[:MAX_MEMBERS + 1]:
        row = {f: (request.form.get(member_control(i, f)) or "").strip() for f in MEMBER_FIELDS}
        if any(row[f] for f in ("name", "birth_date", "annual_income", "benefit")):
            rows.append(row)
    return rows


def _payload(rows: list[dict[str, str]], temporary_use: bool) -> dict[str, Any]:
    from eakte.web.dates import form_date
    members = []
    for row in rows:
        born = form_date(row["birth_date"]) if row["birth_date"] else None
        members.append({"name": row["name"], "birth_date": born.isoformat() if born else (row["birth_date"] or None),
                        "child": bool(row["child"]), "tenant": bool(row["tenant"]),
                        "annual_income": row["annual_income"] or None, "benefit": row["benefit"] or None})
    return {"members": members, "temporary_use": temporary_use}


def _control_of(path: str) -> str:
    """members[2].annual_income → members-2-annual_income (the control's id); "members" → the first name."""
    if path.startswith("members[") and "]." in path:
        index, name = path[len("members["):].split("].", 1)
        if index.isdigit() and name in MEMBER_FIELDS:
            return member_control(int(index), name)
    if path == "temporary_use":
        return "temporary_use"
    return member_control(0, "name")


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/haushalt")
@login_required
def save_household(procedure_id: int) -> Response | tuple[str, int]:
    rows = _form_rows()
    temporary = request.form.get("temporary_use") == "1"
    if request.form.get("action") == "add_member":  # works without script: the page comes back with a new row
        if len(rows) < MAX_MEMBERS:
            rows.append({f: "" for f in MEMBER_FIELDS})
        return _page(procedure_id, rows, temporary)
    _csrf_checked()
    try:
        household.record_household(runtime(), current_actor(), procedure_id, _payload(rows, temporary))
    except Invalid as exc:
        found = exc.extra.get("errors") or [{"field": exc.extra.get("field") or "", "message_de": exc.detail_de,
                                             "message": exc.detail}]
        errors: dict[str, str] = {}
        german = error_message(exc) == exc.detail_de
        for e in found:
            errors.setdefault(_control_of(str(e.get("field") or "")),
                              str(e.get("message_de") if german else e.get("message")))
        return _page(procedure_id, rows, temporary, errors, 422)
    except Conflict as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("levy.procedure", procedure_id=procedure_id), code=303)
    flash(_("Der Haushalt ist gespeichert."), "success")
    return redirect(url_for("levy.procedure", procedure_id=procedure_id, _anchor="household-heading"), code=303)


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/berechnen")
@login_required
def compute(procedure_id: int) -> Response:
    _csrf_checked()
    try:
        done = assessment.compute(runtime(), current_actor(), procedure_id)
    except (Invalid, Conflict) as exc:
        flash(error_message(exc), "error")
        return redirect(url_for("levy.procedure", procedure_id=procedure_id), code=303)
    flash(_("Berechnet: %(amount)s monatlich.", amount=fmt_money(done.monthly_levy)), "success")
    return redirect(url_for("levy.procedure", procedure_id=procedure_id, _anchor="computation-heading"), code=303)


@bp.post("/abgabe/vorgaenge/<int:procedure_id>/nachweise")
@login_required
def evidence(procedure_id: int) -> Response:
    _csrf_checked()
    storage = request.files.get("file")
    title = (request.form.get("title") or "").strip()
    if storage is None or not (storage.filename or storage.content_length):
        flash(_("Bitte wählen Sie eine Datei aus."), "error")
        return redirect(url_for("levy.procedure", procedure_id=procedure_id, _anchor="evidence-heading"), code=303)
    rt, actor = runtime(), current_actor()
    view = queries.procedure_view(rt, actor, procedure_id)
    try:
        documents.add_document(rt, actor, view.case.id, documents.NewDocument(
            title or _("Einkommensnachweis"), INCOME_EVIDENCE_KIND, procedure_id=procedure_id),
            documents.Upload(storage.stream, storage.filename or "", storage.mimetype or None))
    except EakteError as exc:
        if exc.status not in (403, 409, 413, 415, 422):
            raise
        flash(error_message(exc), "error")
    else:
        flash(_("Der Nachweis ist abgelegt."), "success")
    return redirect(url_for("levy.procedure", procedure_id=procedure_id, _anchor="evidence-heading"), code=303)
