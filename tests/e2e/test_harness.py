"""The browser harness itself: the live demo server answers a real browser, and the axe check passes an accessible
page and fails an inaccessible one, naming the rules it broke."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.a11y import AccessibilityError, assert_accessible, axe_violations
from tests.e2e.conftest import LiveServer

ACCESSIBLE = ('<html lang="de"><head><title>Test</title></head>'
              '<body><main><h1>Test</h1><p>Ein Absatz.</p></main></body></html>')
# An image without alt text and a field without a label: both "critical" in axe-core.
INACCESSIBLE = ('<html lang="de"><head><title>Test</title></head><body><main><h1>Test</h1>'
                '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><input type="text"></main></body></html>')


def test_live_server_serves_the_seeded_demo(page: Page, live_server: LiveServer) -> None:
    response = page.goto("/api/v1/openapi.json")
    assert response is not None and response.status == 200
    assert "/api/v1/cases" in response.json()["paths"]
    assert live_server.logins["anna"].token  # seeded: every demo user has a token


def test_live_server_denies_without_credentials(page: Page, live_server: LiveServer) -> None:
    response = page.request.get("/api/v1/cases")
    assert response.status == 401
    anna = page.request.get("/api/v1/cases", headers={"Authorization": f"Bearer {live_server.logins['anna'].token}"})
    assert anna.status == 200


def test_accessible_page_passes(page: Page) -> None:
    page.set_content(ACCESSIBLE)
    assert_accessible(page)


def test_inaccessible_page_fails_naming_the_rules(page: Page) -> None:
    page.set_content(INACCESSIBLE)
    with pytest.raises(AccessibilityError) as failure:
        assert_accessible(page)
    message = str(failure.value)
    assert "image-alt" in message and "label" in message
    assert "img" in message and "input" in message  # the offending nodes' selectors


def test_axe_runs_only_the_rulesets_asked_for(page: Page) -> None:
    page.set_content(INACCESSIBLE)
    assert {v["id"] for v in axe_violations(page, ["wcag2a"])} >= {"image-alt", "label"}
    assert "image-alt" not in {v["id"] for v in axe_violations(page, ["best-practice"])}
