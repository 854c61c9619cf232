"""Procedures (Vorgänge) and sub-files (Teilakten): opening one from the case page, its own page (documents,
upload into it, rename, close/reopen), and moving a document from its page. Every rule is in
eakte.services.procedures, as for the API."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eakte.errors import EakteError, Invalid
from eakte.services import procedures, reads
from eakte.web.auth import current_actor, login_required
from eakte.web.forms import PlainForm
from eakte.web.runtime import runtime
from eakte.web.views import cases as case_pages
from eakte.web.views.documents import _reason

bp = Blueprint("procedures", __name__)


def _csrf_checked() -> None:
    if not PlainForm().validate_on_submit():
        raise Invalid("the form has expired", detail_de="Das Formular ist abgelaufen; bitte erneut senden")


@bp.get("/procedures/<int:procedure_id>")
@login_required
def show(procedure_id: int) -> str:
    return _show(procedure_id)


def _show(procedure_id: int, errors: dict[str, str] | None = None, given: dict[str, str] | None = None) -> str:
    rt, actor = runtime(), current_actor()
    page = procedures.procedure_page(rt, actor, procedure_id)
    case = page.procedure.case
    # The page shows a sub-file's documents: a read of a restricted case (not traced in procedure_page, which
    # services/reads.py itself builds on).
    reads.log_read(rt, actor, case, "read.procedure", procedure_id=page.procedure.id)
    return render_template("procedures/show.html", page=page, procedure=page.procedure, case=case,
                           errors=errors or {}, given=given or {}, upload_procedure=page.procedure,
                           breadcrumbs=[(_("Akten"), url_for("cases.index")),
                                        (case.reference, url_for("cases.show", case_id=case.id)),
                                        (page.procedure.reference, None)])


@bp.post("/cases/<int:case_id>/procedures")
@login_required
def create(case_id: int) -> Response | tuple[str, int]:
    _csrf_checked()
    title = request.form.get("title") or ""
    try:
        procedure = procedures.open_procedure(runtime(), current_actor(), case_id, title)
    except Invalid as exc:  # shown at the field on the case page
        g.procedure_errors = {"title": _reason(exc)}  # read by cases/_procedures.html inside the case page
        g.procedure_title = title
        return case_pages.show(case_id), 422
    except EakteError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("Das war nicht möglich: %(reason)s", reason=_reason(exc)), "error")
        return redirect(url_for("cases.show", case_id=case_id), code=303)
    flash(_("Der Vorgang %(reference)s wurde angelegt.", reference=procedure.reference), "success")
    return redirect(url_for("procedures.show", procedure_id=procedure.id), code=303)


@bp.post("/procedures/<int:procedure_id>")
@login_required
def update(procedure_id: int) -> Response | tuple[str, int]:
    """Rename (field `title`) or close/reopen (field `status`)."""
    _csrf_checked()
    title = request.form.get("title")
    status = request.form.get("status")
    try:
        procedure = procedures.change_procedure(runtime(), current_actor(), procedure_id,
                                                procedures.ProcedureChanges(title=title, status=status))
    except Invalid as exc:
        return _show(procedure_id, {str(exc.extra.get("field") or "title"): _reason(exc)},
                     {"title": title or ""}), 422
    except EakteError as exc:
        if exc.status in (403, 404):
            raise
        flash(_("Das war nicht möglich: %(reason)s", reason=_reason(exc)), "error")
        return redirect(url_for("procedures.show", procedure_id=procedure_id), code=303)
    if status == "closed":
        flash(_("Der Vorgang %(reference)s wurde abgeschlossen.", reference=procedure.reference), "success")
    elif status == "open":
        flash(_("Der Vorgang %(reference)s wurde wieder geöffnet.", reference=procedure.reference), "success")
    else:
        flash(_("Der Vorgang wurde umbenannt."), "success")
    return redirect(url_for("procedures.show", procedure_id=procedure_id), code=303)


@bp.post("/documents/<int:document_id>/move")
@login_required
def move(document_id: int) -> Response:
    _csrf_checked()
    raw = (request.form.get("procedure_id") or "").strip()
    target = int(raw) if raw.isdigit() else None  # "" (or "case"): the case level
    try:
        document = procedures.move(runtime(), current_actor(), document_id, target)
    except EakteError as exc:
        if exc.status == 403 or (exc.status == 404 and exc.extra.get("field") != "procedure_id"):
            raise  # not about the chosen target: the document itself is out of reach
        flash(_("Das Dokument wurde nicht verschoben: %(reason)s", reason=_reason(exc)), "error")
        return redirect(url_for("documents.show", document_id=document_id), code=303)
    flash(_("Das Dokument „%(title)s“ wurde verschoben.", title=document.title), "success")
    return redirect(url_for("documents.show", document_id=document_id), code=303)


@bp.app_template_global("procedure_tree")
def procedure_tree(case_id: int) -> procedures.Tree:
    """The case page's tree (cases/_procedures.html), for the signed-in user."""
    return procedures.case_tree(runtime(), current_actor(), case_id)


@bp.app_template_global("document_move_choices")
def document_move_choices(document_id: int) -> procedures.MoveChoices:
    """Where the document lies and where it may go (documents/_move.html), for the signed-in user."""
    return procedures.move_choices(runtime(), current_actor(), document_id)
