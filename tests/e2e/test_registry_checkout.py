"""Check-out in a real browser (issue 11 point 3): anna checks a document out, the page says so; her colleague
karl sees who has it and gets no upload form, the case page marks it; anna checks a new version in — with
axe-core on every page on the way."""
from __future__ import annotations

import io

from playwright.sync_api import Browser, Page, expect

from eakte.demo import demo_pdf
from eakte.services import cases, documents
from eakte.services.access import Actor, load_principal
from eakte.services.identity import user_by_name
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in


def _document(live_server: LiveServer) -> tuple[int, int]:
    """A case of anna's own with one document, so the shared demo's documents stay as they are."""
    rt = live_server.rt
    with rt.db.write() as session:
        anna = Actor(load_principal(session, user_by_name(session, "anna"), rt.registry.restricted), "e2e")
        case = cases.create_case(session, anna, cases.NewCase("20.30", "Beschaffung Druckerpapier", "20"),
                                 rt.registry)
    pdf = demo_pdf("Angebot Druckerpapier", ["Angebot über 200 Kartons Recyclingpapier."])
    doc = documents.add_document(rt, anna, case.id, documents.NewDocument("Angebot Druckerpapier", "letter"),
                                 documents.Upload(io.BytesIO(pdf), "angebot.pdf", "application/pdf"))
    return case.id, doc.document.id


def test_check_out_colleague_sees_it_check_in(page: Page, browser: Browser, live_server: LiveServer) -> None:
    case_id, doc_id = _document(live_server)
    sign_in(page, live_server, "anna")
    page.goto(f"/documents/{doc_id}")
    expect(page.locator("[data-checkout-status]")).to_contain_text("Das Dokument ist nicht ausgecheckt.")
    page.get_by_role("button", name="Auschecken", exact=True).click()
    expect(page.locator("main")).to_contain_text("Sie haben das Dokument ausgecheckt.")
    expect(page.locator("[data-checkout-status]")).to_contain_text("Ausgecheckt von Anna Schäfer seit")
    expect(page.get_by_role("button", name="Neue Version hochladen")).to_have_count(0)
    assert_accessible(page)

    context = browser.new_context(base_url=live_server.url, locale="de-DE", bypass_csp=True)
    try:
        karl = context.new_page()
        sign_in(karl, live_server, "karl")
        karl.goto(f"/documents/{doc_id}")
        expect(karl.locator("[data-checkout-status]")).to_contain_text("Ausgecheckt von Anna Schäfer seit")
        expect(karl.locator("main")).to_contain_text("Eine neue Version kann erst hochgeladen werden, wenn "
                                                     "Anna Schäfer das Dokument eingecheckt hat.")
        expect(karl.get_by_role("button", name="Neue Version hochladen")).to_have_count(0)
        expect(karl.get_by_role("button", name="Auschecken", exact=True)).to_have_count(0)
        assert_accessible(karl)
        karl.goto(f"/cases/{case_id}")
        expect(karl.locator("main")).to_contain_text("ausgecheckt von anna")
        assert_accessible(karl)
    finally:
        context.close()

    page.locator("#checkin-file").set_input_files({
        "name": "Angebot Druckerpapier v2.pdf", "mimeType": "application/pdf",
        "buffer": demo_pdf("Angebot Druckerpapier", ["Korrigiertes Angebot: 250 Kartons."])})
    page.get_by_role("button", name="Einchecken", exact=True).click()
    main = page.locator("main")
    expect(main).to_contain_text("Version 2 (Angebot Druckerpapier v2.pdf) wurde eingecheckt")
    expect(page.locator("[data-checkout-status]")).to_contain_text("Das Dokument ist nicht ausgecheckt.")
    expect(page.get_by_role("button", name="Neue Version hochladen")).to_be_visible()
    assert_accessible(page)
