"""The misallocation levy in a real browser (issue 14, "Done when"): wilhelm runs a survey for a landlord's CSV and
sees its households and letters; he records an overdue household's income, walks it through Prüfung, computes it
(every input shown) and decides the Berechnung; he is refused confirming his own computation, lena confirms it, and
the notice PDF is filed and downloads; an objection against a running notice is recorded and decided."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from eakte.clock import office_today
from eakte.models import Case, Procedure
from tests.e2e.a11y import assert_accessible
from tests.e2e.conftest import LiveServer
from tests.e2e.test_invoice_journey import decide, sign_in

CSV = ("Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Lage;Wohnfläche;Baujahr;Heizung;Mietenstufe;Nettokaltmiete;Mieter\n"
       "E2E-0001-01;Am Browserweg;1;12345;Musterstadt;EG;52,5;1985;Sammelheizung;I;410,00;Greta Test\n"
       "E2E-0001-02;Am Browserweg;1;12345;Musterstadt;1. OG;44;1985;Sammelheizung;I;350,00;Udo und Ute Probe\n")


def _procedure_of(live_server: LiveServer, flat_id: str) -> int:
    with live_server.rt.db.read() as session:
        return session.execute(select(Procedure.id).join(Case, Case.id == Procedure.case_id).where(
            Case.case_type == "levy", Case.metadata_["flat_id"].as_string() == flat_id)).scalars().first()


def _decide_step(page: Page, procedure_url: str, label: str) -> None:
    page.goto(procedure_url)
    page.get_by_role("link", name=re.compile("^Zur Aufgabe")).click()
    decide(page, label)


def test_a_survey_from_a_landlords_csv(browser: Browser, live_server: LiveServer, tmp_path: Path) -> None:
    flats = tmp_path / "vermieter.csv"
    flats.write_text(CSV, encoding="utf-8")
    wilhelm = sign_in(browser, live_server, "wilhelm")
    wilhelm.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Fehlbelegungsabgabe").click()
    assert_accessible(wilhelm)
    wilhelm.goto("/abgabe/erhebungen/neu")
    expect(wilhelm.get_by_role("heading", level=1)).to_have_text("Neue Erhebung")
    assert_accessible(wilhelm)
    wilhelm.get_by_label("Liste des Vermieters (CSV)").set_input_files(str(flats))
    wilhelm.get_by_label("Vermieter", exact=True).fill("Browser Wohnbau GmbH")
    wilhelm.get_by_role("button", name="Erhebung durchführen").click()
    expect(wilhelm.locator(".flash-area")).to_contain_text("2 Haushalte angeschrieben")
    main = wilhelm.locator("main")
    expect(wilhelm.get_by_role("heading", level=1)).to_contain_text("Browser Wohnbau GmbH")
    for text in ("E2E-0001-01", "E2E-0001-02", "Greta Test", "Ute Probe", "Erhebungsschreiben"):
        expect(main).to_contain_text(text)
    assert_accessible(wilhelm)
    with wilhelm.expect_download() as batch:
        wilhelm.get_by_role("link", name="Druckstapel herunterladen (PDF)").click()
    assert Path(batch.value.path()).read_bytes().startswith(b"%PDF")
    wilhelm.context.close()


def test_income_computation_four_eyes_notice_and_objection(browser: Browser, live_server: LiveServer) -> None:
    pid = _procedure_of(live_server, "BG-0007-01")  # the demo's overdue household: its answer comes in late
    url = f"/abgabe/vorgaenge/{pid}"
    wilhelm = sign_in(browser, live_server, "wilhelm")
    wilhelm.goto(url)
    expect(wilhelm.locator("main")).to_contain_text("überfällig")
    assert_accessible(wilhelm)
    wilhelm.locator("#members-0-name").fill("Sabine Roth")
    wilhelm.locator("#members-0-tenant").check()
    wilhelm.locator("#members-0-annual_income").fill("25000,00")
    wilhelm.get_by_role("button", name="Haushalt speichern").click()
    expect(wilhelm.locator(".flash-area")).to_contain_text("Der Haushalt ist gespeichert.")
    _decide_step(wilhelm, url, "Auskunft eingegangen, zur Prüfung")
    _decide_step(wilhelm, url, "Nachweise vollständig, berechnen")
    wilhelm.goto(url)
    wilhelm.get_by_role("button", name="Berechnen", exact=True).click()
    expect(wilhelm.locator(".flash-area")).to_contain_text("Berechnet")
    computation = wilhelm.locator("section", has=wilhelm.get_by_role("heading", name="Berechnung", exact=True))
    # 1 person: limit 18.166 €; 25.000 € is 37,61 % over it → 30 %; 1991–2000, 50–80 m²: 5,42 € × 58 m²
    for text in ("Haushaltsgröße (Personen)", "25.000,00", "18.166,00", "21.799,20", "37,61", "30", "5,42",
                 "Sammelheizung", "1995", "58", "Tabellenstand", "fbag-default-1"):
        expect(computation).to_contain_text(text)
    assert_accessible(wilhelm)
    _decide_step(wilhelm, url, "Berechnet, zur Vier-Augen-Prüfung")

    # wilhelm computed it: the second check is refused to him, with the reason.
    wilhelm.goto(url)
    wilhelm.get_by_role("link", name=re.compile("^Zur Aufgabe")).click()
    task_url = wilhelm.url
    wilhelm.get_by_label("Ich habe die Unterlagen geprüft").check()
    wilhelm.get_by_role("button", name="Berechnung bestätigt, Bescheid erstellen", exact=True).click()
    expect(wilhelm.locator("main")).to_contain_text("Vier-Augen-Prinzip")
    assert_accessible(wilhelm)

    lena = sign_in(browser, live_server, "lena")
    lena.goto(task_url)
    assert_accessible(lena)
    decide(lena, "Berechnung bestätigt, Bescheid erstellen")
    lena.goto(url)
    notices = lena.locator("section", has=lena.get_by_role("heading", name="Bescheide"))
    expect(notices).to_contain_text("Festsetzungsbescheid")
    with lena.expect_download() as notice:
        notices.get_by_role("link", name=re.compile("^Bescheid herunterladen")).first.click()
    assert Path(notice.value.path()).read_bytes().startswith(b"%PDF")
    assert notice.value.suggested_filename.endswith(".pdf")
    assert_accessible(lena)
    lena.context.close()

    # An objection against the demo's running notice (Familie Yilmaz): recorded, then decided.
    running = f"/abgabe/vorgaenge/{_procedure_of(live_server, 'GWH-0012-03')}"
    wilhelm.goto(running)
    wilhelm.get_by_role("link", name="Widerspruch erfassen").click()
    assert_accessible(wilhelm)
    wilhelm.get_by_label("Eingang des Widerspruchs").fill(office_today().isoformat())
    wilhelm.get_by_label("Inhalt und Begründung").fill("Das Kindergeld wurde als Einkommen angerechnet.")
    wilhelm.get_by_role("button", name="Widerspruch erfassen").click()
    after = wilhelm.locator("section", has=wilhelm.get_by_role("heading", name="Nach dem Bescheid"))
    expect(after).to_contain_text("Das Kindergeld wurde als Einkommen angerechnet.")
    wilhelm.goto(running)
    wilhelm.get_by_role("link", name="Widerspruch entscheiden").click()
    assert_accessible(wilhelm)
    wilhelm.get_by_label("Entscheidung", exact=True).select_option("reject")
    wilhelm.get_by_label("Gründe der Entscheidung").fill("Kindergeld ist nicht angerechnet; die Berechnung stimmt.")
    wilhelm.get_by_role("button", name="Entscheidung erfassen").click()
    expect(wilhelm.locator(".flash-area")).to_contain_text("Nichtabhilfe")
    wilhelm.goto(running)
    expect(wilhelm.locator("main")).to_contain_text("nicht abgeholfen")
    wilhelm.context.close()
