"""The user administration pages (/admin/users, /admin/units): admins only, every change audited."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from eakte.models import ApiToken, AuditEvent, Unit, User
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY, Town
from tests.web.conftest import PASSWORD, csrf_token, log_in, post_form

# Page rendering and form handling over services whose own tests run on both databases: SQLite only here.
pytestmark = SQLITE_ONLY

PATH_ARGS = {"username": "anna", "code": "20", "token_id": 1}


def _admin_rules(app: Flask) -> list[tuple[str, str]]:
    """(method, url) of every page of the blueprint, its arguments filled in."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin_users."):
            continue
        url = rule.build({k: PATH_ARGS[k] for k in rule.arguments})[1]
        found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def _events(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.db.read() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.id)).scalars().all()
        session.expunge_all()
        return list(rows)


def _user(rt: Runtime, username: str) -> User:
    with rt.db.read() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        session.expunge(user)
        return user


def test_every_admin_page_is_forbidden_to_other_roles(app, signed_in) -> None:  # type: ignore[no-untyped-def]
    rules = _admin_rules(app)
    assert len(rules) >= 15 and ("GET", "/admin/users") in rules and ("POST", "/admin/units") in rules
    for username in ("anna", "bernd", "rita"):  # clerk, approver, auditor
        client = signed_in(username)
        token = csrf_token(client, "/")
        for method, url in rules:
            resp = client.open(url, method=method, data={"csrf_token": token, "name": "x", "code": "99",
                                                         "username": "evil", "password": "long enough pw",
                                                         "unit": "10", "role": "admin"})
            body = resp.get_data(as_text=True)
            assert resp.status_code == 403, (username, method, url)
            assert "Hauptnavigation" in body and "Administration" in body  # the error page in the layout
    # nothing happened: no unit 99, no user evil, anna not an admin, no token revoked
    with app.extensions["eakte"].db.read() as session:
        assert session.execute(select(Unit).where(Unit.code == "99")).scalar() is None
        assert session.execute(select(User).where(User.username == "evil")).scalar() is None
        assert session.execute(select(ApiToken).where(ApiToken.revoked_at.is_not(None))).scalar() is None


def test_admin_pages_send_the_anonymous_to_login(app, web) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(web, "/login")
    for method, url in _admin_rules(app):
        resp = web.open(url, method=method, data={"csrf_token": token})
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], (method, url)


def test_navigation_shows_verwaltung_to_admins_only(signed_in) -> None:  # type: ignore[no-untyped-def]
    assert 'href="/admin/users"' in signed_in("admin").get("/").get_data(as_text=True)
    assert 'href="/admin/users"' not in signed_in("anna").get("/").get_data(as_text=True)


def test_user_list_shows_roles_per_unit_and_pages(app, signed_in, rt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    body = admin.get("/admin/users").get_data(as_text=True)
    assert "anna" in body and "olga" in body and "(20)" in body and "(32)" in body
    monkeypatch.setattr(rt, "settings", dataclasses.replace(
        rt.settings, web=dataclasses.replace(rt.settings.web, page_size=2)))
    first = admin.get("/admin/users").get_data(as_text=True)
    second = admin.get("/admin/users?page=2").get_data(as_text=True)
    assert "1–2 von 5" in first and 'rel="next"' in first
    listed = re.compile(r'href="/admin/users/([a-z]+)"')
    assert listed.findall(first) == ["admin", "anna"] and listed.findall(second) == ["bernd", "olga"]


def test_create_user_with_a_role_who_then_must_change_the_password(app, signed_in, web, rt) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    assert "Benutzer anlegen" in admin.get("/admin/new-user").get_data(as_text=True)
    resp = post_form(admin, "/admin/new-user", {"username": "karl", "display_name": "Karl Kämmerer",
                                                 "email": "", "password": "erstes passwort", "unit": "20",
                                                 "role": "clerk"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/users/karl")
    page = admin.get("/admin/users/karl").get_data(as_text=True)
    assert "Karl Kämmerer" in page and "muss beim nächsten Anmelden geändert werden" in page
    karl = _user(rt, "karl")
    assert karl.must_change_password and karl.email is None
    assert [e.object_id for e in _events(rt, "user.create")][-1] == str(karl.id)
    assert _events(rt, "user.grant_role")[-1].details == {"unit": "20", "role": "clerk"}
    resp = log_in(web, "karl", "erstes passwort")
    assert resp.status_code == 303 and resp.headers["Location"] == "/settings/password"
    # a bad form is shown again with the field's message, the password not echoed
    resp = post_form(admin, "/admin/new-user", {"username": "karl", "display_name": "", "password": "geheim123",
                                                 "unit": "20", "role": "clerk"})
    assert resp.status_code == 422 and "gibt es bereits" in resp.get_data(as_text=True)
    assert "geheim123" not in resp.get_data(as_text=True)
    resp = post_form(admin, "/admin/new-user", {"username": "kurz", "password": "short", "unit": "20",
                                                 "role": "clerk"})
    assert resp.status_code == 422 and "mindestens 8 Zeichen" in resp.get_data(as_text=True)
    resp = post_form(admin, "/admin/new-user", {"username": "ohne", "password": "long enough", "unit": "20",
                                                 "role": "kaiser"})
    assert resp.status_code == 422 and "Diese Rolle gibt es nicht" in resp.get_data(as_text=True)
    with rt.db.read() as session:
        assert session.execute(select(User).where(User.username.in_(["kurz", "ohne"]))).first() is None


def test_reset_password_forces_the_change_page(app, signed_in, web, rt, town: Town) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    assert admin.get("/admin/users/anna/password").status_code == 200
    assert not _user(rt, "anna").must_change_password  # the GET changed nothing
    resp = post_form(admin, "/admin/users/anna/password", {"password": "short"})
    assert resp.status_code == 422 and not _user(rt, "anna").must_change_password
    resp = post_form(admin, "/admin/users/anna/password", {"password": "einmal passwort"})
    assert resp.status_code == 303
    assert _events(rt, "user.password_reset")[-1].object_id == str(town.user_ids["anna"])
    assert log_in(web, "anna", PASSWORD).status_code == 401  # the old password is gone
    resp = log_in(web, "anna", "einmal passwort")
    assert resp.status_code == 303 and resp.headers["Location"] == "/settings/password"
    for path in ("/", "/cases", "/settings", "/admin/users"):
        resp = web.get(path)
        assert resp.status_code == 303 and resp.headers["Location"] == "/settings/password", path
    assert web.get("/settings/password").status_code == 200
    resp = post_form(web, "/settings/password", {"current_password": "einmal passwort",
                                                 "new_password": "mein eigenes passwort",
                                                 "new_password_repeat": "mein eigenes passwort"})
    assert resp.status_code == 303
    assert not _user(rt, "anna").must_change_password
    assert _events(rt, "user.password_change")[-1].object_id == str(town.user_ids["anna"])
    assert web.get("/cases").status_code == 200


def test_logout_stays_reachable_while_the_password_must_change(app, signed_in, web, rt) -> None:  # type: ignore[no-untyped-def]
    post_form(signed_in("admin"), "/admin/users/anna/password", {"password": "einmal passwort"})
    assert log_in(web, "anna", "einmal passwort").headers["Location"] == "/settings/password"
    assert web.get("/cases").headers["Location"] == "/settings/password"
    resp = post_form(web, "/logout", token_from="/settings/password")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"


def test_reset_password_ends_the_users_open_sessions(app, signed_in, rt, town: Town) -> None:  # type: ignore[no-untyped-def]
    anna, admin, api = signed_in("anna"), signed_in("admin"), app.test_client()
    assert anna.get("/cases").status_code == 200
    assert post_form(admin, "/admin/users/anna/password", {"password": "einmal passwort"}).status_code == 303
    resp = anna.get("/cases")  # whoever held anna's session is signed out at once
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert "Ihre Sitzung ist beendet" in anna.get("/login").get_data(as_text=True)
    assert len(_events(rt, "user.password_reset")[-1].details["sessions_ended"]) == 1
    assert admin.get("/admin/users").status_code == 200  # the admin's own session is not touched
    assert api.get("/api/v1/me", headers=town.auth("anna")).status_code == 200  # tokens are credentials of their own


def test_deactivate_ends_session_and_token(app, signed_in, rt, town: Town) -> None:  # type: ignore[no-untyped-def]
    anna, admin, api = signed_in("anna"), signed_in("admin"), app.test_client()
    assert api.get("/api/v1/me", headers=town.auth("anna")).status_code == 200
    page = admin.get("/admin/users/anna/deactivate")
    assert page.status_code == 200 and "Jetzt deaktivieren" in page.get_data(as_text=True)
    assert _user(rt, "anna").is_active  # the confirmation page changed nothing
    resp = post_form(admin, "/admin/users/anna/deactivate")
    assert resp.status_code == 303 and not _user(rt, "anna").is_active
    assert "ist deaktiviert" in admin.get("/admin/users/anna").get_data(as_text=True)
    assert anna.get("/cases").status_code == 302
    assert api.get("/api/v1/me", headers=town.auth("anna")).status_code == 401
    assert log_in(app.test_client(), "anna").status_code == 401
    assert _events(rt, "user.deactivate")[-1].object_id == str(town.user_ids["anna"])
    # an admin cannot lock themselves out here
    resp = post_form(admin, "/admin/users/admin/deactivate", token_from="/admin/users/admin")
    assert resp.status_code == 409 and _user(rt, "admin").is_active
    resp = post_form(admin, "/admin/users/anna/activate", token_from="/admin/users/anna")
    assert resp.status_code == 303 and _user(rt, "anna").is_active
    assert _events(rt, "user.activate")
    assert log_in(app.test_client(), "anna").status_code == 303


def test_add_and_remove_a_role(app, signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    resp = post_form(admin, "/admin/users/anna/roles", {"unit": "20", "role": "approver"},
                     token_from="/admin/users/anna")
    assert resp.status_code == 303
    assert _events(rt, "user.grant_role")[-1].details == {"unit": "20", "role": "approver"}
    page = admin.get("/admin/users/anna").get_data(as_text=True)
    assert page.count('name="role" value="approver"') == 1  # its remove button
    resp = post_form(admin, "/admin/users/anna/roles", {"unit": "20", "role": "approver"},
                     token_from="/admin/users/anna")
    assert resp.status_code == 422 and "bereits" in resp.get_data(as_text=True)
    resp = post_form(admin, "/admin/users/anna/roles/remove", {"unit": "20", "role": "approver"},
                     token_from="/admin/users/anna")
    assert resp.status_code == 303
    assert _events(rt, "user.revoke_role")[-1].details == {"unit": "20", "role": "approver"}
    assert 'name="role" value="approver"' not in admin.get("/admin/users/anna").get_data(as_text=True)
    resp = post_form(admin, "/admin/users/anna/roles/remove", {"unit": "20", "role": "approver"},
                     token_from="/admin/users/anna")
    assert resp.status_code == 404


def test_revoke_one_token_and_all(app, signed_in, rt, town: Town) -> None:  # type: ignore[no-untyped-def]
    admin, api = signed_in("admin"), app.test_client()
    with rt.db.read() as session:
        token_id = session.execute(select(ApiToken.id).where(ApiToken.user_id == town.user_ids["anna"])).scalar_one()
    page = admin.get("/admin/users/anna").get_data(as_text=True)
    assert f"/admin/users/anna/tokens/{token_id}/revoke" in page
    resp = post_form(admin, f"/admin/users/anna/tokens/{token_id}/revoke", token_from="/admin/users/anna")
    assert resp.status_code == 303
    assert api.get("/api/v1/me", headers=town.auth("anna")).status_code == 401
    assert _events(rt, "token.revoke")[-1].details == {"token_id": token_id}
    assert f"/admin/users/anna/tokens/{token_id}/revoke" not in admin.get("/admin/users/anna").get_data(as_text=True)
    # another user's token is not found through anna's page
    with rt.db.read() as session:
        olgas = session.execute(select(ApiToken.id).where(ApiToken.user_id == town.user_ids["olga"])).scalar_one()
    resp = post_form(admin, f"/admin/users/anna/tokens/{olgas}/revoke", token_from="/admin/users/anna")
    assert resp.status_code == 404
    assert api.get("/api/v1/me", headers=town.auth("olga")).status_code == 200
    resp = post_form(admin, "/admin/users/olga/tokens/revoke-all", token_from="/admin/users/olga")
    assert resp.status_code == 303
    assert api.get("/api/v1/me", headers=town.auth("olga")).status_code == 401
    assert _events(rt, "token.revoke_all")[-1].details == {"token_ids": [olgas]}


def test_create_and_rename_a_unit(app, signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    page = admin.get("/admin/units").get_data(as_text=True)
    assert "Kämmerei" in page and "Ordnungsamt" in page
    resp = post_form(admin, "/admin/units", {"code": "60", "name": "Bauamt"})
    assert resp.status_code == 303
    assert _events(rt, "unit.create")[-1].details == {"code": "60", "name": "Bauamt"}
    resp = post_form(admin, "/admin/units", {"code": "60", "name": "Noch eins"})
    assert resp.status_code == 422 and "gibt es bereits" in resp.get_data(as_text=True)
    resp = post_form(admin, "/admin/units", {"code": "a b", "name": "X"})
    assert resp.status_code == 422 and 'aria-invalid="true"' in resp.get_data(as_text=True)
    resp = post_form(admin, "/admin/units/60", {"name": "Bauordnungsamt"})
    assert resp.status_code == 303
    assert _events(rt, "unit.rename")[-1].details == {"code": "60", "from": "Bauamt", "to": "Bauordnungsamt"}
    assert "Bauordnungsamt" in admin.get("/admin/units").get_data(as_text=True)
    resp = post_form(admin, "/admin/units/60", {"name": "  "})
    assert resp.status_code == 422
    assert admin.get("/admin/units/nix").status_code == 404
    # members are counted per unit
    assert re.search(r"Kämmerei</td><td>2</td>", admin.get("/admin/units").get_data(as_text=True))


def test_changes_need_the_csrf_token(app, signed_in, rt) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/admin/units", {"code": "61", "name": "Ohne Token"}),
        ("/admin/users/anna/deactivate", {}),
        ("/admin/users/anna/password", {"password": "einmal passwort"}),
        ("/admin/new-user", {"username": "x", "password": "long enough", "unit": "20", "role": "clerk"}),
    ]
    for path, data in posts:
        assert admin.post(path, data=data).status_code == 400, path
    anna = _user(rt, "anna")
    assert anna.is_active and not anna.must_change_password
    assert not _events(rt, "unit.create")[4:]  # only the town's four units


def test_hostile_display_names_are_escaped(app, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in("admin")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    post_form(admin, "/admin/new-user", {"username": "mallory", "display_name": evil, "password": "long enough",
                                          "unit": "20", "role": "clerk"})
    post_form(admin, "/admin/units", {"code": "66", "name": evil})
    for path in ("/admin/users", "/admin/users/mallory", "/admin/users/mallory/deactivate",
                 "/admin/users/mallory/password", "/admin/units", "/admin/units/66"):
        body = admin.get(path).get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body, path
        assert "&lt;script&gt;" in body, path


@pytest.mark.parametrize("path", ["/admin/users/nobody", "/admin/users/nobody/password"])
def test_unknown_user_is_not_found(signed_in, path: str) -> None:  # type: ignore[no-untyped-def]
    assert signed_in("admin").get(path).status_code == 404
