"""Recorded-reason access in a real browser (issue 12, "Done when"): the auditor rita meets Jonas Beispiel's
personnel file as a missing page that says where to ask, is refused without a reason at the field, asks with one;
the head of the personnel office (helga) sees the request waiting in her navigation and Postkorb and grants it;
rita then reads the file, which says until when, and her reading stands with its reason in the access log the head
reads; she
ends the access and the file is missing again (so the other browser tests find the demo as it was)."""
from __future__ import annotations

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from eakte.models import Case
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in
from tests.e2e.test_invoice_journey import sign_in as sign_in_elsewhere

TITLE = "Personalakte Beispiel, Jonas (P-1002)"  # the demo's file with the warning awaiting the hearing
REASON = "Prüfauftrag RPA 7/2026: Stichprobe Personalaktenführung"


def test_the_auditor_is_refused_until_a_reason_is_recorded_and_granted(page: Page, browser: Browser,
                                                                       live_server: LiveServer) -> None:
    with live_server.rt.db.read() as session:
        case_id, reference = session.execute(select(Case.id, Case.reference).where(Case.title == TITLE)).one()

    sign_in(page, live_server, "rita")
    assert page.goto(f"/cases/{case_id}").status == 404  # as if missing, and the page says where to ask
    page.get_by_role("link", name="Akteneinsicht beantragen").click()
    page.get_by_label("Aktenzeichen").fill(reference)
    page.get_by_role("button", name="Einsicht beantragen").click()  # no reason
    reason = page.get_by_label("Begründung")
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#access-reason-error")).to_contain_text("Bitte begründen Sie")
    expect(page.get_by_role("alert")).to_be_focused()  # the error summary
    assert_accessible(page)
    reason.fill(REASON)
    page.get_by_role("button", name="Einsicht beantragen").click()
    mine = page.locator("section", has=page.get_by_role("heading", name="Meine Anträge"))
    expect(mine.get_by_role("row", name=reference)).to_contain_text("offen")
    expect(mine).not_to_contain_text(TITLE)  # the name is part of what is protected
    assert page.goto(f"/cases/{case_id}").status == 404  # asked, not yet granted

    head = sign_in_elsewhere(browser, live_server, "helga")
    nav = head.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.locator("#access-pending-count")).to_contain_text("1")
    nav.get_by_role("link", name="Postkorb").click()
    head.get_by_role("link", name="Anträge ansehen und entscheiden").click()
    row = head.get_by_role("row", name="Rita Brandt")
    expect(row).to_contain_text(REASON)
    assert_accessible(head)
    row.get_by_role("button", name="Gewähren").click()
    expect(head.locator(".flash-area")).to_contain_text("gewährt bis")
    expect(nav.locator("#access-pending-count")).to_have_count(0)

    page.goto("/access-requests")
    mine.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(TITLE)
    expect(page.locator("main")).to_contain_text("befristeten Einsicht bis")
    expect(page.locator("main")).to_contain_text("Missbilligung verspätete Kassenabrechnung")  # the warning
    assert_accessible(page)
    # Who read the file and why is for the personnel office (and the employee), not for the auditor reading it.
    expect(page.get_by_role("link", name="Zugriffsprotokoll")).to_have_count(0)
    head.goto(f"/cases/{case_id}/access-log")
    first = head.locator("main tbody tr").first  # newest first: rita's opening of the file, with her reason
    expect(first).to_contain_text("Rita Brandt")
    expect(first).to_contain_text("Einsicht mit Begründung")
    expect(first).to_contain_text(REASON)
    head.context.close()

    page.goto("/access-requests")
    mine.get_by_role("button", name="Einsicht beenden").click()
    expect(mine.get_by_role("row", name=reference)).to_contain_text("zurückgezogen")
    assert page.goto(f"/cases/{case_id}").status == 404
