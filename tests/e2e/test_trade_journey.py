"""The trade register in a real browser (issue 13): Olga, clerk of the Ordnungsamt, types a paper Anmeldung
(GewA 1) into the form, walks its steps on the task pages, finds the receipt filed and the outbox listing the
recipients, takes in an Ummeldung (the history shows both versions), downloads a simple and an extended extract
(the extended one refused without an interest), and files an Abmeldung that closes the business — axe-core
checking the list, the business and the form pages."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in

NAME = "Schlosserei Browser-Test"
STEPS = (("Eingang", "Angenommen, zur Prüfung"), ("Prüfung", "Vollständig, eintragen"),
         ("Eintragung", "Ins Gewerberegister eintragen"))


def decide_open_task(page: Page, notification_url: str, step: str, decision: str) -> None:
    """From the notification's page to its open task, and the decision there."""
    page.goto(notification_url)
    page.get_by_role("link", name=f"Zur Aufgabe: {step}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(step)
    page.get_by_label("Ich habe die Unterlagen geprüft").check()
    page.get_by_role("button", name=decision, exact=True).click()
    expect(page.locator("main")).to_contain_text("Entscheidung gespeichert")


def walk_to_receipt(page: Page, notification_url: str) -> None:
    for step, decision in STEPS:
        decide_open_task(page, notification_url, step, decision)


def test_a_clerk_takes_a_business_from_anmeldung_to_abmeldung(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "olga")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Gewerberegister").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Gewerberegister")
    assert_accessible(page)  # the register list

    # GewA 1 typed from paper; first with a wrong postal code, shown at its field.
    page.get_by_role("link", name="Gewerbeanmeldung erfassen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Gewerbeanmeldung (GewA 1)")
    assert_accessible(page)  # the form
    page.get_by_label("Beginn der Tätigkeit").fill("2026-01-05")
    page.get_by_label("Grund der Anzeige").select_option("neuerrichtung")
    page.get_by_label("Name des Betriebs").fill(NAME)
    page.get_by_label("Rechtsform").select_option("einzelunternehmen")
    person = page.get_by_role("group", name="Person 1")
    person.get_by_label("Familienname").fill("Schmied")
    person.get_by_label("Vornamen").fill("Jonas")
    person.get_by_label("Geburtsdatum").fill("1975-06-30")
    person.get_by_label("Staatsangehörigkeit").fill("DE")
    premises = page.get_by_role("group", name="Betriebsstätte (Felder 14–15)")
    premises.get_by_label("Straße").fill("Schulstraße")
    premises.get_by_label("Hausnummer").fill("4")
    premises.get_by_label("Postleitzahl").fill("6326")
    premises.get_by_label("Ort").fill("Neu-Isenburg")
    page.get_by_label("Angemeldete Tätigkeit").fill("Schlosserei und Metallbau")
    page.get_by_label("Tätigkeitsschlüssel (WZ 2008)").fill("25.11")
    page.get_by_label("Art des Betriebs").select_option("handwerk")
    page.get_by_label("Scan der Papieranzeige").set_input_files(
        files=[{"name": "gewa1.pdf", "mimeType": "application/pdf", "buffer": _scan_pdf()}])
    page.get_by_role("button", name="Anzeige erfassen").click()
    expect(page.locator("#gewa-postal_code-error")).to_contain_text("fünfstellige Postleitzahl")
    assert page.locator("#gewa-postal_code").get_attribute("aria-invalid") == "true"
    assert_accessible(page)  # the form with its errors
    page.locator("#gewa-postal_code").fill("63263")
    page.get_by_label("Scan der Papieranzeige").set_input_files(
        files=[{"name": "gewa1.pdf", "mimeType": "application/pdf", "buffer": _scan_pdf()}])
    page.get_by_role("button", name="Anzeige erfassen").click()
    expect(page.locator("main")).to_contain_text("wurde erfasst")
    first_url = page.url
    expect(page.locator("main")).to_contain_text("(Scan)")

    # The steps on the task pages; the receipt is filed with the Eintragung, the outbox lists the recipients.
    walk_to_receipt(page, first_url)
    page.goto(first_url)
    main = page.locator("main")
    expect(main).to_contain_text("Empfangsbescheinigung")
    decide_open_task(page, first_url, "Empfangsbescheinigung", "Bescheinigung versandt/ausgehändigt")
    page.goto(first_url)
    expect(page.get_by_role("table", name="Datenübermittlung")).to_contain_text("IHK Offenbach am Main")
    page.get_by_role("link", name=re.compile(NAME)).first.click()
    business_url = page.url
    expect(page.get_by_role("heading", level=1)).to_contain_text(NAME)
    expect(page.get_by_role("table", name="Anzeigen")).to_contain_text("Empfangsbescheinigung")
    assert_accessible(page)  # the business page
    page.goto(f"{live_server.url}/gewerbe/postausgang")
    outbox = page.locator("main")
    expect(outbox).to_contain_text(NAME)
    expect(outbox).to_contain_text("Handwerkskammer")  # a Handwerk business: the chamber of crafts gets it
    expect(outbox).to_contain_text("IHK")
    assert_accessible(page)

    # GewA 2: the business is preselected; only the new address is typed.
    page.goto(business_url)
    page.get_by_role("link", name="Ummeldung erfassen").click()
    expect(page.locator("main")).to_contain_text(NAME)
    assert_accessible(page)
    page.get_by_label("Datum der Änderung").fill("2026-02-01")
    page.get_by_label("Grund der Anzeige").select_option("verlegung")
    premises = page.get_by_role("group", name="Betriebsstätte (Felder 14–15)")
    premises.get_by_label("Straße").fill("Hugenottenallee")
    premises.get_by_label("Hausnummer").fill("9")
    page.get_by_role("button", name="Anzeige erfassen").click()
    expect(page.locator("main")).to_contain_text("wurde erfasst")
    walk_to_receipt(page, page.url)
    page.goto(business_url)
    history = page.get_by_role("table", name="Verlauf des Eintrags")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history).to_contain_text("Schulstraße → Hugenottenallee")
    expect(history).to_contain_text("Ersteintragung")

    # Extracts: simple at one click; extended refused without the interest, then given with it.
    page.get_by_role("link", name="Auskunft aus dem Register").click()
    assert_accessible(page)
    with page.expect_download() as simple:
        page.get_by_role("button", name="Einfache Auskunft herunterladen (PDF)").click()
    assert simple.value.path().read_bytes().startswith(b"%PDF")
    page.get_by_label("Anfragende Person oder Stelle").fill("Kanzlei Beispiel")
    page.get_by_role("button", name="Erweiterte Auskunft herunterladen (PDF)").click()
    expect(page.locator("#extended-interest-error")).to_contain_text("berechtigte Interesse")
    page.get_by_label("Berechtigtes Interesse bzw. Rechtsgrundlage").fill("Vollstreckungstitel liegt vor")
    with page.expect_download() as extended:
        page.get_by_role("button", name="Erweiterte Auskunft herunterladen (PDF)").click()
    assert extended.value.path().read_bytes().startswith(b"%PDF")
    assert "erweitert" in extended.value.suggested_filename

    # GewA 3 closes the business.
    page.goto(business_url)
    page.get_by_role("link", name="Abmeldung erfassen").click()
    assert_accessible(page)
    page.get_by_label("Datum der Aufgabe").fill("2026-03-01")
    page.get_by_label("Grund der Anzeige").select_option("aufgabe")
    page.get_by_role("button", name="Anzeige erfassen").click()
    expect(page.locator("main")).to_contain_text("wurde erfasst")
    walk_to_receipt(page, page.url)
    page.goto(business_url)
    expect(page.locator("main")).to_contain_text("abgemeldet")
    expect(page.get_by_role("link", name="Ummeldung erfassen")).to_have_count(0)
    page.goto(f"{live_server.url}/gewerbe?status=closed")
    expect(page.locator("main")).to_contain_text(NAME)


def _scan_pdf() -> bytes:
    from eakte.demo import demo_pdf
    return demo_pdf("Gewerbeanmeldung", ["Gewerbeanmeldung nach § 14 GewO", NAME], pages=1)
