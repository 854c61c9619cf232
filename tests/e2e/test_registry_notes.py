"""A note (Vermerk) in a real browser (issue 11 points 4 and 7): a clerk adds one on the case page (an empty one
first: the message at the field), sees it in the list and in the case's timeline, corrects it, and finds the
case by a word of the note — axe-core checking each page."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from eakte.demo import Login
from eakte.services import cases, identity
from eakte.services.access import SYSTEM, Actor, Principal, load_principal
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in

USER = "vm.clerk"  # a clerk of its own, so the demo users' pages stay as other journeys expect them
PASSWORD = "correct horse battery staple"
OPERATOR = Actor(Principal(SYSTEM.user_id, "e2e-operator", {0: frozenset({"admin"})}), "e2e")


def _clerk_with_a_case(live_server: LiveServer) -> int:
    rt = live_server.rt
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, USER, display_name="Vera Merk", password=PASSWORD,
                                    roles=[identity.UnitRole("20", "clerk")])
        clerk = Actor(load_principal(session, user, rt.registry.restricted))
        case = cases.create_case(session, clerk, cases.NewCase("20.30", "Beschwerde Straßenbeleuchtung", "20"),
                                 rt.registry)
        return case.id


def test_add_a_note_see_it_in_the_timeline_correct_it_and_find_it(page: Page, live_server: LiveServer) -> None:
    case_id = _clerk_with_a_case(live_server)
    live_server.logins[USER] = Login(USER, PASSWORD, "clerk@20", "")
    sign_in(page, live_server, USER)

    page.goto(f"/cases/{case_id}")
    notes = page.locator("section", has=page.get_by_role("heading", name="Vermerke", exact=True))
    expect(notes).to_contain_text("Zu dieser Akte gibt es noch keine Vermerke.")
    assert_accessible(page)
    notes.get_by_role("button", name="Vermerk hinzufügen").click()  # empty: the German message at the field
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#note-text")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    page.get_by_label("Text des Vermerks").fill("Ortstermin mit Herrn Leuchtenberg: Mast 17 flackert.")
    page.get_by_role("button", name="Vermerk hinzufügen").click()
    expect(page.locator("main")).to_contain_text("Der Vermerk wurde gespeichert.")
    expect(notes).to_contain_text("Ortstermin mit Herrn Leuchtenberg")
    timeline = page.locator("section", has=page.get_by_role("heading", name="Verlauf der Akte"))
    expect(timeline).to_contain_text("Vermerk vom")
    expect(timeline).to_contain_text("Mast 17 flackert")
    assert_accessible(page)

    # A correction is a new note naming the old one; the old one stays and is marked.
    page.get_by_label("Text des Vermerks").fill("Berichtigung: Mast 18, nicht Mast 17.")
    page.get_by_label("Berichtigt Vermerk").select_option(index=1)
    page.get_by_role("button", name="Vermerk hinzufügen").click()
    expect(notes).to_contain_text("berichtigt durch Vermerk vom")
    expect(notes).to_contain_text("Mast 17 flackert")
    assert_accessible(page)

    page.get_by_role("navigation", name="Bereiche der Akte").get_by_role("link", name="Verlauf").click()
    expect(page.locator("main")).to_contain_text("Berichtigung: Mast 18")
    assert_accessible(page)

    page.goto("/search?q=Leuchtenberg")
    expect(page.locator(".search-hits")).to_contain_text("Vermerk vom")
    expect(page.locator(".search-hits")).to_contain_text("Beschwerde Straßenbeleuchtung")
    assert_accessible(page)
