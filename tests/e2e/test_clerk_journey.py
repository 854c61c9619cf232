"""A clerk's morning in a real browser: sign in, create a case from the form, upload a PDF and a refused file,
drop a file onto the case page, see the versions — with axe-core checking every page on the way."""
from __future__ import annotations

import base64

from playwright.sync_api import Page, expect

from eakte.demo import demo_pdf
from eakte.services import logins
from eakte.services.access import Actor, load_principal
from eakte.services.identity import user_by_name
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"\x80\x00\x00\x00" + \
      b"\x00" * 64 + b"PE\x00\x00L\x01\x03\x00" + b"\x00" * 200


def sign_in(page: Page, live_server: LiveServer, username: str) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/login?next=/")
    assert_accessible(page)
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(live_server.logins[username].password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_clerk_creates_a_case_uploads_and_sees_versions(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "anna")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_role("navigation", name="Hauptnavigation")).to_contain_text("Postkorb")
    assert_accessible(page)  # Übersicht

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Aktenplan").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Aktenplan")
    assert_accessible(page)

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Akten", exact=True).click()
    assert_accessible(page)
    page.get_by_role("link", name="Neue Akte").click()
    assert_accessible(page)  # choose the case type
    page.get_by_role("button", name="Weiter").click()
    assert_accessible(page)  # the form generated from the case type

    page.get_by_role("button", name="Akte anlegen").click()  # nothing filled in: German messages at the fields
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#title")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    page.get_by_label("Betreff").fill("Beschaffung Streusalz Winter 2026/27")
    page.get_by_label("Aktenplanposition").select_option("20.30")
    page.get_by_label("Federführung").select_option("20")
    page.get_by_role("button", name="Akte anlegen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Beschaffung Streusalz")
    case_url = page.url
    assert_accessible(page)  # the case page

    # Upload without the script's help would work too; here the form's file input takes two files at once.
    page.locator("form[data-upload] input[name=file]").set_input_files([
        {"name": "Angebot Streusalz.pdf", "mimeType": "application/pdf",
         "buffer": demo_pdf("Angebot Streusalz", ["Angebot über 40 t Streusalz, Lieferung frei Bauhof."])},
        {"name": "programm.exe", "mimeType": "application/octet-stream", "buffer": EXE}])
    with page.expect_navigation():
        page.locator("form[data-upload]").get_by_role("button", name="Hochladen").click()
    main = page.locator("main")
    expect(main).to_contain_text("Die Datei Angebot Streusalz.pdf wurde gespeichert.")
    expect(main).to_contain_text("Die Datei programm.exe wurde nicht angenommen")
    assert_accessible(page)

    # Drag and drop onto the case page (the drop zone the script shows).
    pdf = base64.b64encode(demo_pdf("Lieferschein", ["Lieferschein Nr. 4711: 40 t Streusalz geliefert."])).decode()
    transfer = page.evaluate_handle(
        """(b64) => { const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                      const dt = new DataTransfer();
                      dt.items.add(new File([bytes], 'Lieferschein 4711.pdf', {type: 'application/pdf'}));
                      return dt; }""", pdf)
    expect(page.locator("[data-dropzone]")).to_be_visible()
    with page.expect_navigation():
        page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    expect(page.locator("main")).to_contain_text("Lieferschein 4711.pdf")

    # The document page lists its versions; a new version adds number 2.
    page.get_by_role("link", name="Angebot Streusalz.pdf").first.click()
    assert_accessible(page)
    page.locator("input[type=file]").first.set_input_files({
        "name": "Angebot Streusalz v2.pdf", "mimeType": "application/pdf",
        "buffer": demo_pdf("Angebot Streusalz", ["Korrigiertes Angebot über 45 t."])})
    page.get_by_role("button", name="Neue Version").click()
    versions = page.locator("main table")
    expect(versions.first).to_contain_text("2")
    assert_accessible(page)
    page.goto(case_url)
    expect(page.locator("main")).to_contain_text("Angebot Streusalz")


def test_the_interface_in_english(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "karl")
    try:
        page.get_by_label("Sprache").select_option("en")
        page.get_by_role("button", name="Wechseln").click()
        assert page.locator("html").get_attribute("lang") == "en"
        nav = page.get_by_role("navigation", name="Main navigation")
        expect(nav).to_contain_text("Inbox")
        expect(nav).to_contain_text("File plan")
        assert_accessible(page)
        nav.get_by_role("link", name="Cases", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page)
        nav.get_by_role("link", name="Inbox").click()
        assert_accessible(page)
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert_accessible(page)
    finally:  # the choice is karl's own (User.locale): the other journeys on this server meet him in German
        rt = live_server.rt
        with rt.db.read() as session:
            karl = Actor(load_principal(session, user_by_name(session, "karl"), rt.registry.restricted), "e2e")
        logins.set_locale(rt, karl, "de")
