"""Security headers on every page, error pages in the site's layout (German by default) while the API keeps
answering problem+json."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from eakte.errors import Forbidden
from tests.conftest import SQLITE_ONLY, Town
from tests.web.conftest import post_form

# Page rendering and form handling over services whose own tests run on both databases: SQLite only here.
pytestmark = SQLITE_ONLY

EXCEPTION_NAMES = ("Traceback", "RuntimeError", "Forbidden", "NotFound", "Exception")


@pytest.fixture
def browser(app, town: Town) -> FlaskClient:  # type: ignore[no-untyped-def]
    """A client of an app with two throwaway pages: one refusing access, one failing."""
    def refused() -> str:
        raise Forbidden("not yours", detail_de="Diese Akte gehört einer anderen Organisationseinheit.")

    def broken() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/_refused", "refused", refused)
    app.add_url_rule("/_broken", "broken", broken)
    app.config["WTF_CSRF_ENABLED"] = True
    return app.test_client()


def assert_security_headers(resp: Any) -> None:
    csp = resp.headers.get("Content-Security-Policy", "")
    assert csp, resp.headers
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
    assert resp.headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def assert_german_page(resp: Any, title: str) -> str:
    assert resp.content_type.startswith("text/html"), resp.content_type
    body = resp.get_data(as_text=True)
    assert '<html lang="de">' in body
    assert f"<h1 class=\"kern-heading-large\">{title}</h1>" in body
    assert 'id="main"' in body and "site-footer" in body  # the site's layout, not a bare error
    for name in EXCEPTION_NAMES:
        assert name not in body
    return body


def test_login_page_has_security_headers_and_no_inline_code(browser: FlaskClient) -> None:
    resp = browser.get("/login")
    assert resp.status_code == 200
    assert_security_headers(resp)
    assert resp.headers.get("Cache-Control") == "no-store"
    body = resp.get_data(as_text=True)
    # CSP allows no inline code: every script is a file, no style attribute, no inline event handler.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body)
    assert "style=" not in body and not re.search(r"\son[a-z]+=", body) and "<style" not in body


def test_unknown_page_is_a_german_404_page(browser: FlaskClient) -> None:
    resp = browser.get("/no-such-page")
    assert resp.status_code == 404
    assert_security_headers(resp)
    assert_german_page(resp, "Seite nicht gefunden")


def test_refused_page_is_a_german_403_page(browser: FlaskClient) -> None:
    resp = browser.get("/_refused")
    assert resp.status_code == 403
    assert_security_headers(resp)
    body = assert_german_page(resp, "Keine Berechtigung")
    assert "Diese Akte gehört einer anderen Organisationseinheit." in body
    assert "not yours" not in body


def test_failing_page_is_a_german_500_page(browser: FlaskClient) -> None:
    resp = browser.get("/_broken")
    assert resp.status_code == 500
    assert_security_headers(resp)
    body = assert_german_page(resp, "Es ist ein Fehler aufgetreten")
    assert "secret internals" not in body


def test_method_not_allowed_is_a_page(browser: FlaskClient) -> None:
    resp = browser.get("/logout")
    assert resp.status_code == 405
    assert_security_headers(resp)
    assert_german_page(resp, "Diese Aktion ist hier nicht möglich")


def test_error_pages_follow_the_language(browser: FlaskClient) -> None:
    post_form(browser, "/language", {"locale": "en", "next": "/login"}, token_from="/login")
    resp = browser.get("/no-such-page")
    assert resp.status_code == 404
    body = resp.get_data(as_text=True)
    assert '<html lang="en">' in body and "Page not found" in body and "Seite nicht gefunden" not in body


def test_api_errors_stay_problem_json(browser: FlaskClient, town: Town) -> None:
    resp = browser.get("/api/v1/unknown", headers=town.auth("anna"))
    assert resp.status_code == 404
    assert resp.content_type == "application/problem+json"
    assert resp.get_json()["status"] == 404
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    resp = browser.get("/api/v1/me")  # no token: problem+json, not a redirect to the login page
    assert resp.status_code == 401 and resp.content_type == "application/problem+json"


def test_post_without_csrf_token_is_a_page_not_a_change(browser: FlaskClient) -> None:
    resp = browser.post("/language", data={"locale": "en"})
    assert resp.status_code == 400
    assert_security_headers(resp)
    assert_german_page(resp, "Das Formular ist abgelaufen")
    assert '<html lang="de">' in browser.get("/login").get_data(as_text=True)
