"""A follow-up (Wiedervorlage) in a real browser (issue 11 point 2): a clerk sets one for today on the case page,
finds it in the Postkorb (and in the navigation's count), and marks it done — axe-core checking each page."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from eakte.clock import office_today
from eakte.demo import Login
from eakte.services import cases, identity
from eakte.services.access import SYSTEM, Actor, Principal, load_principal
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in

USER = "wv.clerk"  # a clerk of its own, so the demo users' Postkorb stays as other journeys expect it
PASSWORD = "correct horse battery staple"
OPERATOR = Actor(Principal(SYSTEM.user_id, "e2e-operator", {0: frozenset({"admin"})}), "e2e")


def _clerk_with_a_case(live_server: LiveServer) -> int:
    rt = live_server.rt
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, USER, display_name="Wera Vorlage", password=PASSWORD,
                                    roles=[identity.UnitRole("20", "clerk")])
        clerk = Actor(load_principal(session, user, rt.registry.restricted))
        case = cases.create_case(session, clerk, cases.NewCase("20.30", "Widerspruch Abwassergebühren", "20"),
                                 rt.registry)
        return case.id


def test_set_a_followup_see_it_in_the_postkorb_and_mark_it_done(page: Page, live_server: LiveServer) -> None:
    case_id = _clerk_with_a_case(live_server)
    live_server.logins[USER] = Login(USER, PASSWORD, "clerk@20", "")
    sign_in(page, live_server, USER)
    count = page.locator("#inbox-count .kern-label")
    before = int(count.inner_text())

    page.goto(f"/cases/{case_id}")
    section = page.locator("section", has=page.get_by_role("heading", name="Wiedervorlagen", exact=True))
    expect(section).to_contain_text("Für diese Akte ist keine Wiedervorlage gesetzt.")
    assert_accessible(page)
    section.get_by_role("button", name="Wiedervorlage setzen").click()  # empty: German messages at the fields
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.locator("#followup-due_on")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    page.get_by_label("Wiedervorlage am").fill(office_today().isoformat())
    page.get_by_label("Hinweis").fill("Stellungnahme des Bauamts anmahnen")
    page.get_by_label("für mich").check()
    page.get_by_role("button", name="Wiedervorlage setzen").click()
    expect(page.locator("main")).to_contain_text("Wiedervorlage zum")
    expect(page.locator("main")).to_contain_text("Stellungnahme des Bauamts anmahnen")
    assert_accessible(page)

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name=re.compile("Postkorb")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Postkorb")
    row = page.locator("tr", has_text="Stellungnahme des Bauamts anmahnen")
    expect(row).to_contain_text("Widerspruch Abwassergebühren")
    expect(row).not_to_contain_text("überfällig")  # due today, not overdue
    assert int(count.inner_text()) == before + 1
    assert_accessible(page)

    row.get_by_role("button", name=re.compile("^Erledigt")).click()
    expect(page.locator("main")).to_contain_text("erledigt.")
    expect(page.locator("tr", has_text="Stellungnahme des Bauamts anmahnen")).to_have_count(0)
    assert int(count.inner_text()) == before
    assert_accessible(page)
