"""Personal settings: language, password, personal API tokens (the rules are eakte.services.identity's)."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded

from eakte.clock import utcnow
from eakte.errors import EakteError, Invalid
from eakte.services import identity
from eakte.web.auth import current_actor, login_required
from eakte.web.runtime import runtime
from eakte.web.dates import form_date

bp = Blueprint("settings", __name__)


def _crumbs(*rest: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Einstellungen"), url_for("settings.index")), *rest]


def _message(exc: EakteError) -> str:
    return exc.detail_de if str(get_locale() or "de") == "de" and exc.detail_de else exc.detail


@bp.get("/settings")
@login_required
def index() -> str:
    return render_template("settings/index.html", breadcrumbs=[(_("Einstellungen"), None)])


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def password() -> object:
    errors: dict[str, str] = {}
    if request.method == "POST":
        current = request.form.get("current_password", "")
        new, repeated = request.form.get("new_password", ""), request.form.get("new_password_repeat", "")
        if not current:
            errors["current_password"] = _("Bitte geben Sie Ihr aktuelles Passwort ein.")
        if not new:
            errors["new_password"] = _("Bitte geben Sie ein neues Passwort ein.")
        elif new != repeated:
            errors["new_password_repeat"] = _("Die beiden neuen Passwörter stimmen nicht überein.")
        if not errors:
            try:
                identity.change_password(runtime(), current_actor(), current, new,
                                         keep_session=session.get("sid"))
            except Invalid as exc:
                field = exc.extra.get("field", "new_password")
                # Counted by the limit of failed attempts (eakte.web.auth.limit_password_checks).
                g.wrong_current_password = field == "current_password"
                errors[field] = _message(exc)
        if not errors:
            flash(_("Ihr Passwort wurde geändert."), "success")
            return redirect(url_for("settings.index"), code=303)
    return _password_page(errors, 422 if errors else 200)


def _password_page(errors: dict[str, str], status: int) -> tuple[str, int]:
    return render_template("settings/password.html", errors=errors, summary=list(errors.items()),
                           breadcrumbs=_crumbs((_("Passwort ändern"), None))), status


@bp.errorhandler(RateLimitExceeded)
def _too_many_wrong_passwords(exc: RateLimitExceeded) -> tuple[str, int]:
    message = _("Zu viele falsche Eingaben des aktuellen Passworts. Bitte warten Sie einige Minuten und "
                "versuchen Sie es dann erneut.")
    return _password_page({"current_password": message}, 429)


def _tokens_page(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                 status: int = 200) -> tuple[str, int]:
    errors = errors or {}
    tokens = identity.own_tokens(runtime(), current_actor())
    return render_template("settings/tokens.html", tokens=tokens, now=utcnow(), errors=errors,
                           summary=list(errors.items()), form=form or {},
                           max_days=identity.MAX_TOKEN_DAYS,
                           breadcrumbs=_crumbs((_("API-Tokens"), None))), status


@bp.get("/settings/tokens")
@login_required
def tokens() -> tuple[str, int]:
    return _tokens_page()


@bp.post("/settings/tokens")
@login_required
def create_token() -> object:
    form = {k: request.form.get(k, "").strip() for k in ("name", "expires_on")}
    errors: dict[str, str] = {}
    expires_on: dt.date | None = form_date(form["expires_on"])
    if not form["name"]:
        errors["name"] = _("Bitte geben Sie dem Token einen Namen.")
    if expires_on is None:
        errors["expires_on"] = _("Bitte geben Sie das Ablaufdatum an (TT.MM.JJJJ).")
    if not errors:
        assert expires_on is not None
        try:
            secret = identity.create_own_token(runtime(), current_actor(), form["name"], expires_on)
        except Invalid as exc:
            errors[exc.extra.get("field", "name")] = _message(exc)
    if errors:
        return _tokens_page(errors, form, 422)
    # The secret is rendered into this one response (not stored, not flashed): it is never shown again.
    return render_template("settings/token_created.html", secret=secret, name=form["name"],
                           breadcrumbs=_crumbs((_("API-Tokens"), url_for("settings.tokens")),
                                               (_("Neues Token"), None)))


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> object:
    token = identity.revoke_own_token(runtime(), current_actor(), token_id)
    flash(_("Token „%(name)s“ widerrufen.", name=token.name), "success")
    return redirect(url_for("settings.tokens"), code=303)
