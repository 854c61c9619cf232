"""Creating a case: first the case type (a plain GET step, no script needed), then a form generated from that
type's field schema — the same schema `cases.open_case` validates with, as the API's POST /cases does."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from eakte.errors import Conflict, EakteError, Invalid
from eakte.services import cases
from eakte.services.case_form import CaseFormChoices, case_form_choices
from eakte.web.auth import current_actor, login_required
from eakte.web.i18n import select_locale
from eakte.web.numbers import canonical_number
from eakte.web.runtime import runtime
from eakte.web.views.schema import current_label
from workflows.definition import CaseType
from workflows.fields import Field

bp = Blueprint("cases_new", __name__)

# Field kinds a form can offer; lists (e.g. skonto terms) and read-only fields are the system's to fill.
_FORM_KINDS = {"text", "integer", "money", "decimal", "date", "enum", "iban", "leitweg_id", "boolean", "unit"}
_NUMERIC_KINDS = {"money", "decimal"}


@dataclass(frozen=True)
class FormField:
    """One control of the generated form."""

    id: str
    name: str
    label: str
    kind: str
    required: bool
    input_type: str = "text"
    options: list[tuple[str, str]] | None = None
    hint: str | None = None
    inputmode: str | None = None


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def create() -> Any:
    rt, actor = runtime(), current_actor()
    choices = case_form_choices(rt, actor)
    key = request.values.get("case_type", "")
    case_type = rt.registry.get(key) if key else None
    if case_type is None:
        # First step: which kind of case. An unknown key re-asks, with a message.
        error = _("Bitte wählen Sie einen Aktentyp.") if key else None
        return render_template("cases_new/choose_type.html", choices=choices, error=error,
                               breadcrumbs=_crumbs()), 422 if key and request.method == "POST" else 200
    fields = form_fields(case_type, choices)
    if request.method == "GET":
        return _form(case_type, choices, fields, request.args, {})
    new = cases.NewCase(file_plan_code=request.form.get("file_plan_code", ""), title=request.form.get("title", ""),
                        unit=request.form.get("unit", ""), case_type=case_type.key,
                        metadata=submitted_metadata(case_type, request.form),
                        confidentiality=request.form.get("confidentiality") or None)
    try:
        case = cases.open_case(rt, actor, new)
    except (Invalid, Conflict) as exc:  # Conflict: a value another case holds (a personnel number)
        field_id, message = _error_at_field(exc, fields)
        return _form(case_type, choices, fields, request.form, {field_id: message}), 422
    return redirect(url_for("cases.show", case_id=case.id), code=303)


def form_fields(case_type: CaseType, choices: CaseFormChoices) -> list[FormField]:
    german = select_locale() == "de"
    unit_options = [(u.code, f"{u.code} {u.name}") for u in choices.all_units]
    out = []
    for f in case_type.fields:
        if f.read_only or f.kind not in _FORM_KINDS:
            continue
        out.append(_control(f, f.label_de if german else f.label_en, unit_options))
    return out


def _control(f: Field, label: str, unit_options: list[tuple[str, str]]) -> FormField:
    base = {"id": f"metadata-{f.name}", "name": f"metadata.{f.name}", "label": label, "kind": f.kind,
            "required": f.required}
    # Required fields are needed before the workflow's first step is decided, not to open the case (as in the API).
    needed = _("Wird für die Bearbeitung benötigt.") if f.required else None
    if f.kind == "enum":
        return FormField(**base, options=[(c, c) for c in f.choices], hint=needed)
    if f.kind == "unit":
        return FormField(**base, options=unit_options, hint=needed)
    if f.kind == "date":
        return FormField(**base, input_type="date", hint=needed)
    if f.kind == "boolean":
        return FormField(**base, input_type="checkbox", hint=needed)
    if f.kind in _NUMERIC_KINDS:
        hint = _("z. B. 1.234,56") if f.kind == "money" else _("z. B. 12,5")
        return FormField(**base, hint=" ".join(filter(None, [hint, needed])), inputmode="decimal")
    if f.kind == "integer":
        return FormField(**base, hint=needed, inputmode="numeric")
    return FormField(**base, hint=f.help_de or needed)


def submitted_metadata(case_type: CaseType, form: MultiDict[str, str]) -> dict[str, Any]:
    """The form's metadata in the schema's canonical spelling (German numbers → "1234.56"); empty fields are left
    out, an unchecked box is false."""
    out: dict[str, Any] = {}
    for f in case_type.fields:
        if f.read_only or f.kind not in _FORM_KINDS:
            continue
        name = f"metadata.{f.name}"
        if f.kind == "boolean":
            out[f.name] = form.get(name) == "on"
            continue
        raw = (form.get(name) or "").strip()
        if raw:
            out[f.name] = canonical_number(raw) if f.kind in _NUMERIC_KINDS else raw
    return out


def _error_at_field(exc: EakteError, fields: list[FormField]) -> tuple[str, str]:
    """The id of the control the service's error names, and the message to show there."""
    german = select_locale() == "de"
    name = str(exc.extra.get("field") or "")
    message = (exc.detail_de if german and exc.detail_de else exc.detail) or ""
    if name.startswith("metadata."):
        field_id = "metadata-" + name.removeprefix("metadata.")
        control = next((f for f in fields if f.id == field_id), None)
        # The service says "metadata.x: …"; the form names the field by its label instead.
        reason = message.split(": ", 1)[-1]
        if control is None:
            return "title", message
        if control.kind == "money":
            reason = _("Bitte geben Sie einen Betrag wie 1.234,56 ein.")
        return field_id, f"{control.label}: {reason}"
    if name in ("title", "file_plan_code", "unit", "case_type", "confidentiality"):
        if name == "title" and not request.form.get("title", "").strip():
            message = _("Bitte geben Sie einen Betreff ein.")
        if name == "unit" and not request.form.get("unit"):
            message = _("Bitte wählen Sie eine Organisationseinheit.")
        if name == "file_plan_code" and not request.form.get("file_plan_code"):
            message = _("Bitte wählen Sie eine Aktenplanposition.")
        return name, message
    return "title", message


@dataclass(frozen=True)
class FormGroup:
    """A fieldset of the form: the case type's field group (e.g. Person, Beschäftigung, Konto)."""

    legend: str
    fields: list[FormField]


def form_groups(case_type: CaseType, fields: list[FormField]) -> list[FormGroup]:
    """The controls in the case type's groups, then any it leaves ungrouped; one group when it declares none."""
    by_name = {f.name.removeprefix("metadata."): f for f in fields}
    groups = []
    for group in case_type.field_groups:
        members = [by_name.pop(n) for n in group.fields if n in by_name]
        if members:
            groups.append(FormGroup(current_label(group.label_de, group.label_en), members))
    rest = [f for f in fields if f.name.removeprefix("metadata.") in by_name]
    if rest:
        groups.append(FormGroup(_("Weitere Angaben") if groups else _("Angaben zur Akte"), rest))
    return groups


def _form(case_type: CaseType, choices: CaseFormChoices, fields: list[FormField], values: Any,
          errors: dict[str, str]) -> str:
    # A type kept by one unit only (personnel files) offers that unit preselected.
    home = [u for u in choices.units if u.code == case_type.home_unit]
    return render_template("cases_new/form.html", case_type=case_type, choices=choices,
                           groups=form_groups(case_type, fields), values=values, errors=errors,
                           default_unit=home[0].code if home else "",
                           title_optional=case_type.title_template is not None, breadcrumbs=_crumbs())


def _crumbs() -> list[tuple[str, str | None]]:
    return [(_("Akten"), url_for("cases.index")), (_("Neue Akte"), None)]
