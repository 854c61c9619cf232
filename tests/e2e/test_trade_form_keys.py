"""The notification form in a real browser: Enter in a text field saves the notification (the form's default
button is the save one), it does not add a person row; the form stays accessible with its hidden default button."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in


def test_enter_in_a_text_field_saves_the_notification(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "olga")
    page.goto(f"{live_server.url}/gewerbe/anzeige/neu?art=anmeldung")
    assert_accessible(page)
    page.get_by_label("Beginn der Tätigkeit").fill("2026-01-05")
    page.get_by_label("Name des Betriebs").fill("Enter-Test Feinkost")
    page.get_by_label("Rechtsform").select_option("einzelunternehmen")
    person = page.get_by_role("group", name="Person 1")
    person.get_by_label("Familienname").fill("Taste")
    person.get_by_label("Vornamen").fill("Erika")
    premises = page.get_by_role("group", name="Betriebsstätte (Felder 14–15)")
    premises.get_by_label("Straße").fill("Schulstraße")
    premises.get_by_label("Postleitzahl").fill("63263")
    page.get_by_label("Angemeldete Tätigkeit").fill("Einzelhandel mit Feinkost")
    page.get_by_label("Art des Betriebs").select_option("handel")
    premises.get_by_label("Ort").fill("Neu-Isenburg")
    premises.get_by_label("Ort").press("Enter")
    expect(page).to_have_url(re.compile(r"/gewerbe/anzeigen/\d+$"))
    expect(page.locator(".flash-area")).to_contain_text("wurde erfasst")
