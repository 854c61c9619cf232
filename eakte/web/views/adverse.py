"""Adverse items (nachteilige Vorgänge) in the browser: the section "Nachteilige Vorgänge (Anhörung)" of a
personnel file's case page, and its forms (new item, statement or declined, file, remove). Every rule is the
service's (eakte.services.adverse); a refused form field is shown at the field, a refused step as a message."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from eakte.errors import Conflict, EakteError, Invalid
from eakte.services import adverse, documents
from eakte.web.auth import current_actor, login_required
from eakte.web.dates import form_date
from eakte.web.errors import error_message
from eakte.web.i18n import select_locale
from eakte.web.runtime import runtime

bp = Blueprint("adverse", __name__)
ANCHOR = "#adverse-heading"
# service field → id of its control on the form "Nachteiligen Vorgang ablegen"
_FIELDS = {"file": "adverse-file", "title": "adverse-title", "kind": "adverse-kind",
           "procedure_id": "adverse-procedure", "document_date": "adverse-date"}
STATUSES: dict[str, Callable[[], str]] = {
    "hearing": lambda: _("Anhörung läuft"),
    "filed": lambda: _("in die Akte aufgenommen"),
    "removed": lambda: _("entfernt"),
}
GROUNDS: dict[str, Callable[[], str]] = {
    "application": lambda: _("auf Antrag der beschäftigten Person"),
    "unfounded": lambda: _("als unbegründet"),
}


def case_page_context(case_id: int) -> dict[str, Any]:
    """What the case page's partial adverse/_section.html needs; nothing where the section is not shown (a type
    without adverse items, a caller who does not read the whole file)."""
    panel = adverse.case_panel(runtime(), current_actor(), case_id)
    if panel is None:
        return {}
    german = select_locale() == "de"
    kinds = {key: de if german else en for key, de, en in panel.kinds}
    return {"adverse": panel, "adverse_kinds": list(kinds.items()),
            "adverse_kind": lambda key: kinds.get(key, key),
            "adverse_status": lambda key: STATUSES[key]() if key in STATUSES else key,
            "adverse_ground": lambda key: GROUNDS[key]() if key in GROUNDS else (key or ""),
            "adverse_form": g.get("adverse_form") or {}, "adverse_errors": g.get("adverse_errors") or {}}


def _back(case_id: int) -> Response:
    return redirect(url_for("cases.show", case_id=case_id) + ANCHOR, code=303)


def _upload(storage: FileStorage) -> documents.Upload:
    return documents.Upload(stream=storage.stream, filename=storage.filename or "",
                            claimed_type=storage.mimetype or None)


def _file_of(name: str = "file") -> FileStorage | None:
    storage = request.files.get(name)
    return storage if storage is not None and (storage.filename or storage.content_length) else None


def _form_page(case_id: int, form: dict[str, str], errors: dict[str, str]) -> tuple[str, int]:
    """The case page again, the form's values and errors at its fields (read by adverse/_section.html)."""
    from eakte.web.views import cases as case_pages  # here: the case page imports this module for its context
    g.adverse_form, g.adverse_errors = form, errors
    return case_pages.show(case_id), 422


@bp.post("/cases/<int:case_id>/adverse-items")
@login_required
def create(case_id: int) -> Response | tuple[str, int]:
    form = {k: (request.form.get(k) or "").strip() for k in ("title", "kind", "procedure", "document_date")}
    storage = _file_of()
    errors: dict[str, str] = {}
    if storage is None:
        errors[_FIELDS["file"]] = _("Bitte wählen Sie die Datei des Vorgangs aus.")
    if not form["title"]:
        errors[_FIELDS["title"]] = _("Bitte geben Sie einen Titel an.")
    document_date = form_date(form["document_date"]) if form["document_date"] else None
    if form["document_date"] and document_date is None:
        errors[_FIELDS["document_date"]] = _("Bitte geben Sie das Datum als TT.MM.JJJJ an.")
    if errors or storage is None:
        return _form_page(case_id, form, errors)
    procedure_id = int(form["procedure"]) if form["procedure"].isdigit() else None
    try:
        adverse.file_item(runtime(), current_actor(), case_id, adverse.NewAdverseItem(
            form["title"], form["kind"], procedure_id, document_date), _upload(storage))
    except EakteError as exc:
        field = exc.extra.get("field")
        if exc.status not in (413, 415, 422) and field != "procedure_id":
            raise  # not about the form (an invisible case, no right, a closed file): the error page
        # A refused file (type, size) has no field of its own: shown at the file's control.
        errors[_FIELDS.get(field or "", _FIELDS["file"])] = error_message(exc)
        return _form_page(case_id, form, errors)
    flash(_("Der nachteilige Vorgang wurde abgelegt; die Anhörung läuft."), "success")
    return _back(case_id)


def _step(item_id: int, step: Callable[[], adverse.AdverseEntry], done: str) -> Response:
    """A step of an item from its form: done → the message; refused by the rules (409) or the input (422) → the
    reason as a message on the case page. Not visible (404) or no right (403): the error page."""
    try:
        entry = step()
    except (Conflict, Invalid) as exc:
        entry = adverse.read_item(runtime(), current_actor(), item_id)
        flash(error_message(exc), "error")
        return _back(entry.case_id)
    flash(done, "success")
    return _back(entry.case_id)


@bp.post("/adverse-items/<int:item_id>/statement")
@login_required
def statement(item_id: int) -> Response:
    declined = request.form.get("declined") == "true"
    storage = None if declined else _file_of()
    if not declined and storage is None:
        entry = adverse.read_item(runtime(), current_actor(), item_id)
        flash(_("Bitte wählen Sie die Datei der Stellungnahme aus oder vermerken Sie den Verzicht."), "error")
        return _back(entry.case_id)
    return _step(item_id, lambda: adverse.record_statement(
        runtime(), current_actor(), item_id, _upload(storage) if storage is not None else None, declined=declined),
        _("Verzicht auf eine Stellungnahme vermerkt.") if declined else _("Stellungnahme abgelegt."))


@bp.post("/adverse-items/<int:item_id>/file")
@login_required
def file(item_id: int) -> Response:
    return _step(item_id, lambda: adverse.file_after_hearing(runtime(), current_actor(), item_id),
                 _("Der Vorgang wurde in die Akte aufgenommen."))


@bp.post("/adverse-items/<int:item_id>/remove")
@login_required
def remove(item_id: int) -> Response:
    ground = (request.form.get("ground") or "").strip()
    return _step(item_id, lambda: adverse.remove(runtime(), current_actor(), item_id, ground),
                 _("Der Vorgang wurde entfernt; seine Dokumente sind vernichtet."))

