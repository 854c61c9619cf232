"""Meine Personalakte: the employee's own file, read-only (eakte.services.inspection), with the copies to
download and who has read it. Every opening and every copy is logged by the service."""
from __future__ import annotations


from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from eakte.http import file_response
from eakte.presenters import content_disposition
from eakte.services import inspection, reads
from eakte.web.auth import current_actor, login_required
from eakte.web.runtime import runtime
from eakte.web.views.cases import metadata_rows
from eakte.web.views.documents import kind_label
from eakte.web.views.schema import current_label, type_label

bp = Blueprint("inspection", __name__)
ACCESS_LOG_ROWS = 50  # the newest; the whole log is the access-log page's
APART_ARG = "beihilfe"  # ?beihilfe=1: the sub-files kept apart (Beihilfe) too, as the employee chose


def _include_apart() -> bool:
    return request.args.get(APART_ARG) == "1"


@bp.get("/me/personnel-files")
@login_required
def index() -> str | Response:
    files = inspection.own_files(runtime(), current_actor())
    if len(files) == 1:  # the usual case: one's own file at once
        return redirect(url_for("inspection.show", case_id=files[0].case_id), code=303)
    return render_template("inspection/index.html", files=files,
                           type_label=lambda key: type_label(runtime().registry.get(key), key),
                           breadcrumbs=[(_("Meine Personalakte"), None)])


@bp.get("/me/personnel-files/<int:case_id>")
@login_required
def show(case_id: int) -> str:
    rt = runtime()
    seen = inspection.inspect(rt, current_actor(), case_id, include_apart=_include_apart())
    return render_template("inspection/show.html", seen=seen, case=seen.case,
                           metadata=metadata_rows(seen.case_type, seen.case.metadata_),
                           part_label=lambda part: current_label(part.label_de, part.label_en),
                           apart_labels=", ".join(current_label(s.label_de, s.label_en) for s in seen.apart),
                           adverse_kind=lambda kind: kind_label(seen.case.case_type, kind),
                           apart_arg=APART_ARG, access_log=_access_log(case_id),
                           breadcrumbs=[(_("Meine Personalakte"), url_for("inspection.index")),
                                        (seen.case.reference, None)])


@bp.get("/me/personnel-files/<int:case_id>/documents/<int:document_id>/copy")
@login_required
def copy(case_id: int, document_id: int) -> Response:
    version, stream = inspection.open_copy(runtime(), current_actor(), case_id, document_id,
                                           include_apart=_include_apart())

    return file_response(version, stream, {
        "Content-Disposition": content_disposition(version.filename), "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store", "Content-Security-Policy": "sandbox; default-src 'none'"})


def _access_log(case_id: int) -> reads.AccessLog:
    """Who has read the file: its access log, which the subject may read."""
    return reads.access_log(runtime(), current_actor(), case_id, limit=ACCESS_LOG_ROWS)
