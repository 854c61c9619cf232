"""Zugriffsprotokoll: the access log of a restricted case (a personnel file) in the browser, a tab of the case
for those who may read it. Who may is the service's rule (eakte.services.reads.access_log); the table is the
partial cases/_access_log.html, which the employee's own view can include as well."""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from eakte.models import Case
from eakte.services import reads
from eakte.web.auth import current_actor, login_required
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime
from eakte.web.views.case_words import AUDIT_ACTIONS, word
from eakte.web.views.schema import type_label

bp = Blueprint("reads", __name__)
PAGE_SIZE = 50

# How the reader saw the file (`reads.AccessAs`).
ACCESS_AS: dict[str, Callable[[], str]] = {
    "reader": lambda: _("Leseberechtigt"),
    "grant": lambda: _("Einsicht mit Begründung"),
    "admin": lambda: _("Administration"),
    "subject": lambda: _("Eigene Akte (Einsicht)"),
    "subfile": lambda: _("Nur Teilakte"),
}
# How a document was read, or where a search hit was shown.
ACCESS_VIA: dict[str, Callable[[], str]] = {
    "details": lambda: _("Dokumentseite"),
    "preview": lambda: _("Vorschau"),
    "inline": lambda: _("Anzeige im Browser"),
    "download": lambda: _("Herunterladen"),
    "page": lambda: _("Trefferliste"),
    "csv": lambda: _("CSV-Export der Treffer"),
}


@bp.app_template_global("access_log_shown")
def access_log_shown(case: Case) -> bool:
    """Whether the case's tabs offer the access log: a restricted case, to those who may read its log."""
    return reads.may_read_log(runtime().registry, current_actor().principal, case)


@bp.app_template_global("access_log_words")
def access_log_words() -> dict[str, Callable[[str | None], str]]:
    """The words of the access log's columns, for cases/_access_log.html wherever it is included."""
    return {"action": lambda key: word(AUDIT_ACTIONS, key), "as": lambda key: word(ACCESS_AS, key),
            "via": lambda key: word(ACCESS_VIA, key)}


@bp.get("/cases/<int:case_id>/access-log")
@login_required
def index(case_id: int) -> str:
    rt = runtime()
    number = page_number()
    found = reads.access_log(rt, current_actor(), case_id, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    case = found.case
    crumbs: list[tuple[str, str | None]] = [(_("Zugriffsprotokoll"), None)]
    if not found.subject:  # the employee does not open the case itself: their way in is "Meine Personalakte"
        crumbs = [(_("Akten"), url_for("cases.index")), (case.reference, url_for("cases.show", case_id=case.id)),
                  *crumbs]
    return render_template("cases/access_log.html", case=case, log=found, page=page_of(found.total, PAGE_SIZE, number),
                           tab="access-log", type_label=type_label(rt.registry.get(case.case_type), case.case_type),
                           breadcrumbs=crumbs)
