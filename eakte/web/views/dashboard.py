"""The overview (Übersicht): my open cases, recently filed documents, my open tasks."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from eakte.services import cases, documents, inspection, workflow
from eakte.web.auth import current_actor, login_required
from eakte.web.layout import note_open_tasks
from eakte.web.runtime import runtime
from eakte.web.views.schema import step_label

bp = Blueprint("dashboard", __name__)
CARD_ROWS = 10


@bp.get("/")
@login_required
def index() -> str | Response:
    rt, actor = runtime(), current_actor()
    if inspection.lands_on_own_file(rt, actor):  # an account in no unit: its own file is all there is
        return redirect(url_for("inspection.index"), code=303)
    my_cases, my_cases_total = cases.my_open_cases(rt, actor, limit=CARD_ROWS)
    recent = documents.recent_documents(rt, actor, limit=CARD_ROWS)
    tasks, tasks_total, counts = workflow.inbox_page(rt, actor, workflow.InboxFilter(), offset=0, limit=CARD_ROWS)
    note_open_tasks(counts)
    return render_template("dashboard/index.html", my_cases=my_cases, my_cases_total=my_cases_total,
                           recent=recent, tasks=tasks.tasks, tasks_total=tasks_total,
                           step_label=_step_label)


def _step_label(case_type_key: str, step_key: str) -> str:
    return step_label(runtime().registry.get(case_type_key), step_key)
