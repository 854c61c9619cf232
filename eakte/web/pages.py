"""The page blueprints, and what every page's layout needs (navigation, counts, forms of the header)."""
from __future__ import annotations

from typing import Any

from flask import Flask, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from eakte.web.auth import current_actor, current_principal
from eakte.web.forms import LanguageForm, PlainForm
from eakte.web.layout import layout_context
from eakte.web.views import cases, cases_new, dashboard, deputies, documents, fileplan, inbox, invoices, tasks
from eakte.web.views import settings
from eakte.web.views import search as search_pages
from eakte.web.views import admin_users
from eakte.web.views import admin_system
from eakte.web.views import verification
from eakte.web.views import followups
from eakte.web.views import procedures
from eakte.web.views import notes
from eakte.web.views import confidentiality
from eakte.web.views import adverse
from eakte.web.views import access_requests
from eakte.web.views import inspection
from eakte.web.views import reads
from eakte.web.views import trade
from eakte.web.views import levy, levy_calc, levy_payments, levy_survey

BLUEPRINTS = (dashboard.bp, fileplan.bp, cases.bp, cases_new.bp, documents.bp, invoices.bp, inbox.bp, tasks.bp,
              deputies.bp, settings.bp, search_pages.bp, admin_users.bp, admin_system.bp, verification.bp,
              followups.bp, procedures.bp, notes.bp, confidentiality.bp, access_requests.bp, inspection.bp, reads.bp,
              adverse.bp, trade.bp, levy.bp, levy_calc.bp, levy_survey.bp, levy_payments.bp)


def register_pages(app: Flask) -> None:
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    # Pages link to endpoints of other page modules only once those exist (`{% if has_endpoint("x.y") %}`).
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions

    @app.context_processor
    def _layout() -> dict[str, Any]:
        if request.path.startswith("/api/"):
            return {}
        principal = current_principal()
        ctx: dict[str, Any] = {"principal": principal, "language_form": LanguageForm(), "plain_form": PlainForm()}
        if principal is not None and "layout" not in g:
            try:
                g.layout = layout_context(current_actor())
            except Exception:  # noqa: BLE001 - an error page must render even when the layout data cannot load
                g.layout = None
        ctx["layout"] = g.get("layout")
        return ctx

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> object:
        if request.path.startswith("/api/"):
            return exc
        return _csrf_page()


def _csrf_page() -> object:
    body = render_template("errors/error.html", status=400, title=_("Das Formular ist abgelaufen"),
                           message=_("Zu Ihrer Sicherheit wurde das Formular nicht gesendet. Bitte gehen Sie "
                                     "zurück, laden Sie die Seite neu und senden Sie es erneut."), hint=None)
    return make_response(body, 400)
