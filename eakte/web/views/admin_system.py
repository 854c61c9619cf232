"""Admin pages of the installation: the file plan with its case counts (and new positions), the installed case
types, the system status. Every page's service requires the admin role (others get the 403 page)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eakte.errors import Conflict, EakteError, Invalid, NotFound
from eakte.services import casetypes, extraction, fileplan, system
from eakte.web.auth import admin_required, current_actor
from eakte.web.runtime import runtime

bp = Blueprint("admin_system", __name__, url_prefix="/admin")
_FIELDS = ("code", "title", "retention_years", "disposal")


def _message(exc: EakteError) -> str:
    return exc.detail_de if str(get_locale() or "de") == "de" and exc.detail_de else exc.detail


def _file_plan_page(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                    status: int = 200) -> tuple[str, int]:
    errors = errors or {}
    rows = fileplan.plan_with_case_counts(runtime(), current_actor())
    return render_template("admin_system/file_plan.html", rows=rows, errors=errors, summary=list(errors.items()),
                           form=form or {"disposal": "archive"},
                           breadcrumbs=[(_("Verwaltung"), None), (_("Aktenplan"), None)]), status


@bp.get("/file-plan")
@admin_required
def file_plan() -> tuple[str, int]:
    return _file_plan_page()


@bp.post("/file-plan")
@admin_required
def add_node() -> object:
    form = {k: request.form.get(k, "").strip() for k in _FIELDS}
    errors: dict[str, str] = {}
    if not form["code"]:
        errors["code"] = _("Bitte geben Sie das Aktenplankennzeichen an, z. B. 20.30.")
    if not form["title"]:
        errors["title"] = _("Bitte geben Sie die Bezeichnung an.")
    if not form["retention_years"].isdigit():
        errors["retention_years"] = _("Bitte geben Sie die Aufbewahrungsfrist in ganzen Jahren an (0 bis 200).")
    if not errors:
        try:
            node, _plan = fileplan.create_node(runtime(), current_actor(), form["code"], form["title"],
                                               int(form["retention_years"]), form["disposal"])
        except (Invalid, Conflict) as exc:
            errors[exc.extra.get("field", "code")] = _message(exc)
    if errors:
        return _file_plan_page(errors, form, 422)
    flash(_("Aktenplanposition %(code)s angelegt.", code=node.code), "success")
    return redirect(url_for("admin_system.file_plan"), code=303)


@bp.get("/case-types")
@admin_required
def case_types() -> str:
    types = casetypes.installed_types(runtime(), current_actor())
    return render_template("admin_system/case_types.html", types=types,
                           breadcrumbs=[(_("Verwaltung"), None), (_("Aktenarten"), None)])


@bp.get("/status")
@admin_required
def status() -> str:
    info = system.status(runtime(), current_actor())
    return render_template("admin_system/status.html", info=info,
                           breadcrumbs=[(_("Verwaltung"), None), (_("Systemstatus"), None)])


@bp.post("/status/extractions/<int:version_id>/retry")
@admin_required
def retry_extraction(version_id: int) -> object:
    try:
        extraction.retry_failed(runtime(), current_actor(), version_id)
    except (Conflict, NotFound) as exc:
        flash(_message(exc), "warning")
    else:
        flash(_("Die Texterkennung wird erneut versucht."), "success")
    return redirect(url_for("admin_system.status"), code=303)
