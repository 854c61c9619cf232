"""User administration (admins only): units, users, their roles per unit, one-time passwords, API tokens.

Every rule (who may, what is valid, what is audited) is the identity service's; the views parse forms and render."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from eakte.errors import EakteError
from eakte.services import identity
from eakte.web.auth import admin_required, current_actor
from eakte.web.labels import role_label
from eakte.web.paging import page_number, page_of
from eakte.web.runtime import runtime

bp = Blueprint("admin_users", __name__, url_prefix="/admin")


def _message(exc: EakteError) -> str:
    return exc.detail_de if str(get_locale() or "de") == "de" and exc.detail_de else exc.detail


def _field_error(exc: EakteError, default: str) -> tuple[str, str]:
    return str(exc.extra.get("field") or default), _message(exc)


def _see(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **values), code=303)


def _crumbs(*rest: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [(_("Verwaltung"), url_for("admin_users.users")), *rest]


def _role_options() -> list[tuple[str, str]]:
    return [(r, role_label(r)) for r in sorted(runtime().registry.roles)]


def _unit_options() -> list[tuple[str, str]]:
    return [(u.code, f"{u.code} {u.name}") for u in identity.list_units(runtime(), current_actor())]


# --- units --------------------------------------------------------------------------------------------------

def _units_page(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                status: int = 200) -> tuple[str, int]:
    units = identity.list_units(runtime(), current_actor())
    errors = errors or {}
    return render_template("admin/units_index.html", units=units, errors=errors, form=form or {},
                           summary=[(f"unit-{k}", v) for k, v in errors.items()],
                           breadcrumbs=_crumbs((_("Organisationseinheiten"), None))), status


@bp.get("/units")
@admin_required
def units() -> tuple[str, int]:
    return _units_page()


@bp.post("/units")
@admin_required
def create_unit() -> object:
    form = {k: request.form.get(k, "").strip() for k in ("code", "name")}
    try:
        unit = identity.add_unit(runtime(), current_actor(), form["code"], form["name"])
    except EakteError as exc:
        field, msg = _field_error(exc, "code")
        return _units_page({field: msg}, form, 422)
    flash(_("Organisationseinheit %(code)s angelegt.", code=unit.code), "success")
    return _see("admin_users.units")


def _unit_page(code: str, error: str | None = None, name: str | None = None, status: int = 200) -> tuple[str, int]:
    unit = identity.unit_row(runtime(), current_actor(), code)
    return render_template("admin/units_edit.html", unit=unit, error=error,
                           name=unit.name if name is None else name,
                           summary=[("unit-name", error)] if error else [],
                           breadcrumbs=_crumbs((_("Organisationseinheiten"), url_for("admin_users.units")),
                                               (unit.code, None))), status


@bp.get("/units/<code>")
@admin_required
def unit(code: str) -> tuple[str, int]:
    return _unit_page(code)


@bp.post("/units/<code>")
@admin_required
def rename_unit(code: str) -> object:
    name = request.form.get("name", "")
    try:
        identity.rename_unit(runtime(), current_actor(), code, name)
    except EakteError as exc:
        if exc.status == 404:
            raise
        return _unit_page(code, _message(exc), name, 422)
    flash(_("Organisationseinheit %(code)s umbenannt.", code=code), "success")
    return _see("admin_users.units")


# --- users --------------------------------------------------------------------------------------------------

@bp.get("/users")
@admin_required
def users() -> str:
    size = runtime().settings.web.page_size
    n = page_number()
    rows, total = identity.list_users(runtime(), current_actor(), offset=(n - 1) * size, limit=size)
    return render_template("admin/users_index.html", users=rows, page=page_of(total, size, n),
                           breadcrumbs=_crumbs((_("Benutzer"), None)))


_NEW_USER_FIELDS = ("username", "display_name", "email", "password", "unit", "role")


def _new_user_page(errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
                   status: int = 200) -> tuple[str, int]:
    errors = errors or {}
    return render_template("admin/users_new.html", errors=errors, form=form or {},
                           summary=[(f"user-{k}", v) for k, v in errors.items()],
                           units=_unit_options(), roles=_role_options(),
                           breadcrumbs=_crumbs((_("Benutzer"), url_for("admin_users.users")),
                                               (_("Neuer Benutzer"), None))), status


@bp.get("/new-user")  # not under /users/: "new" is a valid user name
@admin_required
def new_user() -> tuple[str, int]:
    return _new_user_page()


@bp.post("/new-user")
@admin_required
def create_user() -> object:
    form = {k: request.form.get(k, "") for k in _NEW_USER_FIELDS}
    new = identity.NewUser(form["username"], form["display_name"], form["email"] or None, form["password"],
                           identity.UnitRole(form["unit"], form["role"]))
    try:
        user = identity.new_user(runtime(), current_actor(), new)
    except EakteError as exc:
        field, msg = _field_error(exc, "unit" if exc.status == 404 else "username")
        form["password"] = ""  # never sent back into the page
        return _new_user_page({field: msg}, form, 422)
    flash(_("Benutzer %(name)s angelegt. Beim ersten Anmelden muss das Passwort geändert werden.",
            name=user.username), "success")
    return _see("admin_users.user", username=user.username)


def _user_page(username: str, errors: dict[str, str] | None = None, form: dict[str, str] | None = None,
               status: int = 200) -> tuple[str, int]:
    detail = identity.user_detail(runtime(), current_actor(), username)
    errors = errors or {}
    return render_template("admin/users_show.html", detail=detail, user=detail.user, errors=errors,
                           form=form or {}, summary=[(f"role-{k}", v) for k, v in errors.items()],
                           units=_unit_options(), roles=_role_options(),
                           breadcrumbs=_crumbs((_("Benutzer"), url_for("admin_users.users")),
                                               (detail.user.username, None))), status


@bp.get("/users/<username>")
@admin_required
def user(username: str) -> tuple[str, int]:
    return _user_page(username)


@bp.post("/users/<username>/roles")
@admin_required
def add_role(username: str) -> object:
    form = {k: request.form.get(k, "") for k in ("unit", "role")}
    try:
        identity.add_role(runtime(), current_actor(), username, identity.UnitRole(form["unit"], form["role"]))
    except EakteError as exc:
        if exc.status == 404:  # no such user or unit: the form offers only existing ones
            raise
        field, msg = _field_error(exc, "unit" if exc.status == 404 else "role")
        return _user_page(username, {field: msg}, form, 422)
    flash(_("Rolle hinzugefügt."), "success")
    return _see("admin_users.user", username=username)


@bp.post("/users/<username>/roles/remove")
@admin_required
def remove_role(username: str) -> object:
    role = identity.UnitRole(request.form.get("unit", ""), request.form.get("role", ""))
    change = identity.revoke_role(runtime(), current_actor(), username, role)
    flash(_("Rolle entfernt."), "success")
    if change.released_tasks:
        flash(_("%(n)s übernommene Aufgaben wurden zurückgegeben.", n=len(change.released_tasks)), "info")
    return _see("admin_users.user", username=username)


@bp.get("/users/<username>/deactivate")
@admin_required
def confirm_deactivate(username: str) -> str:
    detail = identity.user_detail(runtime(), current_actor(), username)
    return render_template("admin/users_deactivate.html", user=detail.user,
                           breadcrumbs=_crumbs((_("Benutzer"), url_for("admin_users.users")),
                                               (username, url_for("admin_users.user", username=username)),
                                               (_("Deaktivieren"), None)))


@bp.post("/users/<username>/deactivate")
@admin_required
def deactivate(username: str) -> object:
    change = identity.deactivate_user(runtime(), current_actor(), username)
    flash(_("Benutzer %(name)s ist deaktiviert. Sitzungen und API-Token gelten nicht mehr.",
            name=change.username), "success")
    if change.released_tasks:
        flash(_("%(n)s übernommene Aufgaben wurden zurückgegeben.", n=len(change.released_tasks)), "info")
    return _see("admin_users.user", username=username)


@bp.post("/users/<username>/activate")
@admin_required
def activate(username: str) -> object:
    identity.activate_user(runtime(), current_actor(), username)
    flash(_("Benutzer %(name)s ist wieder aktiv.", name=username), "success")
    return _see("admin_users.user", username=username)


def _password_page(username: str, error: str | None = None, status: int = 200) -> tuple[str, int]:
    detail = identity.user_detail(runtime(), current_actor(), username)
    return render_template("admin/users_password.html", user=detail.user, error=error,
                           summary=[("user-password", error)] if error else [],
                           breadcrumbs=_crumbs((_("Benutzer"), url_for("admin_users.users")),
                                               (username, url_for("admin_users.user", username=username)),
                                               (_("Passwort zurücksetzen"), None))), status


@bp.get("/users/<username>/password")
@admin_required
def password(username: str) -> tuple[str, int]:
    return _password_page(username)


@bp.post("/users/<username>/password")
@admin_required
def reset_password(username: str) -> object:
    try:
        identity.reset_password(runtime(), current_actor(), username, request.form.get("password", ""))
    except EakteError as exc:
        if exc.status == 404:
            raise
        return _password_page(username, _message(exc), 422)
    flash(_("Das Einmal-Passwort ist gesetzt. %(name)s muss es beim nächsten Anmelden ändern.", name=username),
          "success")
    return _see("admin_users.user", username=username)


@bp.post("/users/<username>/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(username: str, token_id: int) -> object:
    identity.revoke_token(runtime(), current_actor(), username, token_id)
    flash(_("API-Token widerrufen."), "success")
    return _see("admin_users.user", username=username)


@bp.post("/users/<username>/tokens/revoke-all")
@admin_required
def revoke_tokens(username: str) -> object:
    change = identity.revoke_tokens(runtime(), current_actor(), username)
    flash(_("%(n)s API-Token widerrufen.", n=change.revoked_tokens), "success")
    return _see("admin_users.user", username=username)
