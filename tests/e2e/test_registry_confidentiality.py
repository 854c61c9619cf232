"""The confidentiality level in a real browser (issue 11 point 5): a clerk raises a case to „vertraulich" on the
case page, sees the new level there and its badge in the case list; lowering is not offered to them — axe-core
checking each page."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from eakte.demo import Login
from eakte.services import cases, identity
from eakte.services.access import SYSTEM, Actor, Principal, load_principal
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_clerk_journey import sign_in

USER = "vs.clerk"  # a clerk (and approver, so the raised case stays visible to them) of their own
PASSWORD = "correct horse battery staple"
OPERATOR = Actor(Principal(SYSTEM.user_id, "e2e-operator", {0: frozenset({"admin"})}), "e2e")
TITLE = "Disziplinarvorgang Bauhof"


def _clerk_with_a_case(live_server: LiveServer) -> int:
    rt = live_server.rt
    with rt.db.write() as session:
        user = identity.create_user(session, OPERATOR, USER, display_name="Vera Stufe", password=PASSWORD,
                                    roles=[identity.UnitRole("20", "clerk"), identity.UnitRole("20", "approver")])
        clerk = Actor(load_principal(session, user, rt.registry.restricted, rt.settings.confidentiality))
        return cases.create_case(session, clerk, cases.NewCase("20.30", TITLE, "20"), rt.registry).id


def test_clerk_raises_a_case_to_vertraulich_and_sees_the_badge(page: Page, live_server: LiveServer) -> None:
    case_id = _clerk_with_a_case(live_server)
    live_server.logins[USER] = Login(USER, PASSWORD, "clerk@20", "")
    sign_in(page, live_server, USER)

    page.goto(f"/cases/{case_id}")
    section = page.locator("section", has=page.get_by_role("heading", name="Vertraulichkeit", exact=True))
    expect(section).to_contain_text("offen")
    assert_accessible(page)
    section.get_by_label("Vertraulichkeitsstufe ändern").select_option("confidential")
    section.get_by_role("button", name="Stufe speichern").click()
    expect(page.locator("main")).to_contain_text("Die Vertraulichkeitsstufe ist jetzt „vertraulich“.")
    expect(section.locator(".confidentiality-level")).to_have_text("vertraulich")
    # Lowering is the head of unit's: the clerk is offered only this level and higher ones.
    offered = section.get_by_label("Vertraulichkeitsstufe ändern").locator("option")
    expect(offered).to_have_count(3)
    expect(offered.first).to_have_attribute("value", "confidential")
    assert_accessible(page)

    page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Akten", exact=True).click()
    row = page.get_by_role("row", name=TITLE)
    expect(row.locator(".kern-badge--warning")).to_have_text("vertraulich")
    assert_accessible(page)
