"""The integrity checks of the installation (issue 10 point 4): when the audit trail and the blob store were
last verified, by whom, what was found, and a button that starts a check as a background job. Auditors and
admins only (the services refuse everyone else, the layout shows the 403 page)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from eakte.errors import Conflict
from eakte.services import verification
from eakte.web.auth import current_actor, login_required
from eakte.web.runtime import runtime

bp = Blueprint("verification", __name__)


@bp.get("/verification")
@login_required
def index() -> str:
    checks = verification.status(runtime(), current_actor())
    return render_template("verification/index.html", checks=checks, breadcrumbs=[(_("Prüfungen"), None)])


@bp.post("/verification/<kind>")
@login_required
def start(kind: str) -> object:
    try:
        verification.start_run(runtime(), current_actor(), kind)
    except Conflict:
        flash(_("Diese Prüfung läuft bereits; bitte warten Sie ihr Ergebnis ab."), "warning")
    else:
        flash(_("Die Prüfung ist beauftragt. Das Ergebnis erscheint hier, sobald sie beendet ist."), "success")
    return redirect(url_for("verification.index"), code=303)
