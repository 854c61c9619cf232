"""An e-invoice through the whole chain in a real browser: the receipt clerk takes in an XRechnung, three
approvers decide sachlich, rechnerisch and Anordnung from their Postkorb, and the one who decided sachlich is shown
the four-eyes refusal at the Anordnung. axe-core checks every page on the way; screenshots for the README are
written when EAKTE_SCREENSHOTS names a directory (scripts/screenshots.py)."""
from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "xrechnung" / "01.02a-INVOICE_ubl.xml"


def screenshot(page: Page, name: str) -> None:
    target = os.environ.get("EAKTE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, live_server: LiveServer, username: str) -> Page:
    context = browser.new_context(base_url=live_server.url, locale="de-DE", bypass_csp=True,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(live_server.logins[username].password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("navigation", name="Hauptnavigation")).to_be_visible()
    return page


def open_task_from_inbox(page: Page, reference: str, *, shot: str | None = None) -> None:
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Postkorb").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Postkorb")
    assert_accessible(page)
    if shot:
        screenshot(page, shot)
    page.get_by_role("link", name=reference).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference)
    assert_accessible(page)


def decide(page: Page, label: str) -> None:
    page.get_by_label("Ich habe die Unterlagen geprüft").check()
    page.get_by_role("button", name=label, exact=True).click()
    expect(page.locator("main")).to_contain_text("Entscheidung gespeichert")


def test_an_xrechnung_through_the_chain(browser: Browser, live_server: LiveServer) -> None:
    # Rechnungseingang: anna takes the XRechnung in and lands on its receipt task.
    anna = sign_in(browser, live_server, "anna")
    anna.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Rechnungseingang").click()
    assert_accessible(anna)
    anna.get_by_label("Rechnungsdatei").set_input_files(str(SAMPLE))
    anna.get_by_role("button", name="Rechnung erfassen").click()
    expect(anna.get_by_role("heading", level=1)).to_contain_text("Rechnungseingang")
    reference = anna.locator("h1 .reference").inner_text()
    expect(anna.locator("main")).to_contain_text("IBAN")  # the e-invoice as a table of its fields
    assert_accessible(anna)
    decide(anna, "An bestellende Stelle weiterleiten")
    assert_accessible(anna)

    # sachlich richtig: oskar, approver of the ordering unit (the demo routes the Leitweg-ID to 32).
    oskar = sign_in(browser, live_server, "oskar")
    open_task_from_inbox(oskar, reference, shot="inbox")
    screenshot(oskar, "task")
    decide(oskar, "Sachlich richtig")

    # rechnerisch richtig: bernd in the Kämmerei.
    bernd = sign_in(browser, live_server, "bernd")
    open_task_from_inbox(bernd, reference)
    decide(bernd, "Rechnerisch richtig")

    # Anordnung: oskar decided sachlich, so the four-eyes rule keeps him out, and the page says why.
    open_task_from_inbox(oskar, reference)
    order = oskar.get_by_role("button", name="Zahlung anordnen", exact=True)
    expect(order).to_be_disabled()
    reason_id = order.get_attribute("aria-describedby")
    assert reason_id
    expect(oskar.locator(f"#{reason_id}")).to_contain_text("Vier-Augen")
    assert_accessible(oskar)

    heidi = sign_in(browser, live_server, "heidi")
    open_task_from_inbox(heidi, reference)
    decide(heidi, "Zahlung anordnen")

    # The case page shows the history of all four decisions.
    heidi.goto("/cases")
    heidi.get_by_role("link", name=reference).first.click()
    history = heidi.locator("main")
    for who in ("anna", "oskar", "bernd", "heidi"):
        expect(history).to_contain_text(who)
    assert_accessible(heidi)
    for p in (anna, oskar, bernd, heidi):
        p.context.close()
