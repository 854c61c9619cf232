"""Login, logout and the language switch; who is signed in (`g.principal`) for every page.

The session cookie (signed, HttpOnly, SameSite=Lax) carries only the random session secret; the session itself is a
row (`eakte.services.logins`), so logout, the idle timeout and deactivation end it at once."""
from __future__ import annotations

from functools import wraps
from typing import Callable, TypeVar
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, Response, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from eakte.errors import Unauthorized
from eakte.runtime import Runtime
from eakte.services import logins
from eakte.services.access import Actor, Principal, require_admin
from eakte.web.forms import LanguageForm, LoginForm, PlainForm
from eakte.web.runtime import runtime

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., object])
_PUBLIC_ENDPOINTS = {"auth.login", "auth.language", "static"}
# The page that replaces a one-time password, and what a user who must change it may still reach.
PASSWORD_CHANGE_ENDPOINT = "settings.password"
_ALLOWED_BEFORE_PASSWORD_CHANGE = {PASSWORD_CHANGE_ENDPOINT, "auth.logout", "auth.language", "static"}


def current_principal() -> Principal | None:
    return g.get("principal")


def current_actor() -> Actor:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("not signed in", detail_de="Bitte melden Sie sich an.")
    return Actor(principal, request.remote_addr)


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: object, **kwargs: object) -> object:
        if current_principal() is None:
            if request.headers.get("HX-Request"):
                return Response(status=401, headers={"HX-Redirect": url_for("auth.login")})
            return redirect(url_for("auth.login", next=local_path(request.full_path)))
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


def admin_required(view: F) -> F:
    """`login_required`, then the admin role: anyone else gets the 403 page, also for pages that only show a form
    (whose services would refuse only on submit)."""
    @wraps(view)
    def wrapper(*args: object, **kwargs: object) -> object:
        require_admin(current_actor().principal)
        return view(*args, **kwargs)
    return login_required(wrapper)  # type: ignore[return-value]


def local_path(target: str | None) -> str | None:
    """Only paths on this site are followed after login (no open redirect to //evil.example)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target.rstrip("?") or "/"


def _load_signed_in_user() -> None:
    if request.path.startswith(("/api/", "/static/")):
        return
    secret = session.get("sid")
    if not secret:
        return
    try:
        info = logins.session_principal(runtime(), secret)
        g.principal, g.locale, g.must_change_password = info.principal, info.locale, info.must_change_password
    except Unauthorized:
        session.pop("sid", None)
        # Flashed here, not on the login page: the request that finds the session ended is usually the one
        # redirected to /login, and the next request no longer knows there was a session.
        flash(_("Ihre Sitzung ist beendet. Bitte melden Sie sich erneut an."), "info")


def _password_change_url() -> str | None:
    """None while the change-password page is not installed (then nobody can be held on it)."""
    if PASSWORD_CHANGE_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(PASSWORD_CHANGE_ENDPOINT)


def _hold_until_password_changed() -> Response | None:
    """A user whose password an admin set reaches nothing but the change-password page (and logout)."""
    if not g.get("must_change_password") or request.endpoint in _ALLOWED_BEFORE_PASSWORD_CHANGE:
        return None
    target = _password_change_url()
    if target is None:
        return None
    if request.headers.get("HX-Request"):
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target, code=303)


def _failed_login(response: Response) -> bool:
    return response.status_code == 401


def _username_key() -> str:
    return "login-user:" + (request.form.get("username") or "").strip().lower()


def _wrong_current_password(response: Response) -> bool:
    return bool(g.get("wrong_current_password"))


def _signed_in_user_key() -> str:
    principal = current_principal()
    return f"password-user:{principal.user_id if principal else '-'}"


def _limit_failures(app: Flask, endpoint: str, user_key: Callable[[], str],
                    failed: Callable[[Response], bool]) -> None:
    """Only failed attempts count, per user and per client address; when either is used up, even the right
    password waits until the window has passed (the limits of failed logins)."""
    limiter: Limiter = app.extensions["eakte_limiter"]
    web = app.extensions["eakte"].settings.web
    limited = limiter.limit(web.login_limit_per_user, key_func=user_key, methods=["POST"], deduct_when=failed,
                            per_method=True)(app.view_functions[endpoint])
    limited = limiter.limit(web.login_limit_per_address, methods=["POST"], deduct_when=failed,
                            per_method=True)(limited)
    # The limiter checks decorated limits inside its wrapper: the blueprint holds the bare view, so the
    # application must serve the wrapped one (otherwise no limit ever applies).
    app.view_functions[endpoint] = limited


def limit_password_checks(app: Flask) -> None:
    """The current password asked for when changing it is limited like a login: a session left open must not
    become a way to guess it. Called once the change-password page is registered."""
    if PASSWORD_CHANGE_ENDPOINT in app.view_functions:
        _limit_failures(app, PASSWORD_CHANGE_ENDPOINT, _signed_in_user_key, _wrong_current_password)


def init_auth(app: Flask) -> None:
    rt: Runtime = app.extensions["eakte"]
    web = rt.settings.web
    app.config.update(RATELIMIT_STORAGE_URI=web.ratelimit_storage_uri, RATELIMIT_HEADERS_ENABLED=False,
                      RATELIMIT_KEY_PREFIX="eakte")
    # One limiter per application: its counters (in memory in the embedded default) belong to this app.
    limiter = Limiter(key_func=get_remote_address, app=app, default_limits=[])
    app.extensions["eakte_limiter"] = limiter
    app.before_request(_load_signed_in_user)
    app.before_request(_hold_until_password_changed)
    app.register_blueprint(bp)
    _limit_failures(app, "auth.login", _username_key, _failed_login)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded) -> tuple[str, int]:
        form = LoginForm()
        message = _("Zu viele fehlgeschlagene Anmeldeversuche. Bitte warten Sie einige Minuten und versuchen Sie es dann erneut.")
        return render_template("login.html", form=form, error=message, next=None), 429


@bp.route("/login", methods=["GET", "POST"])
def login() -> object:
    form = LoginForm()
    target = local_path(request.values.get("next"))
    if current_principal() is not None and request.method == "GET":
        return redirect(target or url_for("dashboard.index"))
    if request.method == "POST" and form.validate_on_submit():
        try:
            result = logins.log_in(runtime(), form.username.data.strip(), form.password.data, request.remote_addr)
        except Unauthorized:
            error = _("Benutzername oder Passwort ist falsch.")
            return render_template("login.html", form=form, error=error, next=target), 401
        locale = result.locale or session.get("locale")
        session.clear()  # a new session at login: nothing set before it (e.g. by an attacker) survives
        session["sid"] = result.secret
        if locale:
            session["locale"] = locale
        session.permanent = True
        forced = _password_change_url() if result.must_change_password else None
        return redirect(forced or target or url_for("dashboard.index"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("login.html", form=form, error=None, next=target), status


@bp.post("/logout")
@login_required
def logout() -> Response:
    form = PlainForm()
    if form.validate_on_submit():
        logins.log_out(runtime(), current_actor(), session["sid"])
    locale = session.get("locale")
    session.clear()
    if locale:  # the sign-in page after logout stays in the language the user chose
        session["locale"] = locale
    flash(_("Sie wurden abgemeldet."), "success")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/language")
def language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_principal() is not None:
            logins.set_locale(runtime(), current_actor(), form.locale.data)
    return redirect(local_path(request.form.get("next")) or url_for("dashboard.index"), code=303)
