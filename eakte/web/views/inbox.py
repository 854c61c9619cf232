"""The Postkorb: the caller's open tasks, with counts per case type, filters, sorting and paging; above them the
follow-ups (Wiedervorlagen) due today or overdue."""
from __future__ import annotations

from dataclasses import dataclass
from flask import Blueprint, render_template, request
from flask_babel import get_locale

from eakte.presenters import task_views
from eakte.services import followups, workflow
from eakte.web.auth import current_actor, login_required
from eakte.web.layout import note_open_tasks
from eakte.web.paging import page_of, page_number
from eakte.web.runtime import runtime

bp = Blueprint("inbox", __name__)
SORTS = ("due", "arrival")
FOLLOWUPS_SHOWN = 100  # the longest overdue first; the rest (a count says how many) once these are done


@dataclass(frozen=True)
class InboxForm:
    """The GET filter form as the user filled it in (unknown values fall back to "no filter")."""

    case_type: str
    overdue: bool
    mine: bool
    sort: str

    @classmethod
    def from_args(cls) -> "InboxForm":
        sort = request.args.get("sort", "due")
        return cls(request.args.get("case_type", "").strip()[:64], request.args.get("overdue") == "1",
                   request.args.get("mine") == "1", sort if sort in SORTS else "due")

    def service_filter(self) -> workflow.InboxFilter:
        return workflow.InboxFilter(case_type=self.case_type or None, overdue=True if self.overdue else None,
                                    claimed_by_me=self.mine, sort=self.sort)


@bp.get("/inbox")
@login_required
def index() -> str:
    rt = runtime()
    form = InboxForm.from_args()
    size = rt.settings.web.page_size
    n = page_number()
    tasks, total, counts = workflow.inbox_page(rt, current_actor(), form.service_filter(),
                                               offset=(n - 1) * size, limit=size)
    due = followups.inbox_followups(rt, current_actor(), limit=FOLLOWUPS_SHOWN)
    note_open_tasks(counts, due.total)
    labels = case_type_labels()
    return render_template("inbox/index.html", form=form, rows=task_views(rt, tasks), page=page_of(total, size, n),
                           due=due,
                           counts=[(key, labels.get(key, key), count) for key, count in sorted(counts.items())],
                           type_options=sorted(labels.items(), key=lambda kv: kv[1]))


def case_type_labels() -> dict[str, str]:
    """Each installed case type's name in the user's language, for the counts and the filter's choices."""
    german = str(get_locale() or "de") == "de"
    return {key: t.label_de if german else t.label_en for key, t in runtime().registry.types.items()}
