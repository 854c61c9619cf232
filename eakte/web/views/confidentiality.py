"""The confidentiality level (Vertraulichkeitsstufe) of a case: its badge in lists, its place on the case page and
the small form that raises or lowers it (the rule is `eakte.services.confidentiality`'s, as in PATCH /cases)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from eakte.config import ConfidentialityLevel
from eakte.errors import EakteError, NotFound
from eakte.services import cases, confidentiality
from eakte.web.auth import current_actor, login_required
from eakte.web.forms import PlainForm
from eakte.web.i18n import select_locale
from eakte.web.labels import role_label
from eakte.web.runtime import runtime

bp = Blueprint("confidentiality", __name__)


def _label(level: ConfidentialityLevel) -> str:
    return level.label_de if select_locale() == "de" else level.label_en


@bp.app_template_global("confidentiality_label")
def confidentiality_label(key: str) -> str:
    """The level's name in the page's language (a key no longer configured: the highest level's, as it counts)."""
    return _label(runtime().settings.confidentiality.effective(key))


@bp.app_template_global("confidentiality_marked")
def confidentiality_marked(key: str) -> str | None:
    """The label to show as a badge in lists: for every level above the lowest (offen needs no mark)."""
    c = runtime().settings.confidentiality
    return None if key == c.levels[0].key else _label(c.effective(key))


@bp.app_template_global("confidentiality_options")
def confidentiality_options() -> list[tuple[str, str]]:
    """(key, label) of every level, lowest first, each with the role it needs: for the new-case form."""
    c = runtime().settings.confidentiality
    return [(level.key, _option(level, c.role_order[0])) for level in c.levels]


def _option(level: ConfidentialityLevel, lowest_role: str) -> str:
    if level.min_role == lowest_role:
        return _label(level)
    return _("%(level)s (sichtbar ab %(role)s)", level=_label(level), role=role_label(level.min_role))


@bp.app_template_global("confidentiality_choices")
def confidentiality_choices(case_id: int) -> list[tuple[str, str]]:
    """The levels the caller may give this case (the current one first among them, in level order); empty when
    the caller may change nothing, so the case page shows no form."""
    c = runtime().settings.confidentiality
    offered = confidentiality.level_choices(runtime(), current_actor(), case_id)
    allowed = [(ch.level.key, _option(ch.level, c.role_order[0])) for ch in offered if ch.allowed]
    return allowed if len(allowed) > 1 else []


@bp.route("/cases/<int:case_id>/confidentiality", methods=["GET", "POST"])
@login_required
def change(case_id: int) -> str | Response | tuple[str, int]:
    rt, actor = runtime(), current_actor()
    form = PlainForm()
    error, status = None, 200
    if request.method == "POST" and form.validate_on_submit():
        key = request.form.get("confidentiality", "")
        try:
            case = cases.change_case(rt, actor, case_id, cases.CaseChanges(confidentiality=key))
        except EakteError as exc:
            if exc.extra.get("field") != "confidentiality":
                raise
            error = exc.detail_de if select_locale() == "de" and exc.detail_de else exc.detail
            status = exc.status
        else:
            level = confidentiality_label(case.confidentiality)
            try:
                cases.read_case(rt, actor, case_id, log=False)  # only whether it is still visible
            except NotFound:  # raised above the caller's own role: allowed, and they are told where it went
                flash(_("Die Akte %(reference)s ist jetzt „%(level)s“. Ihre Rolle reicht für diese Stufe nicht; "
                        "Sie sehen die Akte nicht mehr.", reference=case.reference, level=level), "info")
                return redirect(url_for("cases.index"), code=303)
            flash(_("Die Vertraulichkeitsstufe ist jetzt „%(level)s“.", level=level), "success")
            return redirect(url_for("cases.show", case_id=case_id), code=303)
    case = cases.read_case(rt, actor, case_id)
    body = render_template("cases/confidentiality.html", case=case, error=error, selected=request.form.get(
        "confidentiality", case.confidentiality), breadcrumbs=[
        (_("Akten"), url_for("cases.index")), (case.reference, url_for("cases.show", case_id=case.id)),
        (_("Vertraulichkeit"), None)])
    return (body, status) if error else body


@bp.app_template_global("confidentiality_rule")
def confidentiality_rule() -> str:
    return _("Höherstufen darf die Sachbearbeitung der federführenden Einheit, herabstufen nur deren Amtsleitung. "
             "Wer die Rolle nicht hat, die eine Stufe verlangt, sieht die Akte nicht mehr – auch Sie selbst.")

