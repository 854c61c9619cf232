"""The auditor's and the admin's journeys in a real browser (issue 10): rita searches a stemmed German word and an
umlaut variant, narrows by a facet, opens the hit and exports two cases as a BagIt ZIP that validates; the admin
creates a user with a role, the user signs in (and must set a password), the admin deactivates them and their
session and API token stop working. axe-core checks every page on the way."""
from __future__ import annotations

import zipfile
from pathlib import Path

import bagit
from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_invoice_journey import screenshot, sign_in


def search(page: Page, words: str) -> None:
    box = page.get_by_role("banner").get_by_role("search")  # the search box in the header of every page
    box.get_by_role("searchbox").fill(words)
    box.get_by_role("button").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def test_auditor_searches_narrows_and_exports(browser: Browser, live_server: LiveServer, tmp_path: Path) -> None:
    rita = sign_in(browser, live_server, "rita")
    search(rita, "Heizungsanlagen")  # the document says "Heizungsanlage": found by its stem
    main = rita.locator("main")
    expect(main).to_contain_text("Heizungsanlage")
    expect(main.locator("mark").first).to_be_visible()
    assert_accessible(rita)

    search(rita, "Buerobedarf")  # umlaut folding: the document says "Bürobedarf"
    expect(main).to_contain_text("Bürobedarf")
    assert_accessible(rita)

    search(rita, "Rechnung")
    facets = rita.get_by_role("complementary")
    facets.get_by_role("link").first.click()  # narrow by the first facet value
    expect(main).to_contain_text("Filter entfernen")
    assert_accessible(rita)
    screenshot(rita, "search")

    search(rita, "Rechnung")
    boxes = main.locator("input[name=case_id]")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    with rita.expect_download() as info:
        rita.get_by_role("button", name="Ausgewählte Akten exportieren").click()
    zip_path = tmp_path / "export.zip"
    info.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path / "bag")
    bags = [p.parent for p in (tmp_path / "bag").rglob("bagit.txt")]
    assert len(bags) == 1
    bag = bagit.Bag(str(bags[0]))
    bag.validate()
    assert len([p for p in bag.payload_files()]) >= 2

    # The hit opens the case read-only: no button that would change anything.
    search(rita, "Heizungsanlagen")
    main.get_by_role("link").filter(has_text="Heizungsanlage").first.click()
    expect(rita.get_by_role("heading", level=1)).to_be_visible()
    assert rita.get_by_role("button", name="Hochladen").count() == 0
    assert rita.get_by_role("link", name="Akte schließen").count() == 0
    assert_accessible(rita)
    rita.context.close()


def test_admin_creates_and_deactivates_a_user(browser: Browser, live_server: LiveServer) -> None:
    admin = sign_in(browser, live_server, "admin")
    admin.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verwaltung").click()
    assert_accessible(admin)
    screenshot(admin, "admin-users")
    admin.get_by_role("link", name="Neuer Benutzer").click()
    assert_accessible(admin)
    admin.get_by_label("Benutzername").fill("neu.kollegin")
    admin.get_by_label("Anzeigename").fill("Nele Neumann")
    admin.get_by_label("Erstes Passwort").fill("erstes-passwort-1")
    admin.get_by_label("Organisationseinheit").select_option("20")
    admin.get_by_label("Rolle").select_option("clerk")
    admin.get_by_role("button", name="Benutzer anlegen").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text("neu.kollegin")
    assert_accessible(admin)

    # The new colleague signs in and must choose her own password first.
    context = browser.new_context(base_url=live_server.url, locale="de-DE", bypass_csp=True)
    nele = context.new_page()
    nele.goto("/login")
    nele.get_by_label("Benutzername").fill("neu.kollegin")
    nele.get_by_label("Passwort").fill("erstes-passwort-1")
    nele.get_by_role("button", name="Anmelden").click()
    expect(nele.get_by_label("Aktuelles Passwort")).to_be_visible()
    assert_accessible(nele)
    nele.get_by_label("Aktuelles Passwort").fill("erstes-passwort-1")
    nele.get_by_label("Neues Passwort", exact=True).fill("mein-eigenes-passwort")
    nele.get_by_label("Neues Passwort wiederholen").fill("mein-eigenes-passwort")
    nele.get_by_role("button", name="Passwort ändern").click()
    nele.goto("/")
    expect(nele.get_by_role("navigation", name="Hauptnavigation")).to_contain_text("Postkorb")
    token = live_server.rt  # the API token comes from the service, as `eakte user token` would issue it
    from eakte.services import identity
    from eakte.services.access import SYSTEM, Actor
    with token.db.write() as session:
        secret = identity.issue_token(session, Actor(SYSTEM, "e2e"), identity.user_by_name(session, "neu.kollegin"))
    me = nele.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status == 200

    # The admin deactivates her: her open session and her token stop working at once.
    admin.get_by_role("link", name="Deaktivieren").click()
    assert_accessible(admin)
    admin.get_by_role("button", name="Jetzt deaktivieren").click()
    expect(admin.locator("main")).to_contain_text("deaktiviert")
    nele.goto("/")
    expect(nele.get_by_role("button", name="Anmelden")).to_be_visible()
    assert nele.request.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status == 401
    context.close()
    admin.context.close()
