"""Notes (Vermerke) and the case's timeline (Verlauf) in the browser: the list and the form "Vermerk hinzufügen" on
the case page, the form on a page of its own (for corrections and for showing errors at the fields), and the
timeline as a tab of the case. Every rule is the service's (eakte.services.notes, eakte.services.timeline)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eakte.errors import Conflict, Forbidden, Invalid
from eakte.services import cases, notes, timeline
from eakte.web.auth import current_actor, login_required
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.i18n import fmt_date
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime
from eakte.web.views.case_words import WORKFLOW_ACTIONS, word
from eakte.web.views.schema import decision_label, step_label, type_label

bp = Blueprint("notes", __name__)
_FIELDS = {"text": "note-text", "noted_on": "note-noted_on", "procedure_id": "note-procedure",
           "corrects_id": "note-corrects"}  # service field → id of its control on the form
CASE_PAGE_NOTES = 20  # the newest notes on the case page; the API pages through all
CASE_PAGE_TIMELINE = 10  # the newest entries on the case page; the tab "Verlauf" pages through all
TIMELINE_PAGE_SIZE = 50

TIMELINE_KINDS: dict[str, Callable[[], str]] = {
    "document": lambda: _("Dokument abgelegt"),
    "version": lambda: _("Neue Version abgelegt"),
    "note": lambda: _("Vermerk"),
    "decision": lambda: _("Geschäftsgang"),
    "followup": lambda: _("Wiedervorlage gesetzt"),
    "followup_done": lambda: _("Wiedervorlage erledigt"),
    "procedure": lambda: _("Vorgang angelegt"),
    "procedure_closed": lambda: _("Vorgang abgeschlossen"),
}


@dataclass(frozen=True)
class NoteForm:
    """The form "Vermerk hinzufügen" as sent: kept as typed, to show again beside its errors."""

    text: str = ""
    noted_on: str = ""
    procedure: str = ""
    corrects: str = ""

    @classmethod
    def from_request(cls) -> "NoteForm":
        f = request.form
        return cls(f.get("text", "").strip(), f.get("noted_on", "").strip(), f.get("procedure", "").strip(),
                   f.get("corrects", "").strip())


def _note_choices(panel: notes.NotesPanel) -> list[tuple[int, str]]:
    """The notes a correction may name (the select "Berichtigt Vermerk"): date and the start of the text."""
    return [(e.note.id, f"{fmt_date(e.note.noted_on)} – {_start(e.note.text)}") for e in panel.items]


def _start(text: str, chars: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= chars else line[:chars - 1].rstrip() + "…"


def case_page_context(case_id: int) -> dict[str, Any]:
    """What the case page's partials cases/_notes.html and cases/_timeline.html need."""
    rt, actor = runtime(), current_actor()
    panel = notes.case_panel(rt, actor, case_id, limit=CASE_PAGE_NOTES)
    return {"notes_panel": panel, "note_choices": _note_choices(panel), "note_form": NoteForm(), "note_errors": {},
            "timeline": timeline.case_timeline(rt, actor, case_id, limit=CASE_PAGE_TIMELINE),
            "timeline_kind": lambda key: word(TIMELINE_KINDS, key)}


def _form_page(case_id: int, form: NoteForm, errors: dict[str, str], status: int) -> tuple[str, int]:
    rt, actor = runtime(), current_actor()
    case = cases.read_case(rt, actor, case_id)
    panel = notes.case_panel(rt, actor, case_id, limit=CASE_PAGE_NOTES)
    return render_template("notes/new.html", case=case, note_form=form, note_errors=errors, notes_panel=panel,
                           note_choices=_note_choices(panel), summary=list(errors.items()),
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (_("Vermerk hinzufügen"), None)]), status


@bp.get("/cases/<int:case_id>/notes/new")
@login_required
def new(case_id: int) -> tuple[str, int]:
    corrects = request.args.get("corrects", "")
    return _form_page(case_id, NoteForm(corrects=corrects if corrects.isdigit() else ""), {}, 200)


@bp.post("/cases/<int:case_id>/notes")
@login_required
def create(case_id: int) -> Response | tuple[str, int]:
    form = NoteForm.from_request()
    errors: dict[str, str] = {}
    noted_on = form_date(form.noted_on) if form.noted_on else None
    if form.noted_on and noted_on is None:
        errors[_FIELDS["noted_on"]] = _("Bitte geben Sie das Datum des Vermerks an (TT.MM.JJJJ).")
    if not form.text:
        errors[_FIELDS["text"]] = _("Bitte geben Sie den Text des Vermerks ein.")
    if not errors:
        try:
            notes.add_note(runtime(), current_actor(), case_id, notes.NewNote(
                form.text, noted_on, procedure_id=int(form.procedure) if form.procedure.isdigit() else None,
                corrects_id=int(form.corrects) if form.corrects.isdigit() else None))
        except (Invalid, Forbidden, Conflict) as exc:
            if exc.extra.get("field") not in _FIELDS:
                raise  # not about the form (no right to change the case, the case closed): the error page
            errors[_FIELDS[exc.extra["field"]]] = error_message(exc)
    if errors:
        return _form_page(case_id, form, errors, 422)
    flash(_("Der Vermerk wurde gespeichert."), "success")
    return redirect(url_for("cases.show", case_id=case_id) + "#notes-heading", code=303)


@bp.get("/cases/<int:case_id>/timeline")
@login_required
def index(case_id: int) -> str:
    rt, actor = runtime(), current_actor()
    case = cases.read_case(rt, actor, case_id)
    number = page_number()
    found = timeline.case_timeline(rt, actor, case_id, offset=(number - 1) * TIMELINE_PAGE_SIZE,
                                   limit=TIMELINE_PAGE_SIZE)
    case_type = rt.registry.get(case.case_type)
    return render_template("cases/timeline.html", case=case, timeline=found, tab="timeline",
                           page=page_of(found.total, TIMELINE_PAGE_SIZE, number),
                           actions=cases.case_actions(rt, actor, case_id),
                           type_label=type_label(case_type, case.case_type),
                           timeline_kind=lambda key: word(TIMELINE_KINDS, key),
                           step_label=lambda key: step_label(case_type, key),
                           decision_label=lambda step, key: decision_label(case_type, step, key),
                           workflow_action=lambda key: word(WORKFLOW_ACTIONS, key),
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (_("Verlauf"), None)])
