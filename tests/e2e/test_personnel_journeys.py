"""The personnel file in a real browser (issue 12): the personnel clerk opens Erika Muster's file and sees the
Grundakte and the sub-files but nothing of the Beihilfe, then the file's access log; the employee herself, an
account in no unit, signs in, lands on "Meine Personalakte", downloads a copy and sees who read her file —
axe-core checking her pages."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in

FILE = re.compile(r"Personalakte Muster, Erika")
BEIHILFE_DOCUMENT = "Beihilfeantrag Zahnbehandlung"  # in the Beihilfe sub-file: the Beihilfestelle's alone


def test_the_personnel_clerk_opens_the_file_without_beihilfe_and_its_access_log(page: Page,
                                                                                live_server: LiveServer) -> None:
    sign_in(page, live_server, "petra")
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Akten", exact=True).click()
    page.get_by_role("row", name=FILE).get_by_role("link").first.click()
    main = page.locator("main")
    expect(main).to_contain_text("Arbeitsvertrag")  # the Grundakte
    for sub in ("Entgelt/Besoldung", "Urlaub", "Krankheit", "Fortbildung", "Beurteilungen"):
        expect(main).to_contain_text(sub)
    expect(main).to_contain_text("Urlaubsantrag Sommer 2026")
    expect(main).not_to_contain_text(BEIHILFE_DOCUMENT)
    assert_accessible(page)

    page.get_by_role("link", name="Zugriffsprotokoll").first.click()
    expect(page.get_by_role("heading", name="Zugriffsprotokoll").first).to_be_visible()
    expect(main.locator("tbody tr").first).to_contain_text("Sie selbst")  # her opening of the file, just now


def test_the_employee_lands_on_her_file_downloads_a_copy_and_sees_who_read_it(page: Page,
                                                                              live_server: LiveServer) -> None:
    sign_in(page, live_server, "erika")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Meine Personalakte")
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav).to_contain_text("Meine Personalakte")
    expect(nav).not_to_contain_text("Postkorb")
    main = page.locator("main")
    expect(main).to_contain_text("Muster, Erika")
    expect(main).to_contain_text("Urlaubsantrag Sommer 2026")
    expect(main).not_to_contain_text(BEIHILFE_DOCUMENT)
    assert_accessible(page)

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile(r"^Arbeitsvertrag.*herunterladen")).click()
    path = info.value.path()
    assert path is not None and path.read_bytes().startswith(b"%PDF")

    log = page.locator("section", has=page.get_by_role("heading", name="Wer hat meine Akte gelesen?"))
    page.reload()  # the download is in the log now
    expect(log).to_contain_text("Eigene Akte (Einsicht)")
    expect(log).to_contain_text("Herunterladen")

    page.get_by_label("Beihilfe-Unterlagen einbeziehen").check()
    page.get_by_role("button", name="Anzeigen").click()
    expect(main).to_contain_text(BEIHILFE_DOCUMENT)
    assert_accessible(page)
