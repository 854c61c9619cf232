"""Cookie settings, the signing key, CSRF protection and the security headers of every page."""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Blueprint, Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from eakte.runtime import Runtime

csrf = CSRFProtect()

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "object-src 'none'; frame-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def secret_key(rt: Runtime) -> str:
    """The configured key, or one made once and kept (mode 0600) in the data directory."""
    if rt.settings.web.secret_key:
        return rt.settings.web.secret_key
    path = Path(rt.settings.data_dir) / "web-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class _SessionInterface(SecureCookieSessionInterface):
    """With cookie_secure "auto" the session cookie is Secure exactly when the request came over HTTPS. It is
    decided here because Flask writes the session cookie after every after_request hook has run."""

    def get_cookie_secure(self, app: Flask) -> bool:
        auto = app.extensions["eakte"].settings.web.cookie_secure == "auto"
        return super().get_cookie_secure(app) or (auto and request.is_secure)


def init_security(app: Flask, token_authenticated: tuple[Blueprint, ...]) -> None:
    """`token_authenticated`: blueprints that accept bearer tokens only, never the session cookie, so a forged
    cross-site request carries nothing they would accept: they need no CSRF token."""
    rt: Runtime = app.extensions["eakte"]
    web = rt.settings.web
    app.config.update(
        SECRET_KEY=secret_key(rt),
        SESSION_COOKIE_NAME="eakte_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web.cookie_secure == "always",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=web.session_idle_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session; the session has its idle timeout
        WTF_CSRF_SSL_STRICT=True,
    )
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    for blueprint in token_authenticated:
        csrf.exempt(blueprint)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in _HEADERS.items():  # /api/v1/docs too: it is files only (eakte.web.api_docs)
            response.headers.setdefault(name, value)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
