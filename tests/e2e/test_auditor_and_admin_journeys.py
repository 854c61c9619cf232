"""The auditor's and the admin's journeys in a real browser (issue 10): rita searches a stemmed German word and an
umlaut variant, narrows by a facet, opens the hit and exports two cases as a BagIt ZIP that validates (the page
shows the download's progress and then the package's SHA-256); the admin creates a user with a role, the user signs
in (and must set a password), the admin deactivates them and their session and API token stop working. Both
journeys once more in English, switched in the header before signing in. axe-core checks every page on the way."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import bagit
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_invoice_journey import screenshot, sign_in


def search(page: Page, words: str) -> None:
    box = page.get_by_role("banner").get_by_role("search")  # the search box in the header of every page
    box.get_by_role("searchbox").fill(words)
    box.get_by_role("button").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def export_two_cases(page: Page, button: str, tmp_path: Path) -> bagit.Bag:
    """Ticks two cases and exports them: export.js fetches the ZIP with a progress bar, saves it and then shows
    the SHA-256 the server recorded, which must be the hash of the file saved; the ZIP must be a valid bag."""
    main = page.locator("main")
    boxes = main.locator("input[name=case_id]")
    assert boxes.count() >= 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    zip_path = tmp_path / "export.zip"
    info.value.save_as(zip_path)
    data = zip_path.read_bytes()
    progress = main.locator("progress#export-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("max", str(len(data)))  # the Content-Length the server announced
    expect(progress).to_have_attribute("value", str(len(data)))
    expect(main.locator("[data-export-sha]")).to_have_text(hashlib.sha256(data).hexdigest())
    expect(main.locator("[data-export-message]")).to_be_hidden()  # the file received matches the checksum
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path / "bag")
    bags = [p.parent for p in (tmp_path / "bag").rglob("bagit.txt")]
    assert len(bags) == 1
    bag = bagit.Bag(str(bags[0]))
    bag.validate()
    return bag


def sign_in_in_english(page: Page, live_server: LiveServer, username: str) -> None:
    """The language switch in the header of the sign-in page: only this browser's session is English (the
    demo user's own language setting stays as it is for the other tests)."""
    page.goto("/login")
    page.get_by_label("Sprache").select_option("en")
    page.get_by_role("button", name="Wechseln").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_accessible(page)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(live_server.logins[username].password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_visible()


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
    bag = export_two_cases(rita, "Ausgewählte Akten exportieren", tmp_path)
    assert len([p for p in bag.payload_files()]) >= 2
    expect(main.locator("[data-export-bytes]")).to_contain_text(" MB von ")
    assert_accessible(rita)

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


@pytest.mark.parametrize("script", [True, False], ids=["with-script", "without-script"])
def test_export_under_the_real_csp_and_without_script(browser: Browser, live_server: LiveServer, tmp_path: Path,
                                                      script: bool) -> None:
    """export.js runs under the application's own Content-Security-Policy (no bypass here); without script the
    form's plain POST downloads the ZIP and the search page then lists the export with its SHA-256."""
    context = browser.new_context(base_url=live_server.url, locale="de-DE", java_script_enabled=script)
    rita = context.new_page()
    rita.goto("/login")
    rita.get_by_label("Benutzername").fill("rita")
    rita.get_by_label("Passwort").fill(live_server.logins["rita"].password)
    rita.get_by_role("button", name="Anmelden").click()
    rita.goto("/search?q=Rechnung")
    if script:
        export_two_cases(rita, "Ausgewählte Akten exportieren", tmp_path)
    else:
        rita.locator("main input[name=case_id]").first.check()
        with rita.expect_download() as info:
            rita.get_by_role("button", name="Ausgewählte Akten exportieren").click()
        data = Path(info.value.path()).read_bytes()
        rita.goto("/search")
        recent = rita.get_by_role("region", name="Ihre letzten Exporte")
        expect(recent).to_contain_text(hashlib.sha256(data).hexdigest())
        recent.get_by_role("link").first.click()
        expect(rita.locator("main")).to_contain_text(hashlib.sha256(data).hexdigest())
    context.close()


@pytest.mark.parametrize("locale", ["en-US"], indirect=True)
def test_auditor_journey_in_english(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    sign_in_in_english(page, live_server, "rita")
    search(page, "Rechnung")
    main = page.locator("main")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    expect(main.get_by_role("heading", name="Results")).to_be_visible()
    expect(main.get_by_role("heading", name="Narrow down")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("complementary").get_by_role("link").first.click()
    expect(main).to_contain_text("Remove filter")
    assert_accessible(page)
    search(page, "Rechnung")
    export_two_cases(page, "Export selected cases", tmp_path)
    assert_accessible(page)
    main.locator("[data-export-receipt]").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Export eakte-export-")
    assert_accessible(page)


@pytest.mark.parametrize("locale", ["en-US"], indirect=True)
def test_admin_journey_in_english(page: Page, live_server: LiveServer) -> None:
    sign_in_in_english(page, live_server, "admin")
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    assert_accessible(page)
    page.get_by_role("link", name="New user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New user")
    assert_accessible(page)
    page.get_by_label("User name").fill("new.colleague")
    page.get_by_label("Display name").fill("Nora New")
    page.get_by_label("Initial password").fill("initial-password-1")
    page.get_by_label("Unit").select_option("20")
    page.get_by_label("Role").select_option("clerk")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("User new.colleague")
    assert_accessible(page)
    page.get_by_role("link", name="Deactivate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deactivate user new.colleague")
    assert_accessible(page)
    page.get_by_role("button", name="Deactivate now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("User new.colleague")
    assert_accessible(page)
