"""The trade register in a real browser (issue 13, "Done when"): the trade clerk olga types a paper Anmeldung
(refused at the field while incomplete), walks its steps on the task page, finds the receipt filed and the
transmissions in the outbox; an Ummeldung changes the entry and the history shows both versions; a simple and an
extended extract come out as PDFs, the extended one only with a recorded interest; an Abmeldung closes the
business."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_invoice_journey import sign_in

NAME = "Blumenladen Browser"
TODAY = "2026-12-01"


def _decide_all(page: Page, notification_url: str, labels: list[str]) -> None:
    """Open the notification's open task and take each decision in turn, as the clerk does from the page."""
    for label in labels:
        page.goto(notification_url)
        page.get_by_role("link", name=re.compile("^Zur Aufgabe")).click()
        page.get_by_label("Ich habe die Unterlagen geprüft").check()
        page.get_by_role("button", name=label, exact=True).click()
        expect(page.locator("main")).to_contain_text("Entscheidung gespeichert")


def _submit_notification(page: Page) -> str:
    page.get_by_role("button", name="Anzeige erfassen").click()
    expect(page.locator(".flash-area")).to_contain_text("wurde erfasst")
    return page.url


def test_gewa_1_2_3_in_the_browser(browser: Browser, live_server: LiveServer) -> None:
    olga = sign_in(browser, live_server, "olga")
    olga.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Gewerberegister").click()
    expect(olga.get_by_role("heading", level=1)).to_have_text("Gewerberegister")
    assert_accessible(olga)
    olga.get_by_role("link", name="Gewerbeanmeldung erfassen").click()

    # Incomplete: refused with the German message at the field, nothing is created.
    olga.get_by_role("button", name="Anzeige erfassen").click()
    name = olga.get_by_label("Name des Betriebs")
    expect(name).to_have_attribute("aria-invalid", "true")
    assert_accessible(olga)

    olga.get_by_label("Beginn der Tätigkeit").fill(TODAY)
    name.fill(NAME)
    olga.get_by_label("Person 1: Familienname").fill("Blume")
    olga.get_by_label("Person 1: Vornamen").fill("Rosa")
    olga.get_by_label("Person 1: Geburtsdatum").fill("1985-05-05")
    olga.locator("[name=street]").fill("Rosenweg")
    olga.locator("[name=house_number]").fill("7")
    olga.locator("[name=postal_code]").fill("12345")
    olga.locator("[name=city]").fill("Musterstadt")
    olga.get_by_label("Angemeldete Tätigkeit").fill("Einzelhandel mit Blumen und Pflanzen")
    olga.get_by_label("Art des Betriebs").select_option(label="Handel")
    anmeldung = _submit_notification(olga)
    business_id = re.search(r"GW-\d{4}-\d{5}", olga.locator(".flash-area").inner_text()).group(0)

    _decide_all(olga, anmeldung, ["Angenommen, zur Prüfung", "Vollständig, eintragen",
                                  "Ins Gewerberegister eintragen"])
    olga.goto(anmeldung)
    documents = olga.locator("section", has=olga.get_by_role("heading", name="Dokumente"))
    expect(documents).to_contain_text("Empfangsbescheinigung")  # generated and filed with the Eintragung
    _decide_all(olga, anmeldung, ["Bescheinigung versandt/ausgehändigt"])
    olga.goto(anmeldung)
    sent = olga.locator("section", has=olga.get_by_role("heading", name="Datenübermittlung"))
    expect(sent).to_contain_text("IHK Offenbach am Main")  # the recipients by their configured names
    expect(sent).not_to_contain_text("Handwerkskammer")  # a shop: the crafts chamber gets nothing
    olga.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Gewerberegister").click()
    olga.get_by_role("link", name="Postausgang").click()
    expect(olga.locator("main")).to_contain_text(business_id)
    assert_accessible(olga)

    # Ummeldung: the business moves; the history keeps both versions.
    olga.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Gewerberegister").click()
    olga.locator("#trade-q").fill(NAME)
    olga.get_by_role("button", name="Filtern").click()
    # The unfiltered list shows the same link: wait for the filtered page, or the click races the navigation.
    expect(olga).to_have_url(re.compile(r"[?&]q="))
    olga.get_by_role("link", name=business_id).click()
    expect(olga.get_by_role("heading", level=1)).to_contain_text(NAME)
    business = olga.url
    olga.get_by_role("link", name="Ummeldung erfassen").click()
    olga.get_by_label("Datum der Änderung").fill(TODAY)
    olga.locator("[name=street]").fill("Tulpenallee")
    olga.locator("[name=house_number]").fill("2")
    ummeldung = _submit_notification(olga)
    _decide_all(olga, ummeldung, ["Angenommen, zur Prüfung", "Vollständig, eintragen",
                                  "Ins Gewerberegister eintragen"])
    olga.goto(business)
    history = olga.locator("section", has=olga.get_by_role("heading", name="Verlauf des Eintrags"))
    expect(history).to_contain_text("Rosenweg")
    expect(history).to_contain_text("Tulpenallee")
    assert_accessible(olga)

    # Extracts: simple for anyone; extended only with the requester and the interest recorded.
    olga.get_by_role("link", name="Auskunft aus dem Register").click()
    with olga.expect_download() as simple:
        olga.get_by_role("button", name="Einfache Auskunft herunterladen (PDF)").click()
    assert simple.value.suggested_filename.endswith(".pdf")
    olga.get_by_role("button", name="Erweiterte Auskunft herunterladen (PDF)").click()
    expect(olga.get_by_label("Anfragende Person oder Stelle")).to_have_attribute("aria-invalid", "true")
    assert_accessible(olga)
    olga.get_by_label("Anfragende Person oder Stelle").fill("Kanzlei Beispiel")
    olga.locator("#extended-requester_kind-private").check()
    olga.locator("[name=extended-interest]").fill(
        "Titulierte Forderung gegen die Inhaberin")
    with olga.expect_download() as extended:
        olga.get_by_role("button", name="Erweiterte Auskunft herunterladen (PDF)").click()
    assert extended.value.suggested_filename.endswith(".pdf")

    # Abmeldung: once entered, the business is closed.
    olga.goto(business)
    olga.get_by_role("link", name="Abmeldung erfassen").click()
    olga.get_by_label("Datum der Aufgabe").fill(TODAY)
    olga.get_by_label("Grund der Anzeige").select_option(label="Vollständige Aufgabe")
    abmeldung = _submit_notification(olga)
    _decide_all(olga, abmeldung, ["Angenommen, zur Prüfung", "Vollständig, eintragen",
                                  "Ins Gewerberegister eintragen"])
    olga.goto(business)
    expect(olga.locator("main")).to_contain_text("abgemeldet")
    expect(olga.get_by_role("link", name="Ummeldung erfassen")).to_have_count(0)
    olga.context.close()
