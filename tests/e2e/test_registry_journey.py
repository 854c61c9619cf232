"""Issue 11's "Done when" as one journey in a real browser, through the demo's users: anna opens a procedure
(Vorgang) in a case of hers, files two documents into it, moves one to the case level, sets a follow-up for
today and settles it from the Postkorb, and checks the other document out; her colleague karl (same unit) sees
who has it, cannot add a version (the page offers no form, the API answers 409 naming anna, the web form is
refused), adds a note that the case's timeline shows, and finds the case by the procedure's reference; rita
(auditor) exports the case from the search page, a BagIt ZIP that validates and lays the documents out by the
tree. axe-core checks each distinct page on the way. (The follow-up on a later date with a moved clock is
tests/services/test_followups.py's.)"""
from __future__ import annotations

import json
import re
import secrets
import zipfile
from pathlib import Path

import bagit
from playwright.sync_api import Browser, Locator, Page, expect

from eakte.clock import office_today
from eakte.demo import demo_pdf
from eakte.services import cases, identity
from eakte.services.access import Actor, load_principal
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_auditor_and_admin_journeys import search
from tests.e2e.test_clerk_journey import sign_in
from tests.e2e.test_invoice_journey import sign_in as sign_in_elsewhere


def _case_of_anna(live_server: LiveServer, title: str) -> tuple[int, str]:
    rt = live_server.rt
    with rt.db.write() as session:
        anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), rt.registry.restricted))
        case = cases.create_case(session, anna, cases.NewCase("20.30", title, "20"), rt.registry)
        return case.id, case.reference


def _pdf(name: str, text: str) -> dict[str, object]:
    return {"name": name, "mimeType": "application/pdf", "buffer": demo_pdf(name.removesuffix(".pdf"), [text])}


def _section(page: Page, heading: str) -> Locator:
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


def _bag_of_download(page: Page, button: str, tmp_path: Path) -> tuple[bagit.Bag, Path]:
    """Clicks the export button, saves the ZIP export.js hands over and returns it as a validated bag."""
    with page.expect_download() as info:
        page.get_by_role("button", name=button).click()
    zip_path = tmp_path / "export.zip"
    info.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path / "bag")
    [root] = [p.parent for p in (tmp_path / "bag").rglob("bagit.txt")]
    bag = bagit.Bag(str(root))
    bag.validate()
    return bag, root


def test_registry_journey_of_a_unit(page: Page, browser: Browser, live_server: LiveServer, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)  # the live server is shared by the session's tests: names of this run only
    case_title, proc_title = f"Widerspruch Grundsteuer {tag}", f"Anhörung {tag}"
    first, second = f"Anhörungsschreiben {tag}.pdf", f"Aktennotiz {tag}.pdf"
    case_id, case_ref = _case_of_anna(live_server, case_title)
    main = page.locator("main")

    # anna opens a procedure in her case.
    sign_in(page, live_server, "anna")
    page.goto(f"/cases/{case_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(case_title)
    assert_accessible(page)
    page.get_by_label("Betreff des Vorgangs").fill(proc_title)
    page.get_by_role("button", name="Vorgang anlegen").click()
    proc_ref = f"{case_ref}-1"
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{proc_ref} {proc_title}")
    proc_url = page.url
    assert_accessible(page)

    # Two documents filed into it at once through its upload form.
    page.get_by_label("Dateien").set_input_files([
        _pdf(first, "Gelegenheit zur Stellungnahme binnen zwei Wochen."),
        _pdf(second, "Telefonat mit dem Widerspruchsführer am Vormittag.")])
    page.get_by_label("Art des Dokuments").select_option("document")
    with page.expect_navigation():
        page.get_by_role("button", name="Hochladen").click()
    docs = _section(page, "Dokumente")
    expect(docs.get_by_role("link", name=first)).to_be_visible()
    expect(docs.get_by_role("link", name=second)).to_be_visible()
    assert_accessible(page)

    # One of them moves to the case level; its versions stay.
    docs.get_by_role("link", name=second).click()
    expect(main).to_contain_text(f"Abgelegt im Vorgang {proc_ref} {proc_title}")
    assert_accessible(page)
    page.get_by_label("Verschieben nach").select_option("case")
    page.get_by_role("button", name="Dokument verschieben").click()
    expect(main).to_contain_text("Abgelegt auf Ebene der Akte.")
    page.goto(proc_url)
    expect(docs.get_by_role("link")).to_have_count(1)
    docs.get_by_role("link", name=first).click()
    document_url = page.url
    document_id = int(document_url.rsplit("/", 1)[1])

    # A follow-up for today on the case: in the Postkorb's Wiedervorlagen, settled there.
    page.goto(f"/cases/{case_id}")
    tree = _section(page, "Vorgänge und Teilakten")
    expect(tree.get_by_role("link", name=first)).to_be_visible()
    expect(tree.get_by_role("link", name=second)).to_have_count(0)
    hint = f"Stellungnahme abwarten {tag}"
    page.get_by_label("Wiedervorlage am").fill(office_today().isoformat())
    page.get_by_label("Hinweis").fill(hint)
    page.get_by_label("für mich").check()
    page.get_by_role("button", name="Wiedervorlage setzen").click()
    expect(_section(page, "Wiedervorlagen")).to_contain_text(hint)
    assert_accessible(page)
    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name=re.compile("Postkorb")).click()
    row = _section(page, "Wiedervorlagen").locator("tr", has_text=hint)
    expect(row).to_contain_text(case_ref)
    assert_accessible(page)
    row.get_by_role("button", name=re.compile("^Erledigt")).click()
    expect(page.locator("tr", has_text=hint)).to_have_count(0)

    # anna checks the procedure's document out.
    page.goto(document_url)
    page.get_by_role("button", name="Auschecken", exact=True).click()
    expect(page.locator("[data-checkout-status]")).to_contain_text("Ausgecheckt von Anna Schäfer seit")

    karl = sign_in_elsewhere(browser, live_server, "karl")  # a colleague of the same unit, a browser of his own
    try:
        karl.goto(document_url)
        expect(karl.locator("[data-checkout-status]")).to_contain_text("Ausgecheckt von Anna Schäfer seit")
        expect(karl.get_by_role("button", name="Neue Version hochladen")).to_have_count(0)
        expect(karl.locator("input[type=file]")).to_have_count(0)
        assert_accessible(karl)
        new_version = {"file": _pdf("Gegenentwurf.pdf", "Karls Fassung.")}
        refused = karl.request.post(f"/api/v1/documents/{document_id}/versions", multipart=new_version, headers={
            "Authorization": f"Bearer {live_server.logins['karl'].token}"})
        assert refused.status == 409
        assert refused.json()["checked_out_by"] == "anna"
        # The web form (posted without the page, which offers none) is refused with the reason on the page.
        token = karl.locator("input[name=csrf_token]").first.input_value()
        refused_web = karl.request.post(f"/documents/{document_id}/versions",
                                        multipart={**new_version, "csrf_token": token})
        assert "Die neue Version wurde nicht angenommen" in refused_web.text()
        karl.goto(document_url)
        expect(karl.locator("main table").first.locator("tbody tr")).to_have_count(1)  # still one version

        # karl adds a note; the case's timeline shows it.
        karl.goto(f"/cases/{case_id}")
        note = f"Rückruf des Widerspruchsführers {tag}: Unterlagen folgen."
        karl.get_by_label("Text des Vermerks").fill(note)
        karl.get_by_role("button", name="Vermerk hinzufügen").click()
        expect(karl.locator("main")).to_contain_text("Der Vermerk wurde gespeichert.")
        expect(_section(karl, "Verlauf der Akte")).to_contain_text(note)
        assert_accessible(karl)
        karl.get_by_role("navigation", name="Bereiche der Akte").get_by_role("link", name="Verlauf").click()
        expect(karl.locator("main")).to_contain_text(note)
        assert_accessible(karl)

        # ... and finds the case by the procedure's reference in the header's search box.
        search(karl, proc_ref)
        hits = karl.locator(".search-hits")
        expect(hits).to_contain_text(first)
        expect(hits.get_by_role("link", name=f"{case_ref} {case_title}").first).to_be_visible()
        assert_accessible(karl)
    finally:
        karl.context.close()

    # anna lets go of the document again (no lock left behind on the shared server).
    page.goto(document_url)
    page.get_by_role("button", name="Auschecken abbrechen").click()
    expect(page.locator("[data-checkout-status]")).to_contain_text("Das Dokument ist nicht ausgecheckt.")

    # rita exports the case from the search page: a valid bag laid out by the tree.
    rita = sign_in_elsewhere(browser, live_server, "rita")
    try:
        search(rita, proc_ref)
        rita.get_by_label(f"Akte {case_ref} zum Export auswählen").check()
        assert_accessible(rita)
        bag, root = _bag_of_download(rita, "Ausgewählte Akten exportieren", tmp_path)
    finally:
        rita.context.close()
    payload = [p.replace("\\", "/") for p in bag.payload_files()]
    folder = f"/001 {proc_title}/"
    assert any(p.startswith("data/") and folder in p and p.endswith(first) for p in payload), payload
    assert any(p.endswith(second) and folder not in p for p in payload), payload  # the moved one: case level
    [case_json] = [p for p in payload if p.endswith("/case.json")]
    meta = json.loads((root / case_json).read_text(encoding="utf-8"))
    assert [p["reference"] for p in meta["procedures"]] == [proc_ref]
