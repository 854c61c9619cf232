"""Procedures (Vorgänge) in a real browser (issue 11 point 1): a clerk opens a case, opens a procedure in it,
uploads a document into the procedure, and moves it back to the case level — axe-core checking each page."""
from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from eakte.demo import demo_pdf
from eakte.services import cases, identity
from eakte.services.access import Actor, load_principal
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in


def _case_of_anna(live_server: LiveServer) -> tuple[int, str]:
    rt = live_server.rt
    with rt.db.write() as session:
        anna = Actor(load_principal(session, identity.user_by_name(session, "anna"), rt.registry.restricted))
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Widerspruch Straßenreinigung", "20"),
                                 rt.registry)
        return case.id, case.reference


def test_open_a_procedure_upload_into_it_and_move_the_document_back(page: Page, live_server: LiveServer,
                                                                     tmp_path: Path) -> None:
    case_id, reference = _case_of_anna(live_server)
    sign_in(page, live_server, "anna")
    page.goto(f"/cases/{case_id}")
    tree = page.locator("section", has=page.get_by_role("heading", name="Vorgänge und Teilakten", exact=True))
    page.get_by_label("Betreff des Vorgangs").fill("   ")  # blank: the German message at the field
    tree.get_by_role("button", name="Vorgang anlegen").click()
    expect(page.locator("#procedure-title")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    page.get_by_label("Betreff des Vorgangs").fill("Anhörung des Widerspruchsführers")
    page.get_by_role("button", name="Vorgang anlegen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{reference}-1")
    expect(page.locator("main")).to_contain_text("Aktenzeichen des Vorgangs")
    assert_accessible(page)

    pdf = tmp_path / "anhoerung.pdf"
    pdf.write_bytes(demo_pdf("Anhörungsschreiben", ["Gelegenheit zur Stellungnahme binnen zwei Wochen."]))
    page.get_by_label("Dateien").set_input_files(str(pdf))
    page.get_by_label("Art des Dokuments").select_option("document")
    page.get_by_role("button", name="Hochladen").click()
    documents = page.locator("section", has=page.get_by_role("heading", name="Dokumente", exact=True))
    expect(documents.get_by_role("link", name="anhoerung.pdf")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/cases/{case_id}")  # the case page's tree shows the procedure with its document
    expect(tree).to_contain_text(f"{reference}-1")
    expect(tree.get_by_role("link", name="anhoerung.pdf")).to_be_visible()
    tree.get_by_role("link", name="anhoerung.pdf").click()
    expect(page.locator("main")).to_contain_text("Abgelegt im Vorgang")
    assert_accessible(page)
    page.get_by_label("Verschieben nach").select_option("case")
    page.get_by_role("button", name="Dokument verschieben").click()
    expect(page.locator("main")).to_contain_text("Abgelegt auf Ebene der Akte.")
    assert_accessible(page)
    page.goto(f"/cases/{case_id}")
    expect(tree).to_contain_text("Noch keine Dokumente.")
    expect(page.locator("#documents-heading + article, section[aria-labelledby=documents-heading]")
           .first).to_contain_text("anhoerung.pdf")
