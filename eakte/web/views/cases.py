"""Cases: the list with its filters, the case page (metadata, documents, workflow), its audit trail, closing."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eakte.models import CASE_STATUSES, Case
from eakte.presenters import invoice_lines
from eakte.services import cases, documents, retention, workflow
from eakte.services import followups
from eakte.services import access, access_requests
from eakte.web.auth import current_actor, login_required
from eakte.web.forms import PlainForm
from eakte.web.labels import status_label
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime
from eakte.web.views.case_words import AUDIT_ACTIONS, WORKFLOW_ACTIONS, WORKFLOW_STATUSES, word
from eakte.web.views import notes as notes_pages
from eakte.web.views import adverse as adverse_pages
from eakte.web.views.schema import current_label, decision_label, step_label, type_label
from workflows.definition import CaseType
from workflows.fields import Field

bp = Blueprint("cases", __name__)
_FILTER_ARGS = ("status", "unit", "case_type", "file_plan_code", "reference", "q")
TRAIL_PAGE_SIZE = 100


@dataclass(frozen=True)
class MetadataRow:
    """One metadata value with how to show it: the field's label and kind from the case type's schema."""

    label: str
    kind: str
    value: Any


def metadata_rows(case_type: CaseType | None, metadata: dict[str, Any]) -> list[MetadataRow]:
    """Declared fields in the schema's order, then keys an open schema allowed beyond them (shown as given)."""
    fields = case_type.fields if case_type else ()
    rows = _declared_rows(fields, metadata)
    declared = {f.name for f in fields}
    rows += [MetadataRow(key, "text", value) for key, value in metadata.items()
             if key not in declared and value not in (None, "")]
    return rows


@dataclass(frozen=True)
class MetadataGroup:
    """The rows of one field group the case type declares (a personnel file's Person, Beschäftigung, Konto)."""

    legend: str
    rows: list[MetadataRow]


def _declared_rows(fields: Iterable[Field], metadata: dict[str, Any]) -> list[MetadataRow]:
    shown = [f for f in fields if metadata.get(f.name) not in (None, "", [])]
    # A unit field holds the unit's code ("20"); people know the unit by its name too ("20 Kämmerei").
    units = dict(cases.filter_choices(runtime()).units) if any(f.kind == "unit" for f in shown) else {}
    return [MetadataRow(current_label(f.label_de, f.label_en), f.kind, _unit_shown(metadata[f.name], units)
                        if f.kind == "unit" else metadata[f.name]) for f in shown]


def _unit_shown(code: Any, units: dict[str, str]) -> Any:
    return f"{code} {units[code]}" if code in units else code


def metadata_groups(case_type: CaseType | None, metadata: dict[str, Any]) -> list[MetadataGroup]:
    """Empty for a type without groups (the page then lists `metadata_rows`); the rest of the fields last."""
    if case_type is None or not case_type.field_groups:
        return []
    groups = []
    for group in case_type.field_groups:
        rows = _declared_rows((f for f in case_type.fields if f.name in group.fields), metadata)
        groups.append(MetadataGroup(current_label(group.label_de, group.label_en), rows))
    grouped = {n for group in case_type.field_groups for n in group.fields}
    rest = metadata_rows(case_type, {k: v for k, v in metadata.items() if k not in grouped})
    if rest:
        groups.append(MetadataGroup(_("Weitere Angaben"), rest))
    return groups


def _filter_from_args() -> tuple[cases.CaseFilter, dict[str, str]]:
    given = {k: (request.args.get(k) or "").strip() for k in _FILTER_ARGS}
    # Only the statuses the form offers: a hand-made URL with another one shows everything rather than failing.
    status = given["status"] if given["status"] in CASE_STATUSES else None
    flt = cases.CaseFilter(status=status, unit=given["unit"] or None, case_type=given["case_type"] or None,
                           file_plan_code=given["file_plan_code"] or None, reference=given["reference"] or None,
                           title_contains=given["q"] or None)
    return flt, given


@bp.get("/cases")
@login_required
def index() -> str:
    flt, given = _filter_from_args()
    size = runtime().settings.web.page_size
    number = page_number()
    rows, total = cases.find_cases(runtime(), current_actor(), flt, offset=(number - 1) * size, limit=size)
    choices = cases.filter_choices(runtime())
    case_types = [(key, current_label(t.label_de, t.label_en)) for key, t in sorted(runtime().registry.types.items())]
    return render_template("cases/index.html", rows=rows, page=page_of(total, size, number), given=given,
                           status_options=[(s, status_label(s)) for s in CASE_STATUSES],
                           unit_options=[(code, f"{code} {name}") for code, name in choices.units],
                           node_options=[(code, f"{code} {title}") for code, title in choices.file_plan],
                           case_types=case_types, filtered=any(given.values()),
                           breadcrumbs=[(_("Akten"), None)])


def _breadcrumbs(case: Case, last: str | None = None) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [(_("Akten"), url_for("cases.index")),
                                            (case.reference, url_for("cases.show", case_id=case.id))]
    return crumbs + [(last, None)] if last else crumbs


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> str:
    rt, actor = runtime(), current_actor()
    case = cases.read_case(rt, actor, case_id)
    docs, uploaders = documents.case_files(rt, actor, case_id)
    instance, open_tasks, history = workflow.case_workflow(rt, actor, case_id)
    case_type = rt.registry.get(case.case_type)
    # Parallel steps (co-signing) have several open tasks of one step; each step is named once.
    open_steps = list(dict.fromkeys(t.step for t in open_tasks.tasks))
    return render_template("cases/show.html", current_steps=[step_label(case_type, s) for s in open_steps], case=case, case_type=case_type,
                           type_label=type_label(case_type, case.case_type),
                           metadata=metadata_rows(case_type, case.metadata_), documents=docs, uploaders=uploaders,
                           metadata_groups=metadata_groups(case_type, case.metadata_),
                           retention=retention.read_retention(rt, actor, case_id),
                           lines=invoice_lines(case.metadata_) if case.case_type == "invoice" else None,
                           instance=instance, open_tasks=open_tasks, history=history,
                           step_label=lambda key: step_label(case_type, key),
                           decision_label=lambda step, key: decision_label(case_type, step, key),
                           workflow_action=lambda key: word(WORKFLOW_ACTIONS, key),
                           workflow_status=lambda key: word(WORKFLOW_STATUSES, key), tab="overview",
                           actions=cases.case_actions(rt, actor, case_id),
                           followups=followups.case_panel(rt, actor, case_id),
                           **notes_pages.case_page_context(case_id),
                           **adverse_pages.case_page_context(case_id),
                           grant=_grant_shown(case_id), breadcrumbs=_breadcrumbs(case))


def _grant_shown(case_id: int) -> access_requests.AccessRequestEntry | None:
    """The recorded-reason access through which the caller reads this file, if any: the page says until when."""
    grant_id = access.grant_for(current_actor().principal, case_id)
    return access_requests.read_request(runtime(), current_actor(), grant_id) if grant_id is not None else None


@bp.get("/cases/<int:case_id>/audit")
@login_required
def trail(case_id: int) -> str | tuple[str, int]:
    rt, actor = runtime(), current_actor()
    case = cases.read_case(rt, actor, case_id)
    number = page_number()
    flt, given, errors = _trail_filter()
    # One more than a page tells whether a next page exists (the trail has no cheap exact count).
    events = [] if errors else cases.case_trail(rt, actor, case_id, offset=(number - 1) * TRAIL_PAGE_SIZE,
                                                limit=TRAIL_PAGE_SIZE + 1, flt=flt)
    more = len(events) > TRAIL_PAGE_SIZE
    filter_args = {k: v for k, v in given.items() if v}
    body = render_template("cases/audit.html", case=case, events=events[:TRAIL_PAGE_SIZE], tab="audit",
                           page_number=number, more=more, given=given, errors=errors, filter_args=filter_args,
                           action_options=sorted(((key, word(AUDIT_ACTIONS, key)) for key in AUDIT_ACTIONS),
                                                 key=lambda kv: kv[1]),
                           actions=cases.case_actions(rt, actor, case_id),
                           type_label=type_label(rt.registry.get(case.case_type), case.case_type),
                           audit_action=lambda key: word(AUDIT_ACTIONS, key),
                           breadcrumbs=_breadcrumbs(case, _("Protokoll")))
    return (body, 422) if errors else body


def _trail_filter() -> tuple[cases.TrailFilter, dict[str, str], dict[str, str]]:
    given = {k: (request.args.get(k) or "").strip() for k in ("action", "person", "from", "to")}
    errors: dict[str, str] = {}
    days: dict[str, dt.date | None] = {}
    for key in ("from", "to"):
        days[key] = None
        if given[key]:
            try:
                days[key] = dt.date.fromisoformat(given[key])
            except ValueError:
                errors[f"trail-{key}"] = _("Bitte geben Sie ein Datum an.")
    flt = cases.TrailFilter(action=given["action"] or None, actor=given["person"] or None,
                            date_from=days["from"], date_to=days["to"])
    return flt, given, errors


@bp.route("/cases/<int:case_id>/close", methods=["GET", "POST"])
@login_required
def close(case_id: int) -> str | Response:
    rt, actor = runtime(), current_actor()
    form = PlainForm()
    if request.method == "POST" and form.validate_on_submit():
        case = cases.conclude_case(rt, actor, case_id)  # refused (409 page) when closed or closed by its workflow
        flash(_("Die Akte %(reference)s wurde geschlossen (z.d.A.).", reference=case.reference), "success")
        return redirect(url_for("cases.show", case_id=case.id), code=303)
    case = cases.read_case(rt, actor, case_id)
    case_type = rt.registry.get(case.case_type)
    return render_template("cases/close.html", case=case, by_hand=cases.closable_by_hand(case_type),
                           type_label=type_label(case_type, case.case_type),
                           breadcrumbs=_breadcrumbs(case, _("Akte schließen")))
