"""The trade register's pages (issue 13) through the test client: the clerk types a paper GewA 1 into the form
(German messages at the fields on bad input), the notification page links its open task, the steps are decided,
the business page shows the receipt, the transmissions and the history of a GewA 2, extracts come as PDFs (the
extended one refused without an interest), a GewA 3 closes the business; who may NOT: a clerk of another unit
submits nothing, a non-member sees neither the outbox nor the retrieval log."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from eakte.clock import set_clock
from eakte.runtime import Runtime
from tests.conftest import Town
from tests.helpers import pdf_bytes
from tests.trade_fixtures import add_trade_users, decide, mark_sent, outbox_runtime, walk_to_done
from tests.web.conftest import csrf_token, post_form

NOW = dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.timezone.utc)
FORM = "/gewerbe/anzeige/neu?art=anmeldung"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    runtime = outbox_runtime(tmp_path, db_url)
    yield runtime
    runtime.close()


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


@pytest.fixture
def office(rt: Runtime, town: Town) -> Town:
    add_trade_users(rt, town)  # heidi (approver) and hanna (head of unit) of the trade unit
    return town


def anmeldung_form(**overrides: Any) -> dict[str, Any]:
    """The form fields of a complete paper GewA 1 as a clerk types it (dates partly as TT.MM.JJJJ)."""
    data: dict[str, Any] = {
        "notification": "anmeldung", "person_rows": "2", "received_on": "2026-03-02", "effective_on": "01.03.2026",
        "reason": "neuerrichtung", "registered_name": "Feinkost Muster", "legal_form": "einzelunternehmen",
        "street": "Frankfurter Straße", "house_number": "12", "postal_code": "63263", "city": "Neu-Isenburg",
        "phone": "06102 123456", "email": "info@feinkost-muster.de",
        "persons-0-role": "owner", "persons-0-family_name": "Muster", "persons-0-given_names": "Erika",
        "persons-0-birth_date": "1980-04-12", "persons-0-birth_place": "Offenbach am Main",
        "persons-0-nationality": "de", "persons-0-street": "Bahnhofstraße", "persons-0-house_number": "3",
        "persons-0-postal_code": "63263", "persons-0-city": "Neu-Isenburg", "persons-1-role": "owner",
        "activity": "Einzelhandel mit Feinkost und Lebensmitteln", "activity_key": "47.29",
        "business_type": "handel", "part_time": "nein", "employees_full_time": "2", "employees_part_time": "1",
        "establishment": "hauptniederlassung", "handwerkskarte": "nein",
    }
    data.update(overrides)
    return data


def submit_form(client: FlaskClient, data: dict[str, Any], *, token_from: str = FORM, scan: bool = False) -> Any:
    body = {"csrf_token": csrf_token(client, token_from), **data}
    if scan:
        body["scan"] = (io.BytesIO(pdf_bytes("Gewerbeanmeldung", "Feinkost Muster")), "gewa1.pdf", "application/pdf")
    return client.post("/gewerbe/anzeige", data=body, content_type="multipart/form-data")


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _procedure_id(resp: Any) -> int:
    assert resp.status_code == 303, _text(resp)[:2000]
    match = re.search(r"/gewerbe/anzeigen/(\d+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def _business_id_of(client: FlaskClient, procedure_id: int) -> int:
    page = _text(client.get(f"/gewerbe/anzeigen/{procedure_id}"))
    return int(re.search(r'href="/gewerbe/(\d+)"', page).group(1))  # type: ignore[union-attr]


def test_the_form_renders_the_gewa_fieldsets_and_the_nav_shows_the_register(signed_in, office: Town) -> None:
    olga = signed_in("olga")
    page = _text(olga.get(FORM))
    for legend in ("Angaben zum Betrieb (Felder 1–2)", "Personen (Felder 3–13)", "Betriebsstätte (Felder 14–15)",
                   "Tätigkeit (Felder 18–27)", "Person 1", "Person 2", "Scan der Papieranzeige"):
        assert legend in page, legend
    assert 'name="persons-1-family_name"' in page and 'name="persons-2-family_name"' not in page
    assert 'value="34c"' in page  # the permits of the configured table
    assert ">Gewerberegister</a>" in page
    # "Weitere Person hinzufügen" adds a row and keeps what was typed; nothing is stored.
    resp = post_form(olga, "/gewerbe/anzeige", {**anmeldung_form(), "action": "add_person"}, token_from=FORM)
    assert resp.status_code == 200
    page = _text(resp)
    assert 'name="persons-2-family_name"' in page and 'value="Feinkost Muster"' in page
    assert "Keine Betriebe gefunden." in _text(olga.get("/gewerbe"))


def test_bad_input_comes_back_in_german_at_each_field(signed_in, office: Town) -> None:
    olga = signed_in("olga")
    resp = submit_form(olga, anmeldung_form(registered_name="", postal_code="6326", effective_on="32.13.2026",
                                            **{"persons-0-birth_date": "2020-01-01", "email": "kein-at"}))
    assert resp.status_code == 422
    page = _text(resp)
    expected = {"gewa-registered_name": "Bitte ausfüllen",
                "gewa-postal_code": "Bitte eine fünfstellige Postleitzahl angeben",
                "gewa-effective_on": "Bitte geben Sie das Datum als TT.MM.JJJJ an.",
                "gewa-persons-0-birth_date": "Die Person muss mindestens 14 Jahre alt sein",
                "gewa-email": "Bitte eine gültige E-Mail-Adresse angeben"}
    for control, message in expected.items():
        error = re.search(rf'<p class="kern-error" id="{control}-error">.*?</p>', page, re.S)
        assert error and message in error.group(0), control
        assert re.search(rf'id="{control}"[^>]*aria-invalid="true"', page, re.S), control
        assert f'href="#{control}"' in page  # the summary links to it
    assert "Person 1: Geburtsdatum: Die Person muss mindestens 14 Jahre alt sein" in page
    assert 'value="Frankfurter Straße"' in page  # what was typed stays
    # No person at all: the message stands at the persons' fieldset.
    empty = {k: v for k, v in anmeldung_form().items() if not k.startswith("persons-0-") or k.endswith("role")}
    page = _text(submit_form(olga, empty))
    assert re.search(r'id="gewa-persons-error">.*?mindestens eine Person', page, re.S)
    assert "Keine Betriebe gefunden." in _text(olga.get("/gewerbe"))  # nothing was stored


def test_a_clerk_of_another_unit_cannot_submit_and_non_members_see_no_outbox_or_log(signed_in, office: Town) -> None:
    anna = signed_in("anna")  # clerk of the Kämmerei (20)
    assert ">Gewerberegister</a>" not in _text(anna.get("/"))
    resp = submit_form(anna, anmeldung_form())
    assert resp.status_code == 403 and "Keine Berechtigung" in _text(resp)
    assert anna.get("/gewerbe/postausgang").status_code == 403
    assert anna.get("/gewerbe/abrufe").status_code == 403
    olga = signed_in("olga")
    assert "Keine Betriebe gefunden." in _text(olga.get("/gewerbe"))  # anna's attempt stored nothing
    assert olga.get("/gewerbe/postausgang").status_code == 200
    assert olga.get("/gewerbe/abrufe").status_code == 403  # the log is for spot checks, not the clerk's
    assert signed_in("heidi").get("/gewerbe/abrufe").status_code == 200
    rita = signed_in("rita")  # auditor: the register in the navigation, the log and the outbox
    assert ">Gewerberegister</a>" in _text(rita.get("/"))
    assert rita.get("/gewerbe/abrufe").status_code == 200 and rita.get("/gewerbe/postausgang").status_code == 200


def test_gewa_1_2_3_through_the_pages(signed_in, office: Town, client: FlaskClient, rt: Runtime) -> None:
    olga = signed_in("olga")
    auth = office.auth("olga")
    p1 = _procedure_id(submit_form(olga, anmeldung_form(), scan=True))
    page = _text(olga.get(f"/gewerbe/anzeigen/{p1}"))
    assert "Gewerbeanmeldung (GewA 1)" in page and "Papieranzeige, im Formular erfasst" in page
    assert re.search(r'href="/tasks/\d+"', page) and "Zur Aufgabe: Eingang" in page
    assert "Gewerbeanmeldung (GewA 1) (Scan)" in page  # the scan filed in the procedure
    case_id = _business_id_of(olga, p1)

    listing = _text(olga.get("/gewerbe?q=muster&status=pending&type=handel"))
    assert "Feinkost Muster" in listing and "1 Betrieb" in listing
    assert "Keine Betriebe gefunden." in _text(olga.get("/gewerbe?status=closed"))
    assert "Keine Betriebe gefunden." in _text(olga.get("/gewerbe?activity=Schlosser"))

    # The task page names the procedure and links back to the notification.
    task_id = int(re.search(r'href="/tasks/(\d+)"', page).group(1))  # type: ignore[union-attr]
    task_page = _text(olga.get(f"/tasks/{task_id}"))
    assert re.search(r"Vorgang.*?32\.10/\d+/2026-1", task_page, re.S)
    assert f'href="/gewerbe/anzeigen/{p1}"' in task_page

    walk_to_done(client, rt, auth, p1)
    business = _text(olga.get(f"/gewerbe/{case_id}"))
    assert "angemeldet" in business and "Ersteintragung" in business
    assert re.search(r'href="/documents/\d+">Empfangsbescheinigung', business)
    assert "IHK Offenbach am Main: versandt" in business and "ihk: versandt" not in business
    outbox_page = _text(olga.get("/gewerbe/postausgang?status=sent"))
    assert "IHK Offenbach am Main" in outbox_page and "Hessische Eichdirektion" in outbox_page
    assert "Handwerkskammer" not in outbox_page  # a Handel business: not the chamber of crafts'

    # GewA 2 from the business page: the business is preselected; only the changed fields are given.
    assert f"/gewerbe/anzeige/neu?art=ummeldung&amp;betrieb={case_id}" in business
    form_page = _text(olga.get(f"/gewerbe/anzeige/neu?art=ummeldung&betrieb={case_id}"))
    assert "Feinkost Muster" in form_page and 'name="business_id"' in form_page
    token_page = f"/gewerbe/anzeige/neu?art=ummeldung&betrieb={case_id}"
    p2 = _procedure_id(submit_form(olga, {"notification": "ummeldung", "betrieb": str(case_id), "person_rows": "2",
                                          "business_id": re.search(r'name="business_id" value="([^"]+)"',
                                                                   form_page).group(1),  # type: ignore[union-attr]
                                          "effective_on": "2026-03-03", "reason": "verlegung",
                                          "street": "Hugenottenallee", "house_number": "7"},
                                   token_from=token_page))
    walk_to_done(client, rt, auth, p2)
    business = _text(olga.get(f"/gewerbe/{case_id}"))
    assert 'id="entry-version-1"' in business and 'id="entry-version-2"' in business
    assert re.search(r"Straße:</span> Frankfurter Straße → Hugenottenallee", business)

    # Extracts: the simple one for anyone signed in, the extended one with requester and interest only.
    extract_page = f"/gewerbe/{case_id}/auskunft"
    resp = post_form(signed_in("anna"), extract_page, {"kind": "simple", "simple-purpose": "Bürgeranfrage"},
                     token_from="/gewerbe")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    resp = post_form(olga, extract_page, {"kind": "extended", "extended-requester": "Kanzlei Recht",
                                          "extended-requester_kind": "private"})
    assert resp.status_code == 422
    assert re.search(r'id="extended-interest-error">.*?berechtigte Interesse', _text(resp), re.S)
    resp = post_form(olga, extract_page, {"kind": "extended", "extended-requester": "Kanzlei Recht",
                                          "extended-requester_kind": "private",
                                          "extended-interest": "Forderung aus Mietvertrag, Titel liegt vor",
                                          "extended-reference": "AZ 12/26"})
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert "erweitert" in resp.headers["Content-Disposition"]
    log = _text(signed_in("heidi").get("/gewerbe/abrufe"))
    assert "Kanzlei Recht" in log and "Bürgeranfrage" in log and "2 Abrufe" in log
    # A clerk of another unit: the business's pages are the trade unit's (case visibility), the simple extract
    # anyone's (above), the extended one refused.
    anna = signed_in("anna")
    assert anna.get(extract_page).status_code == 404
    resp = post_form(anna, extract_page, {"kind": "extended", "extended-requester": "X", "extended-interest": "Y"},
                     token_from="/gewerbe")
    assert resp.status_code == 403
    heidi = signed_in("heidi")  # the unit's approver sees the page, but no extended form: that is the clerks'
    heidi_page = _text(heidi.get(extract_page))
    assert "erteilt nur die Sachbearbeitung" in heidi_page and 'name="extended-interest"' not in heidi_page

    # GewA 3 closes the business; after that no Um-/Abmeldung is offered.
    p3 = _procedure_id(submit_form(olga, {"notification": "abmeldung", "betrieb": str(case_id),
                                          "business_id": re.search(r'name="business_id" value="([^"]+)"',
                                                                   form_page).group(1),  # type: ignore[union-attr]
                                          "effective_on": "2026-03-04", "reason": "aufgabe"},
                                   token_from=f"/gewerbe/anzeige/neu?art=abmeldung&betrieb={case_id}"))
    for decision in ("accept", "complete", "register", "issued"):
        decide(client, auth, p3, decision)
    mark_sent(rt, p3)
    decide(client, auth, p3, "transmitted")
    business = _text(olga.get(f"/gewerbe/{case_id}"))
    assert "abgemeldet" in business and "Ummeldung erfassen" not in business
    assert "Feinkost Muster" in _text(olga.get("/gewerbe?status=closed"))


def test_hold_and_resume_on_the_notification_page(signed_in, office: Town, client: FlaskClient) -> None:
    olga = signed_in("olga")
    p1 = _procedure_id(submit_form(olga, anmeldung_form(activity="Immobilienmakler für Wohnungen",
                                                        activity_key="68.31")))
    page = _text(olga.get(f"/gewerbe/anzeigen/{p1}"))
    assert "Erlaubnis prüfen" in page and "34c" in page  # the permit the activity needs
    assert "Zurückstellen" not in page  # only in Prüfung
    decide(client, office.auth("olga"), p1, "accept")
    path = f"/gewerbe/anzeigen/{p1}"
    resp = post_form(olga, f"{path}/zurueckstellen", {"missing": "", "follow_up_on": "2026-03-20"}, token_from=path)
    assert resp.status_code == 422 and re.search(r'id="hold-missing-error">.*?fehlende Unterlage', _text(resp), re.S)
    resp = post_form(olga, f"{path}/zurueckstellen", {"missing": "Erlaubnis nach § 34c GewO",
                                                      "follow_up_on": "20.03.2026"}, token_from=path)
    assert resp.status_code == 303
    page = _text(olga.get(path))
    assert "zurückgestellt" in page and "Erlaubnis nach § 34c GewO" in page and "20.03.2026" in page
    # The clerk of another unit may see the register but not put it on hold or resume it.
    anna = signed_in("anna")
    assert post_form(anna, f"{path}/fortsetzen", {}, token_from="/gewerbe").status_code in (403, 404)
    resp = post_form(olga, f"{path}/fortsetzen", {}, token_from=path)
    assert resp.status_code == 303
    assert "Die Zurückstellung ist beendet" in _text(olga.get(path))


# --- review of the pages (helper trade13) ----------------------------------------------------------------------

def _entry_data(rt: Runtime, procedure_id: int) -> dict[str, Any]:
    from sqlalchemy import select
    from eakte.models import TradeEntry
    with rt.db.read() as session:
        entry = session.execute(select(TradeEntry).where(TradeEntry.procedure_id == procedure_id)).scalar_one()
        return dict(entry.data)


def _registered_business(olga: FlaskClient, client: FlaskClient, rt: Runtime, office: Town,
                         **form: Any) -> tuple[int, int, str]:
    """A GewA 1 typed in and walked to done: (case id, procedure id, business id)."""
    pid = _procedure_id(submit_form(olga, anmeldung_form(**form)))
    walk_to_done(client, rt, office.auth("olga"), pid)
    case_id = _business_id_of(olga, pid)
    found = re.search(r"GW-\d{4}-\d{5}", _text(olga.get(f"/gewerbe/{case_id}")))
    assert found
    return case_id, pid, found.group(0)


def test_a_business_case_offers_no_close_by_hand_and_refuses_it(signed_in, office: Town, client: FlaskClient,
                                                                rt: Runtime) -> None:
    olga = signed_in("olga")
    case_id, _pid, _bid = _registered_business(olga, client, rt, office)
    page = _text(olga.get(f"/cases/{case_id}"))
    assert f'href="/cases/{case_id}/close"' not in page and "Akte schließen (z.d.A.)" not in page
    close_page = _text(olga.get(f"/cases/{case_id}/close"))
    assert "schließt ihr Ablauf, nicht ein Schließen von Hand" in close_page
    assert f'action="/cases/{case_id}/close"' not in close_page  # no form to send
    resp = post_form(olga, f"/cases/{case_id}/close", {}, token_from=f"/cases/{case_id}")
    assert resp.status_code == 409 and "nur durch ihren Ablauf geschlossen" in _text(resp)
    with rt.db.read() as session:
        from eakte.models import Case
        assert session.get(Case, case_id).status == "open"  # type: ignore[union-attr]
    # A general case of anna's unit still has its close button.
    anna = office.auth("anna")
    general = client.post("/api/v1/cases", headers=anna, json={"file_plan_code": "20.30", "title": "Allgemein",
                                                               "unit": "20"}).get_json()
    assert f'href="/cases/{general["id"]}/close"' in _text(signed_in("anna").get(f"/cases/{general['id']}"))


def test_a_running_notification_procedure_offers_no_rename_or_close(signed_in, office: Town, client: FlaskClient,
                                                                    rt: Runtime) -> None:
    olga = signed_in("olga")
    pid = _procedure_id(submit_form(olga, anmeldung_form()))
    path = f"/procedures/{pid}"
    page = _text(olga.get(path))
    assert "Vorgang abschließen" not in page and "Umbenennen" not in page
    assert 'id="procedure-workflow-note"' in page
    for form in ({"status": "closed"}, {"title": "Irgendwas"}):
        resp = post_form(olga, path, form)
        assert resp.status_code == 303, _text(resp)[:500]
        assert "nicht von Hand abgeschlossen oder umbenannt werden" in _text(olga.get(path))
    with rt.db.read() as session:
        from eakte.models import Procedure
        procedure = session.get(Procedure, pid)
        assert procedure is not None and procedure.status == "open" and procedure.title != "Irgendwas"
    walk_to_done(client, rt, office.auth("olga"), pid)  # closed by its workflow: reopening is the clerk's again
    page = _text(olga.get(path))
    assert "Vorgang wieder öffnen" in page and 'id="procedure-workflow-note"' not in page


def test_step_labels_follow_the_page_language(signed_in, office: Town) -> None:
    olga = signed_in("olga")
    pid = _procedure_id(submit_form(olga, anmeldung_form()))
    case_id = _business_id_of(olga, pid)
    german = _text(olga.get(f"/gewerbe/anzeigen/{pid}"))
    assert "Zur Aufgabe: Eingang" in german and "Receipt of the notification" not in german
    assert "Receipt of the notification" not in _text(olga.get(f"/gewerbe/{case_id}"))
    post_form(olga, "/language", {"locale": "en", "next": "/"}, token_from="/")
    english = _text(olga.get(f"/gewerbe/anzeigen/{pid}"))
    assert '<html lang="en">' in english and "Receipt of the notification" in english
    assert re.search(r"<dd[^>]*>\s*Receipt of the notification", english)
    business = _text(olga.get(f"/gewerbe/{case_id}"))
    assert "Receipt of the notification" in business and ">\n          Eingang" not in business


def _submit_buttons(page: str) -> list[str]:
    form = re.search(r'<form method="post" action="/gewerbe/anzeige".*?</form>', page, re.S)
    assert form, "no notification form"
    return re.findall(r"<button[^>]*>", form.group(0))


def test_enter_in_the_notification_form_saves_rather_than_adding_a_person(signed_in, office: Town,
                                                                          rt: Runtime) -> None:
    olga = signed_in("olga")
    for page in (_text(olga.get(FORM)), _text(post_form(olga, "/gewerbe/anzeige",
                                                           {**anmeldung_form(), "action": "add_person"},
                                                           token_from=FORM))):
        buttons = [b for b in _submit_buttons(page) if 'type="submit"' in b]
        # Implicit submission (Enter in a field) uses the form's first submit button: the save one.
        assert 'name="action"' not in buttons[0] and 'tabindex="-1"' in buttons[0], buttons
        assert any('value="add_person"' in b for b in buttons[1:])
    # What that button sends (no "action") stores the notification.
    resp = submit_form(olga, anmeldung_form())
    assert _procedure_id(resp)


def test_the_notification_page_names_the_recipients(signed_in, office: Town, client: FlaskClient,
                                                    rt: Runtime) -> None:
    olga = signed_in("olga")
    _case_id, pid, _bid = _registered_business(olga, client, rt, office)
    page = _text(olga.get(f"/gewerbe/anzeigen/{pid}"))
    cells = re.findall(r'<td class="kern-table__cell">([^<]*)</td>', page)
    assert "IHK Offenbach am Main" in cells and "Hessische Eichdirektion" in cells
    assert not {"ihk", "eichamt", "statistik"} & set(cells), cells


def test_a_gewa_2_can_remove_every_permit(signed_in, office: Town, client: FlaskClient, rt: Runtime) -> None:
    olga = signed_in("olga")
    auth = office.auth("olga")
    case_id, p1, business_id = _registered_business(olga, client, rt, office, permits=["34c"])
    assert _entry_data(rt, p1)["permits"] == ["34c"]
    token_page = f"/gewerbe/anzeige/neu?art=ummeldung&betrieb={case_id}"
    form_page = _text(olga.get(token_page))
    assert 'name="permits_none"' in form_page and "Keine Erlaubnisse mehr" in form_page
    assert 'name="permits_none"' not in _text(olga.get(FORM))  # a GewA 1 without a box ticked has none anyway
    base = {"notification": "ummeldung", "betrieb": str(case_id), "person_rows": "0", "business_id": business_id,
            "reason": "sonstiges"}
    # Nothing ticked: the permits stay as entered.
    p2 = _procedure_id(submit_form(olga, {**base, "effective_on": "2026-03-02", "street": "Hugenottenallee"},
                                   token_from=token_page))
    walk_to_done(client, rt, auth, p2)
    assert _entry_data(rt, p2)["permits"] == ["34c"]
    # Both "none" and a permit: refused at the permits, nothing stored.
    resp = submit_form(olga, {**base, "effective_on": "2026-03-03", "permits": "34c", "permits_none": "1"},
                       token_from=token_page)
    assert resp.status_code == 422
    assert re.search(r'id="gewa-permits-error">.*?entweder Erlaubnisse an oder', _text(resp), re.S)
    assert 'id="gewa-permits_none" name="permits_none" value="1" checked' in _text(resp)  # kept as ticked
    # "Keine Erlaubnisse mehr": the entry holds none.
    p3 = _procedure_id(submit_form(olga, {**base, "effective_on": "2026-03-03", "permits_none": "1"},
                                   token_from=token_page))
    shown = _text(olga.get(f"/gewerbe/anzeigen/{p3}"))
    assert re.search(r"Erlaubnisse</dt>\s*<dd[^>]*>keine</dd>", shown)  # said, not left out
    walk_to_done(client, rt, auth, p3)
    assert _entry_data(rt, p3)["permits"] == []
    assert _entry_data(rt, p3)["street"] == "Hugenottenallee"  # the rest as the GewA 2 before left it


def test_an_implausible_date_comes_back_at_its_field(signed_in, office: Town) -> None:
    olga = signed_in("olga")
    for typed, message in (("01.03.1026", "vor dem 01.01.1900"), ("01.03.2028", "mehr als ein Jahr")):
        resp = submit_form(olga, anmeldung_form(effective_on=typed))
        assert resp.status_code == 422
        error = re.search(r'<p class="kern-error" id="gewa-effective_on-error">.*?</p>', _text(resp), re.S)
        assert error and message in error.group(0), typed
    assert "Keine Betriebe gefunden." in _text(olga.get("/gewerbe"))
