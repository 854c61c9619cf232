"""A task: the case's documents beside the decision panel; deciding, claiming and releasing it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eakte.presenters import invoice_lines, task_view
from eakte.errors import Conflict, Invalid
from eakte.services import documents, workflow
from eakte.web.auth import local_path, current_actor, login_required
from eakte.web.runtime import runtime

bp = Blueprint("tasks", __name__)
COMMENT_MAX = 5000
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg")


def _german() -> bool:
    return str(get_locale() or "de") == "de"


def _message(exc: Invalid) -> str:
    return exc.detail_de if _german() and exc.detail_de else exc.detail


def _task(task_id: int) -> dict[str, Any]:
    rt = runtime()
    page = workflow.task_page(rt, current_actor(), task_id)
    return task_view(rt, page.context, page.tasks[0]) | {"case": page.tasks[0].case}


def _render(task: dict[str, Any], *, status: int = 200, errors: dict[str, str] | None = None,
            form: dict[str, str] | None = None) -> tuple[str, int]:
    rt = runtime()
    case = task["case"]
    docs = documents.case_documents(rt, current_actor(), case.id)
    case_type = rt.registry.get(case.case_type)
    # Lists get their own sections (skonto, lines, checks); the line count is in the lines table.
    fields = [f for f in case_type.fields if f.kind != "list" and f.name != "line_count"] if case_type else []
    invoice_doc = next((d for d in docs if d.kind == "invoice"), None)
    inline = None
    if invoice_doc is not None:
        current = next((v for v in invoice_doc.versions if v.number == invoice_doc.current_version), None)
        if current is not None and current.mime_type in INLINE_TYPES:
            inline = invoice_doc
    errors = errors or {}
    summary = list(errors.items())  # each key is the id of the control the message belongs to
    body = render_template("tasks/show.html", t=task, case=case, documents=docs, inline=inline, fields=fields,
                           metadata=case.metadata_, checks=task["checks"], errors=errors, summary=summary,
                           lines=invoice_lines(case.metadata_) if case.case_type == "invoice" else None,
                           form=form or {}, next_url=request.full_path if request.method == "GET"
                           else url_for("tasks.show", task_id=task["id"]),
                           breadcrumbs=[(_("Postkorb"), url_for("inbox.index")), (case.reference, None)])
    return body, status


@bp.get("/tasks/<int:task_id>")
@login_required
def show(task_id: int) -> tuple[str, int]:
    return _render(_task(task_id))


@bp.post("/tasks/<int:task_id>/decide")
@login_required
def decide(task_id: int) -> object:
    task = _task(task_id)
    key = request.form.get("decision", "")
    comment = request.form.get("comment", "").strip()
    form = {"decision": key, "comment": comment}
    decision = next((d for d in task["decisions"] if d["key"] == key), None)
    errors: dict[str, str] = {}
    if decision is None:
        errors["decisions"] = _("Bitte wählen Sie eine der angebotenen Entscheidungen.")
    elif decision["needs_comment"] and workflow.blank_comment(comment):
        errors["comment"] = _("Bitte begründen Sie die Entscheidung „%(label)s“ in der Bemerkung.",
                              label=decision["label_de"] if _german() else decision["label_en"])
    if len(comment) > COMMENT_MAX:
        errors["comment"] = _("Die Bemerkung darf höchstens %(n)s Zeichen lang sein.", n=COMMENT_MAX)
    if request.form.get("confirm") != "1" and decision is not None:
        errors["confirm"] = _("Bitte bestätigen Sie, dass Sie die Entscheidung treffen wollen.")
    if errors:
        return _render(task, status=422, errors=errors, form=form)
    assert decision is not None
    try:
        workflow.complete_task(runtime(), current_actor(), task_id, key, comment)
    except (Invalid, Conflict) as exc:
        # Fields still missing before an approval, or a rule of the step refusing this actor (the four-eyes
        # principle): shown with the form, nothing decided.
        return _render(_task(task_id), status=422 if isinstance(exc, Invalid) else 409,
                       errors={"decisions": _message(exc)}, form=form)
    flash(_("Entscheidung gespeichert: %(label)s", label=decision["label_de"] if _german() else decision["label_en"]),
          "success")
    return redirect(url_for("inbox.index"), code=303)


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> object:
    workflow.claim_task(runtime(), current_actor(), task_id)
    return _after_claim(task_id, _("Sie haben die Aufgabe übernommen."))


@bp.post("/tasks/<int:task_id>/release")
@login_required
def release(task_id: int) -> object:
    workflow.release_task(runtime(), current_actor(), task_id)
    return _after_claim(task_id, _("Sie haben die Aufgabe zurückgegeben."))


def _after_claim(task_id: int, message: str) -> object:
    if request.headers.get("HX-Request"):  # htmx: only the inbox row changes, no reload
        return render_template("inbox/_row.html", t=_task(task_id), next_url=_next_url(task_id))
    flash(message, "success")
    return redirect(_next_url(task_id), code=303)


def _next_url(task_id: int) -> str:
    return local_path(request.form.get("next")) or url_for("tasks.show", task_id=task_id)

