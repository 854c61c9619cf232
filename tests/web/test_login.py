"""Login, logout, sessions, the login rate limit, redirects after login, the language and the API's separation
from browser sessions (issue 9 foundation)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from eakte import clock
from eakte.config import WebSettings
from eakte.models import AuditEvent, User
from eakte.runtime import Runtime
from tests.conftest import Town, build_town, make_runtime
from tests.web.conftest import PASSWORD, csrf_token, log_in, post_form

COOKIE = "eakte_session"
WRONG = "Benutzername oder Passwort ist falsch."
TOO_MANY = "Zu viele fehlgeschlagene Anmeldeversuche"


def session_data(app: Any, client: FlaskClient) -> dict[str, Any]:
    cookie = client.get_cookie(COOKIE)
    if cookie is None:
        return {}
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value))


def login_cookie_header(resp: Any) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(COOKIE + "=")]
    assert cookies, resp.headers
    return cookies[-1]


PROBE = "/_probe"  # a page of this test's own in the site's layout: the real pages are built elsewhere


def add_probe(app: Any) -> None:
    from flask import render_template_string

    from eakte.web.auth import login_required

    @login_required
    def probe() -> str:
        return render_template_string('{% extends "base.html" %}{% block title %}Probe{% endblock %}'
                                      '{% block content %}<h1>Probe</h1>{% endblock %}')
    app.add_url_rule(PROBE, "probe", probe)


@pytest.fixture(autouse=True)
def _probe_page(request: pytest.FixtureRequest) -> None:
    if "app" in request.fixturenames:
        add_probe(request.getfixturevalue("app"))


def is_signed_in(client: FlaskClient) -> bool:
    resp = client.get(PROBE)
    return resp.status_code == 200


def make_web(tmp_path: Path, db_url: str, **web: Any) -> Iterator[tuple[Any, Runtime, Town]]:
    from eakte.app import create_app
    rt = make_runtime(tmp_path, db_url, web=WebSettings(**web))
    town = build_town(rt)
    app = create_app(rt)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=True)
    add_probe(app)
    try:
        yield app, rt, town
    finally:
        rt.close()


@pytest.fixture
def limited(tmp_path: Path, db_url: str) -> Iterator[tuple[Any, Runtime, Town]]:
    yield from make_web(tmp_path, db_url, login_limit_per_user="3 per 5 minutes",
                        login_limit_per_address="5 per 5 minutes")


def audit_actions(rt: Runtime, user_id: int) -> list[str]:
    with rt.db.read() as session:
        rows = session.execute(select(AuditEvent).where(AuditEvent.object_type == "user",
                                                        AuditEvent.object_id == str(user_id))
                               .order_by(AuditEvent.id)).scalars()
        return [row.action for row in rows if row.action.startswith(("login", "logout"))]


# --- success, cookie flags, a new session at login -----------------------------------------------------------

def test_login_sets_a_new_httponly_lax_session_cookie_not_secure_over_http(app, web: FlaskClient) -> None:
    resp = log_in(web, "anna")
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    header = login_cookie_header(resp)
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header  # plain http in "auto": a Secure cookie would never come back
    assert session_data(app, web).get("sid")
    assert is_signed_in(web)


def test_cookie_is_secure_over_https_in_auto_mode(app, town: Town) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    token = csrf_token_https(client)
    resp = client.post("/login", data={"csrf_token": token, "username": "anna", "password": PASSWORD},
                       base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    assert "Secure" in login_cookie_header(resp)


def csrf_token_https(client: FlaskClient) -> str:
    import re
    page = client.get("/login", base_url="https://localhost")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match
    return match.group(1)


def test_cookie_is_always_secure_when_configured(tmp_path: Path, db_url: str) -> None:
    for app, _rt, _town in make_web(tmp_path, db_url, cookie_secure="always"):
        client = app.test_client()
        resp = log_in(client, "anna")
        assert resp.status_code == 303
        assert "Secure" in login_cookie_header(resp)  # even over http


def test_session_set_before_login_does_not_survive_it(app, web: FlaskClient) -> None:
    """Session fixation: whatever an attacker planted in the cookie before login is gone afterwards."""
    web.get("/login")
    with web.session_transaction() as planted:
        planted["sid"] = "attacker-chosen"
        planted["planted"] = "yes"
    before = web.get_cookie(COOKIE).value
    assert log_in(web, "anna").status_code == 303
    after = session_data(app, web)
    assert after["sid"] != "attacker-chosen" and "planted" not in after
    assert web.get_cookie(COOKIE).value != before
    # Two logins of the same user are two sessions.
    other = app.test_client()
    log_in(other, "anna")
    assert session_data(app, other)["sid"] != after["sid"]


def test_old_session_cookie_does_not_work_after_logout(app, signed_in) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("anna")
    copied = client.get_cookie(COOKIE).value
    resp = post_form(client, "/logout", token_from=PROBE)
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert not is_signed_in(client)
    thief = app.test_client()
    thief.set_cookie(COOKIE, copied)
    resp = thief.get(PROBE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


# --- failures --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username,password", [("anna", "wrong password"), ("nobody", PASSWORD)])
def test_wrong_password_and_unknown_user_get_the_same_german_message(web: FlaskClient, username: str,
                                                                      password: str) -> None:
    resp = log_in(web, username, password)
    assert resp.status_code == 401
    body = resp.get_data(as_text=True)
    assert WRONG in body and 'lang="de"' in body and 'name="username"' in body
    assert web.get_cookie(COOKIE) is None or not session_data(web.application, web).get("sid")
    assert not is_signed_in(web)


def test_login_without_csrf_token_is_refused(web: FlaskClient) -> None:
    resp = web.post("/login", data={"username": "anna", "password": PASSWORD})
    assert resp.status_code == 400
    assert not is_signed_in(web)


def test_deactivated_user_cannot_log_in_and_their_session_ends(app, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    session = signed_in("anna")
    assert is_signed_in(session)
    # The API, by bearer token and without any CSRF token: the API is not CSRF-protected.
    resp = app.test_client().post("/api/v1/users/anna/deactivate", headers=town.auth("admin"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    resp = session.get(PROBE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    fresh = app.test_client()
    resp = log_in(fresh, "anna")
    assert resp.status_code == 401 and WRONG in resp.get_data(as_text=True)
    assert not is_signed_in(fresh)


def test_idle_session_expires(app, signed_in, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("anna")
    idle = app.extensions["eakte"].settings.web.session_idle_minutes
    monkeypatch.setattr(clock, "_now", clock._now)  # restored after the test
    start = clock.now()
    clock.set_clock(lambda: start + dt.timedelta(minutes=idle - 1))
    assert is_signed_in(client)  # activity within the window keeps it alive
    clock.set_clock(lambda: start + dt.timedelta(minutes=2 * idle + 1))
    resp = client.get(PROBE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Sitzung ist beendet" in page or "Sitzung ist abgelaufen" in page
    assert not is_signed_in(client)


# --- logout ----------------------------------------------------------------------------------------------------

def test_logout_only_by_post_with_csrf_token(signed_in) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("anna")
    resp = client.get("/logout")
    assert resp.status_code == 405
    assert "text/html" in resp.content_type and 'lang="de"' in resp.get_data(as_text=True)
    assert is_signed_in(client)
    resp = client.post("/logout")
    assert resp.status_code == 400
    assert is_signed_in(client)
    assert post_form(client, "/logout", token_from=PROBE).status_code == 303
    assert not is_signed_in(client)
    assert "Sie wurden abgemeldet." in client.get("/login").get_data(as_text=True)


# --- rate limit of failed logins -------------------------------------------------------------------------------

def test_failed_logins_per_user_name_are_limited(limited) -> None:  # type: ignore[no-untyped-def]
    app, _rt, _town = limited
    client = app.test_client()
    for _ in range(3):
        assert log_in(client, "anna", "wrong").status_code == 401
    resp = log_in(client, "anna")  # the right password, but the user name's attempts are used up
    assert resp.status_code == 429
    assert TOO_MANY in resp.get_data(as_text=True)
    assert not is_signed_in(client)
    resp = log_in(client, "ANNA ")  # the same user name in other spelling is the same counter
    assert resp.status_code == 429
    # Another user from the same address is not blocked by anna's counter.
    assert log_in(client, "bernd").status_code == 303


def test_failed_logins_per_address_are_limited(limited) -> None:  # type: ignore[no-untyped-def]
    app, _rt, _town = limited
    client = app.test_client()
    for name in ("x1", "x2", "x3", "x4", "x5"):
        assert log_in(client, name, "wrong").status_code == 401
    resp = log_in(client, "bernd")
    assert resp.status_code == 429 and TOO_MANY in resp.get_data(as_text=True)
    # Another address is not blocked.
    other = app.test_client()
    token = csrf_token(other)
    resp = other.post("/login", data={"csrf_token": token, "username": "bernd", "password": PASSWORD},
                      environ_overrides={"REMOTE_ADDR": "192.0.2.7"})
    assert resp.status_code == 303


def test_successful_logins_do_not_count(limited) -> None:  # type: ignore[no-untyped-def]
    app, _rt, _town = limited
    for _ in range(6):  # more than either limit
        client = app.test_client()
        assert log_in(client, "anna").status_code == 303
    assert log_in(app.test_client(), "anna", "wrong").status_code == 401  # still the first failure


# --- redirect after login --------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example",
                                    "http:/evil.example"])
def test_no_open_redirect_after_login(web: FlaskClient, target: str) -> None:
    page = web.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert '<input type="hidden" name="next" value="' + target not in page  # the login form drops it
    token = csrf_token(web)
    resp = web.post("/login", query_string={"next": target},
                    data={"csrf_token": token, "username": "anna", "password": PASSWORD, "next": target})
    assert resp.status_code == 303 and resp.headers["Location"] == "/"


def test_local_next_is_followed(web: FlaskClient) -> None:
    resp = web.get(PROBE, query_string={"x": "1"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/_probe?x%3D1"
    token = csrf_token(web)
    resp = web.post("/login", data={"csrf_token": token, "username": "anna", "password": PASSWORD,
                                    "next": "/_probe?x=1"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/_probe?x=1"


# --- the API stays token-only ----------------------------------------------------------------------------------

def test_api_uses_tokens_never_the_session_cookie(app, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("anna")
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401 and resp.content_type == "application/problem+json"
    resp = client.get("/api/v1/me", headers=town.auth("anna"))
    assert resp.status_code == 200 and resp.get_json()["username"] == "anna"
    # POST by bearer without CSRF token works; the same POST with only the cookie does not.
    resp = client.post("/api/v1/file-plan", json={"code": "20.40", "title": "Steuern", "retention_years": 10,
                                                  "disposal": "archive"})
    assert resp.status_code == 401
    resp = app.test_client().post("/api/v1/file-plan", headers=town.auth("admin"),
                                  json={"code": "20.40", "title": "Steuern", "retention_years": 10,
                                        "disposal": "archive"})
    assert resp.status_code in (200, 201), resp.get_data(as_text=True)


# --- language --------------------------------------------------------------------------------------------------

def test_language_switch_and_it_is_remembered_for_the_user(app, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    rt = app.extensions["eakte"]
    client = signed_in("anna")
    assert 'lang="de"' in client.get(PROBE).get_data(as_text=True)
    resp = post_form(client, "/language", {"locale": "en", "next": PROBE}, token_from=PROBE)
    assert resp.status_code == 303
    page = client.get(PROBE).get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign out" in page and "Abmelden" not in page
    with rt.db.read() as session:
        assert session.get(User, town.user_ids["anna"]).locale == "en"
    # A new browser: after login, anna's language is English without choosing it again.
    fresh = app.test_client()
    assert 'lang="de"' in fresh.get("/login").get_data(as_text=True)
    log_in(fresh, "anna")
    assert '<html lang="en">' in fresh.get(PROBE).get_data(as_text=True)
    # Other users keep German.
    assert 'lang="de"' in signed_in("bernd").get(PROBE).get_data(as_text=True)


def test_language_switch_before_login(web: FlaskClient) -> None:
    resp = post_form(web, "/language", {"locale": "en", "next": "/login"}, token_from="/login")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    page = web.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page


def test_invalid_locale_is_refused(app, town: Town, signed_in) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("anna")
    post_form(client, "/language", {"locale": "fr", "next": PROBE}, token_from=PROBE)
    assert 'lang="de"' in client.get(PROBE).get_data(as_text=True)
    assert session_data(app, client).get("locale") in (None, "de")
    with app.extensions["eakte"].db.read() as session:
        assert session.get(User, town.user_ids["anna"]).locale in (None, "de")
    resp = client.post("/language", data={"locale": "en"})  # no CSRF token
    assert resp.status_code == 400
    assert 'lang="de"' in client.get(PROBE).get_data(as_text=True)


# --- audit -----------------------------------------------------------------------------------------------------

def test_login_logout_and_failed_login_are_audited(app, town: Town, web: FlaskClient) -> None:
    rt = app.extensions["eakte"]
    assert log_in(web, "anna", "wrong").status_code == 401
    assert log_in(web, "anna").status_code == 303
    assert post_form(web, "/logout", token_from=PROBE).status_code == 303
    assert audit_actions(rt, town.user_ids["anna"]) == ["login.failed", "login", "logout"]
    with rt.db.read() as session:
        events = session.execute(select(AuditEvent).where(AuditEvent.action.in_(["login", "logout"]))).scalars()
        assert {e.actor for e in events} == {"anna"}
    assert audit_actions(rt, town.user_ids["bernd"]) == []
