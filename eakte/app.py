"""The WSGI application: the REST API under /api/v1 and the web interface, over one Runtime."""
from __future__ import annotations

from apiflask import APIFlask
from werkzeug.middleware.proxy_fix import ProxyFix

from eakte import __version__
from eakte.api.body import check_request_input, drop_type_of_empty_answers
from eakte.api.converters import register_converters
from eakte.api.errors import register_error_handlers
from eakte.api.openapi import document_problems
from eakte.api.schemas import Problem
from eakte.api import (  # noqa: F401  (they register on the blueprint)
    routes_corrections, routes_invoices, routes_search, routes_users, routes_workflow)
from eakte.api import routes_followups  # noqa: F401
from eakte.api import routes_procedures  # noqa: F401
from eakte.api import routes_notes  # noqa: F401
from eakte.api import routes_checkout  # noqa: F401
from eakte.api import routes_adverse  # noqa: F401
from eakte.api import routes_reads  # noqa: F401
from eakte.api import routes_access  # noqa: F401
from eakte.api import routes_inspection  # noqa: F401
from eakte.api import routes_trade_extracts  # noqa: F401
from eakte.api import routes_trade  # noqa: F401
from eakte.api import routes_trade_outbox  # noqa: F401
from eakte.api import routes_levy  # noqa: F401
from eakte.api import routes_levy_compute  # noqa: F401
from eakte.api import routes_levy_survey  # noqa: F401
from eakte.api import routes_levy_payments  # noqa: F401
from eakte.api.routes import api
from eakte.config import MIB
from eakte.runtime import Runtime
from eakte.services import casetypes
from eakte.web import init_web
from eakte.web.errors import error_page


def create_app(rt: Runtime, *, check_schema: bool = True) -> APIFlask:
    if check_schema:
        rt.db.require_current_schema()
    rt.registry  # noqa: B018 - load and validate the case types now: a broken one stops the start, named
    if check_schema:  # settings naming units that do not exist: one warning line each, the server still starts
        casetypes.log_unknown_units(rt)
    app = APIFlask("eakte", title="eakte API", version=__version__, spec_path="/api/v1/openapi.json",
                   template_folder="web/templates", static_folder="web/static",
                   docs_path="/api/v1/docs")
    app.config.update(
        # Multipart parts beyond 500 KB are spooled to disk by Werkzeug, so uploads never sit in memory whole.
        MAX_CONTENT_LENGTH=rt.settings.ingest.max_size_mb * MIB + MIB,
        MAX_FORM_MEMORY_SIZE=MIB,
        JSON_SORT_KEYS=False,
        SPEC_FORMAT="json",
        HTTP_ERROR_SCHEMA=Problem,  # what eakte.api.errors really answers; eakte.api.openapi sets the type
        VALIDATION_ERROR_SCHEMA=Problem,
        INFO={"description": "Electronic records (E-Akte) with case workflows. Errors are RFC 9457 problem "
                             "details (application/problem+json)."},
    )
    app.extensions["eakte"] = rt
    register_error_handlers(app, page=error_page)
    register_converters(app.url_map)  # before the routes: every <int:id> is bounded to what a key can hold
    app.after_request(drop_type_of_empty_answers)
    app.spec_processor(document_problems)
    app.register_blueprint(api)
    init_web(app, token_authenticated=(api,))  # the API takes bearer tokens only: no CSRF token there
    # After the web's own hooks (the signed-in user, CSRF, the login limiter): a refused page still shows who is
    # signed in, and a refused login still counts.
    app.before_request(check_request_input)
    if rt.settings.server.trusted_proxies:
        n = rt.settings.server.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    return app
