"""The web interface through Flask's test client, with CSRF protection on as in production."""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import Town

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None, *, token_from: str | None = None,
              **kwargs: Any) -> Any:
    """POST a form the way a browser does: with the CSRF token of the page it came from."""
    token = csrf_token(client, token_from or path)
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return post_form(client, "/login", {"username": username, "password": password})


@pytest.fixture
def web(app, town: Town) -> FlaskClient:  # type: ignore[no-untyped-def]
    """A browser-like client of the town (not signed in)."""
    app.config["WTF_CSRF_ENABLED"] = True
    return app.test_client()


@pytest.fixture
def signed_in(app, town: Town):  # type: ignore[no-untyped-def]
    """signed_in("anna") → a client with anna's session."""
    app.config["WTF_CSRF_ENABLED"] = True

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        resp = log_in(client, username)
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        return client
    return make
