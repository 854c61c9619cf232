"""Settings and the admin system pages in a real browser: keyboard-reachable forms, axe-clean (issue 10)."""
from __future__ import annotations

import datetime as dt

from playwright.sync_api import Page, expect

from eakte.clock import office_today
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in


def test_settings_pages_and_a_token(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "olga")
    page.get_by_role("link", name="Einstellungen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Einstellungen")
    assert_accessible(page)
    page.get_by_role("link", name="Passwort ändern").click()
    assert_accessible(page)
    page.get_by_label("Aktuelles Passwort").fill("falsch-falsch")
    page.get_by_label("Neues Passwort", exact=True).fill("ein neues langes Passwort")
    page.get_by_label("Neues Passwort wiederholen").fill("ein neues langes Passwort")
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.locator("#current_password-error")).to_contain_text("Das aktuelle Passwort ist falsch.")
    assert_accessible(page)
    page.goto("/settings/tokens")
    assert_accessible(page)
    page.get_by_label("Name").fill("Browser-Test")
    page.get_by_label("Gültig bis einschließlich").fill((office_today() + dt.timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Token erstellen").click()
    secret = page.locator("#token-secret").input_value()
    assert secret.startswith("eak_")
    assert_accessible(page)
    page.goto("/settings/tokens")
    expect(page.get_by_role("cell", name="Browser-Test", exact=True)).to_be_visible()
    assert secret not in page.content()


def test_admin_system_pages(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "admin")
    for path, heading in [("/admin/file-plan", "Aktenplan verwalten"), ("/admin/case-types", "Installierte Aktenarten"),
                          ("/admin/status", "Systemstatus")]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page)
