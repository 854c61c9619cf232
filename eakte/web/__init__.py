"""The browser interface: server-rendered pages over the same services as the API (no second path to data).

`init_web(app)` wires sessions, language, CSRF, the login rate limit, security headers and the page blueprints
onto the application that already serves /api/v1."""
from __future__ import annotations

from flask import Blueprint, Flask

from eakte.web import api_docs, auth, i18n, security
from eakte.web.pages import register_pages


def init_web(app: Flask, token_authenticated: tuple[Blueprint, ...] = ()) -> None:
    security.init_security(app, token_authenticated)
    i18n.init_i18n(app)
    auth.init_auth(app)
    register_pages(app)
    auth.limit_password_checks(app)
    api_docs.init_api_docs(app)
