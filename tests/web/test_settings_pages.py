"""Personal settings (issue 10, points 9 and 10): the overview, changing one's password, personal API tokens."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from flask.testing import FlaskClient

from eakte import clock
from eakte.clock import office_today
from eakte.services import identity
from eakte.models import AuditEvent
from eakte.services.access import Actor, Principal
from tests.conftest import SQLITE_ONLY, Town
from tests.web.conftest import PASSWORD, csrf_token, log_in, post_form

# Page rendering and form handling over services whose own tests run on both databases: SQLite only here.
pytestmark = SQLITE_ONLY

NEW = "a much longer passphrase"
_SECRET = re.compile(r'id="token-secret" type="text" value="(eak_[^"]+)"')


def _change(client: FlaskClient, current: str, new: str, repeat: str | None = None):  # type: ignore[no-untyped-def]
    return post_form(client, "/settings/password", {"current_password": current, "new_password": new,
                                                    "new_password_repeat": new if repeat is None else repeat})


def _create(client: FlaskClient, name: str, expires_on: dt.date | str):  # type: ignore[no-untyped-def]
    return post_form(client, "/settings/tokens", {"name": name, "expires_on": str(expires_on)})


def test_overview_links_password_tokens_deputies_and_the_header_links_it(signed_in, town: Town) -> None:
    page = signed_in("anna").get("/settings")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for href in ('href="/settings/password"', 'href="/settings/tokens"', 'href="/deputies"',
                 'action="/language"'):
        assert href in text
    assert 'href="/settings" aria-current="page"' in text  # the header link
    assert 'href="/settings"' in signed_in("olga").get("/").get_data(as_text=True)


def test_settings_need_a_login(web) -> None:
    for path in ("/settings", "/settings/password", "/settings/tokens"):
        resp = web.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_wrong_current_password_is_shown_at_the_field_and_changes_nothing(signed_in, web, town: Town) -> None:
    anna = signed_in("anna")
    resp = _change(anna, "not my password", NEW)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="current_password-error"' in text and "Das aktuelle Passwort ist falsch." in text
    assert 'aria-invalid="true"' in text and "error-summary" in text
    assert NEW not in text  # a password is never echoed back
    short = _change(anna, PASSWORD, "short")
    assert short.status_code == 422 and 'id="new_password-error"' in short.get_data(as_text=True)
    assert "mindestens 8 Zeichen" in short.get_data(as_text=True)
    mismatch = _change(anna, PASSWORD, NEW, NEW + "!")
    assert mismatch.status_code == 422 and 'id="new_password_repeat-error"' in mismatch.get_data(as_text=True)
    assert log_in(web, "anna", NEW).status_code == 401
    assert log_in(web, "anna", PASSWORD).status_code == 303


def test_changed_password_replaces_the_old_one(signed_in, app, rt, town: Town) -> None:
    anna = signed_in("anna")
    resp = _change(anna, PASSWORD, NEW)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/settings")
    assert "Ihr Passwort wurde geändert." in anna.get("/settings").get_data(as_text=True)
    assert log_in(app.test_client(), "anna", PASSWORD).status_code == 401
    assert log_in(app.test_client(), "anna", NEW).status_code == 303
    with rt.db.read() as session:
        user = identity.user_by_name(session, "anna")
        assert user.must_change_password is False
    with rt.db.read() as session:
        actions = session.execute(select(AuditEvent.action).where(AuditEvent.object_id == str(town.user_ids["anna"]))
                                  ).scalars().all()
    assert "user.password_change" in actions


def test_changing_the_password_ends_the_other_sessions(signed_in, town: Town) -> None:
    here, laptop, olga = signed_in("anna"), signed_in("anna"), signed_in("olga")
    assert _change(here, PASSWORD, NEW).status_code == 303
    assert here.get("/settings").status_code == 200  # the session that made the change goes on
    ended = laptop.get("/settings")
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert olga.get("/settings").status_code == 200  # nobody else's
    assert here.get("/api/v1/me", headers=town.auth("anna")).status_code == 200  # tokens stay


def test_changing_the_password_clears_the_one_time_flag(signed_in, rt, town: Town) -> None:
    with rt.db.write() as session:
        identity.user_by_name(session, "anna").must_change_password = True
    assert _change(signed_in("anna"), PASSWORD, NEW).status_code == 303
    with rt.db.read() as session:
        assert identity.user_by_name(session, "anna").must_change_password is False


def test_token_is_shown_once_works_until_revoked(signed_in, client, rt, town: Town) -> None:
    anna = signed_in("anna")
    expires = office_today() + dt.timedelta(days=30)
    resp = _create(anna, "Scanner Poststelle", expires)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "nur dieses eine Mal" in text
    assert "no-store" in resp.headers["Cache-Control"]
    secret = _SECRET.search(text).group(1)  # type: ignore[union-attr]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["username"] == "anna"
    listing = anna.get("/settings/tokens").get_data(as_text=True)
    assert "Scanner Poststelle" in listing and secret not in listing and secret[4:14] not in listing
    assert expires.strftime("%d.%m.%Y") in listing or (expires + dt.timedelta(days=1)).strftime("%d.%m.%Y") in listing
    token_id = max(t.id for t in identity.own_tokens(rt, _actor("anna", town)))
    revoked = post_form(anna, f"/settings/tokens/{token_id}/revoke", token_from="/settings/tokens")
    assert revoked.status_code == 303
    assert "widerrufen" in anna.get("/settings/tokens").get_data(as_text=True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def _actor(username: str, town: Town) -> Actor:
    return Actor(Principal(town.user_ids[username], username), None)


def test_expired_token_is_refused(signed_in, client, town: Town) -> None:
    anna = signed_in("anna")
    text = _create(anna, "kurz", office_today() + dt.timedelta(days=1)).get_data(as_text=True)
    secret = _SECRET.search(text).group(1)  # type: ignore[union-attr]
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    later = clock.now() + dt.timedelta(days=3)
    clock.set_clock(lambda: later)
    try:
        assert client.get("/api/v1/me", headers=auth).status_code == 401
    finally:
        clock.set_clock(None)


def test_token_form_refusals(signed_in, town: Town) -> None:
    anna = signed_in("anna")
    today = office_today()
    for name, expires, field in [("", today + dt.timedelta(days=3), "name"),
                                 ("x", "", "expires_on"), ("x", "übermorgen", "expires_on"),
                                 ("x", today, "expires_on"),
                                 ("x", today + dt.timedelta(days=identity.MAX_TOKEN_DAYS + 1), "expires_on"),
                                 ("x" * 101, today + dt.timedelta(days=3), "name")]:
        resp = _create(anna, name, expires)
        assert resp.status_code == 422, (name, expires)
        assert f'id="{field}-error"' in resp.get_data(as_text=True), (name, expires)
    assert anna.get("/settings/tokens").get_data(as_text=True).count("/revoke") == 1  # the fixture's token only


def test_own_password_change_ends_the_other_sessions_but_keeps_this_one(signed_in, rt, town: Town) -> None:
    here, elsewhere, olga = signed_in("anna"), signed_in("anna"), signed_in("olga")
    assert _change(here, PASSWORD, NEW).status_code == 303
    assert here.get("/cases").status_code == 200
    resp = elsewhere.get("/cases")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert olga.get("/cases").status_code == 200  # nobody else's session
    with rt.db.read() as session:
        event = session.execute(select(AuditEvent).where(AuditEvent.action == "user.password_change")
                                .order_by(AuditEvent.id.desc())).scalars().first()
        assert event is not None and len(event.details["sessions_ended"]) == 1


def test_wrong_current_passwords_are_limited_like_failed_logins(signed_in, app, town: Town) -> None:
    anna = signed_in("anna")
    limit = int(app.extensions["eakte"].settings.web.login_limit_per_user.split()[0])
    for _ in range(limit):
        assert _change(anna, "not my password", NEW).status_code == 422
    resp = _change(anna, PASSWORD, NEW)  # the right password, but the attempts are used up for the window
    text = resp.get_data(as_text=True)
    assert resp.status_code == 429 and 'id="current_password-error"' in text
    assert "Zu viele falsche Eingaben des aktuellen Passworts" in text
    assert log_in(app.test_client(), "anna", NEW).status_code == 401  # nothing was changed
    assert log_in(app.test_client(), "anna", PASSWORD).status_code == 303  # the login has its own counter
    # Only a wrong current password counts: mistakes in the new one do not, and olga's counter is her own.
    olga = signed_in("olga")
    for _ in range(limit + 1):
        assert _change(olga, PASSWORD, NEW, NEW + "!").status_code == 422
    assert _change(olga, PASSWORD, NEW).status_code == 303


def test_revoking_another_users_token_is_refused(signed_in, client, rt, town: Town) -> None:
    olga = signed_in("olga")
    anna_token = identity.own_tokens(rt, _actor("anna", town))[0].id  # the fixture's token of anna
    resp = post_form(olga, f"/settings/tokens/{anna_token}/revoke", token_from="/settings/tokens")
    assert resp.status_code == 404
    assert "Nicht gefunden" in resp.get_data(as_text=True) or "nicht gefunden" in resp.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=town.auth("anna")).status_code == 200
    assert identity.own_tokens(rt, _actor("anna", town))[0].revoked_at is None
    # Olga's page lists her own token only (the fixture gives each user one, named "test").
    assert olga.get("/settings/tokens").get_data(as_text=True).count("/revoke") == 1


def test_settings_forms_need_the_csrf_token(signed_in, client, rt, town: Town) -> None:
    anna = signed_in("anna")
    no_token = anna.post("/settings/password", data={"current_password": PASSWORD, "new_password": NEW,
                                                     "new_password_repeat": NEW})
    assert no_token.status_code == 400
    created = anna.post("/settings/tokens", data={"name": "x", "expires_on": str(office_today() + dt.timedelta(days=3))})
    assert created.status_code == 400
    anna_token = identity.own_tokens(rt, _actor("anna", town))[0].id
    assert anna.post(f"/settings/tokens/{anna_token}/revoke").status_code == 400
    assert client.get("/api/v1/me", headers=town.auth("anna")).status_code == 200
    assert log_in(anna.application.test_client(), "anna", PASSWORD).status_code == 303
    assert len(identity.own_tokens(rt, _actor("anna", town))) == 1
    assert csrf_token(anna, "/settings/tokens")
