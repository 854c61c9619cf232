"""/api/v1/docs: Swagger UI from the vendored swagger-ui-dist (scripts/refresh_vendor.py), never from a CDN.

APIFlask's own docs page is inline script and inline style, which the one Content-Security-Policy of every page
forbids. Its view is replaced by a page that loads the same vendored files plus a static start script, so the
docs page needs no exception to the policy (and works on an installation without internet)."""
from __future__ import annotations

from flask import Flask, current_app, render_template

_VENDOR = "/static/vendor/swagger-ui/"


def init_api_docs(app: Flask) -> None:
    app.config.update(
        SWAGGER_UI_CSS=_VENDOR + "swagger-ui.css",
        SWAGGER_UI_BUNDLE_JS=_VENDOR + "swagger-ui-bundle.js",
        SWAGGER_UI_STANDALONE_PRESET_JS=_VENDOR + "swagger-ui-standalone-preset.js",
        DOCS_FAVICON="data:,",  # APIFlask's default is an image on apiflask.com
    )
    if "openapi.docs" in app.view_functions:  # APIFlask registers it when docs_path is set
        app.view_functions["openapi.docs"] = _docs


def _docs() -> str:
    return render_template("api_docs.html", config=current_app.config,
                           title=getattr(current_app, "title", "API"), version=getattr(current_app, "version", ""))
