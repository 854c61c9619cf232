"""The verification page in a real browser (issue 10 point 4): the auditor reaches it from the navigation, starts
both checks and reads their results; axe-clean before and after."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in


def test_auditor_verifies_trail_and_storage(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "rita")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Prüfungen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prüfungen")
    assert_accessible(page)
    for title in ("Protokollprüfung", "Speicherprüfung"):
        page.get_by_role("button", name=f"Jetzt prüfen – {title}").click()
        expect(page.get_by_text("Die Prüfung ist beauftragt.")).to_be_visible()
        panel = page.locator("section", has=page.get_by_role("heading", name=title))
        expect(panel.get_by_text("Keine Befunde.")).to_be_visible()
        expect(panel.locator("dd", has_text="rita")).to_be_visible()
    assert_accessible(page)
