"""The levy's after-notice pages (issue 14 points 6 and 7) through the test client with CSRF on: the objection
form shows the deadline and records a late objection flagged "verspätet"; the decision form remedies or forwards;
the §8 form asks for a change or cancels; the procedure page's section shows objections and the balance with
links to the forms; payments typed in and the cash office's CSV with its report; the arrears list. Auditors read
without forms, other units see nothing, and refused input comes back named at its field."""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask.testing import FlaskClient

from eakte.models import Procedure
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY, Town
from tests.levy_fixtures import (at_day, build_flat_procedure, build_levy_town, levy_actor, levy_runtime_at, members,
                                 run_to_running)
from tests.web.conftest import post_form

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

HEADER = "Buchungsnummer;Buchungsdatum;Betrag;Verwendungszweck\n"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, dt.datetime(2026, 4, 2, 9, tzinfo=dt.timezone.utc)) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_levy_town(rt)


@pytest.fixture
def pid(rt: Runtime, town: Town) -> int:
    _, procedure_id = build_flat_procedure(rt, levy_actor(rt, "wilhelm"), household=members("27000.00"))
    run_to_running(rt, procedure_id)
    return procedure_id


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, resp.status_code
    return resp.get_data(as_text=True)


def test_the_procedure_page_links_the_forms_and_shows_the_balance(signed_in: Any, pid: int) -> None:
    html = page(signed_in("wilhelm"), f"/abgabe/vorgaenge/{pid}")
    assert "Nach dem Bescheid" in html and "Frist bis 05.05.2026" in html
    assert f"/abgabe/vorgaenge/{pid}/widerspruch" in html and f"/abgabe/vorgaenge/{pid}/aenderung" in html
    assert "Rückstand" in html  # April is due, nothing paid
    auditor = page(signed_in("rita"), f"/abgabe/vorgaenge/{pid}")
    assert "Nach dem Bescheid" in auditor and f"/abgabe/vorgaenge/{pid}/widerspruch" not in auditor
    page(signed_in("rita"), f"/abgabe/vorgaenge/{pid}/widerspruch", 403)
    page(signed_in("anna"), f"/abgabe/vorgaenge/{pid}/widerspruch", 404)


def test_a_late_objection_is_recorded_and_flagged(signed_in: Any, pid: int) -> None:
    at_day("2026-05-07")
    client = signed_in("wilhelm")
    form = page(client, f"/abgabe/vorgaenge/{pid}/widerspruch")
    assert "05.05.2026" in form  # the deadline on the form
    path = f"/abgabe/vorgaenge/{pid}/widerspruch"
    resp = post_form(client, path, {"received_on": "2026-05-06", "grounds": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="grounds-error"' in html and "verspätet" in html  # the date typed is after the deadline
    resp = post_form(client, path, {"received_on": "06.05.2026", "grounds": "Einkommen falsch"})
    assert resp.status_code == 303
    html = page(client, f"/abgabe/vorgaenge/{pid}")
    assert "verspätet" in html and "Widerspruch entscheiden" in html and "Widerspruchsprüfung" in html


def test_deciding_the_objection(rt: Runtime, signed_in: Any, pid: int) -> None:
    from eakte.services.levy import objections
    entry = objections.file_objection(rt, levy_actor(rt, "wilhelm"), pid, dt.date(2026, 4, 2), "Einwände")
    client = signed_in("lena")
    path = f"/abgabe/widersprueche/{entry.id}/entscheidung"
    form = page(client, path)
    assert "Anhörungsausschuss des Kreises Musterkreis" in form  # the configured authority, prefilled
    resp = post_form(client, path, {"outcome": "reject", "note": "", "forwarded_to": ""})
    assert resp.status_code == 422 and 'id="note-error"' in resp.get_data(as_text=True)
    resp = post_form(client, path, {"outcome": "reject", "note": "Einkommen belegt", "forwarded_to": ""})
    assert resp.status_code == 303
    html = page(client, f"/abgabe/vorgaenge/{pid}")
    assert "nicht abgeholfen" in html and "Anhörungsausschuss des Kreises Musterkreis" in html
    assert "Laufende Abgabe" in html
    page(signed_in("anna"), path, 404)


def test_change_and_cancellation_forms(signed_in: Any, pid: int) -> None:
    client = signed_in("wilhelm")
    path = f"/abgabe/vorgaenge/{pid}/aenderung"
    assert "Wirksam ab" in page(client, path)
    resp = post_form(client, path, {"kind": "cancellation", "effective_from": "2026-10-15", "reason": "Auszug"})
    assert resp.status_code == 422 and 'id="effective_from-error"' in resp.get_data(as_text=True)
    resp = post_form(client, path, {"kind": "cancellation", "effective_from": "01.10.2026", "reason": "Auszug"})
    assert resp.status_code == 303
    show = f"/abgabe/vorgaenge/{pid}"
    html = page(client, show)
    # Applied for: the applicant sees it awaiting the second clerk, without a confirm button of their own.
    assert "Aufhebung beantragt" in html and "Auszug" in html and "Vorgang abgeschlossen" not in html
    assert f"{show}/aufhebung/bestaetigen" not in html and f"{show}/aufhebung/verwerfen" in html
    resp = post_form(client, f"{show}/aufhebung/bestaetigen", token_from=show)  # forced: refused, shown
    assert resp.status_code == 303
    assert "Vier-Augen-Prinzip" in page(client, show)
    colleague = signed_in("lena")
    assert f"{show}/aufhebung/bestaetigen" in page(colleague, show)
    assert post_form(colleague, f"{show}/aufhebung/bestaetigen", token_from=show).status_code == 303
    html = page(colleague, show)
    assert "Aufhebungsbescheid" in html and "Vorgang abgeschlossen" in html
    assert f"{show}/aenderung" not in html and "Aufhebung beantragt" not in html


def test_payments_form_import_and_arrears(rt: Runtime, signed_in: Any, pid: int) -> None:
    client = signed_in("wilhelm")
    path = f"/abgabe/vorgaenge/{pid}/zahlungen"
    resp = post_form(client, path, {"paid_on": "2026-04-02", "amount": "0"})
    assert resp.status_code == 422 and 'id="amount-error"' in resp.get_data(as_text=True)
    resp = post_form(client, path, {"paid_on": "2026-04-02", "amount": "100,00", "reference": "bar"})
    assert resp.status_code == 303
    html = page(client, path)
    assert "100,00" in html and "Sollstellung" in html
    with rt.db.read() as session:
        reference = session.get(Procedure, pid).reference
    csv = (HEADER + f"K-1;02.04.2026;55,10;FBA {reference}\nK-2;02.04.2026;1,00;ohne\n").encode()
    resp = post_form(client, "/abgabe/zahlungen", {"file": (io.BytesIO(csv), "kasse.csv")},
                     content_type="multipart/form-data")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "1 von 2 Zeilen gebucht" in html and "nicht zugeordnet" in html and "kein Aktenzeichen" in html
    bad = (HEADER + "K-3;morgen;1,00;x\n").encode()
    resp = post_form(client, "/abgabe/zahlungen", {"file": (io.BytesIO(bad), "kasse.csv")},
                     content_type="multipart/form-data", token_from="/abgabe/zahlungen")
    assert resp.status_code == 422 and "Zeile 2" in resp.get_data(as_text=True)
    twin = {"paid_on": "2026-04-01", "amount": "55,10"}  # K-1 typed in again: refused, with the box to say why not
    resp = post_form(client, path, twin)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and 'id="separate-error"' in html and "Buchung K-1" in html
    assert 'value="55,10"' in html  # what was typed stays in the form
    assert post_form(client, path, {**twin, "separate": "1"}).status_code == 303
    at_day("2026-05-10")
    html = page(signed_in("rita"), "/abgabe/rueckstaende")
    assert reference in html and "01.05.2026" in html
    assert "Zahlung erfassen" not in page(signed_in("rita"), path)
    page(signed_in("anna"), "/abgabe/rueckstaende", 403)
    resp = post_form(signed_in("rita"), "/abgabe/zahlungen", {"file": (io.BytesIO(csv), "kasse.csv")},
                     content_type="multipart/form-data")
    assert resp.status_code == 403


def test_a_payment_is_reversed_from_its_page_with_a_reason(rt: Runtime, signed_in: Any, pid: int) -> None:
    client = signed_in("wilhelm")
    path = f"/abgabe/vorgaenge/{pid}/zahlungen"
    assert post_form(client, path, {"paid_on": "2026-04-02", "amount": "300,00"}).status_code == 303
    html = page(client, path)
    link = html.split('href="/abgabe/zahlungen/', 1)[1].split('"', 1)[0]
    form = f"/abgabe/zahlungen/{link}"
    assert link.endswith("/storno") and "Stornieren" in html
    assert "300,00" in page(client, form)
    resp = post_form(client, form, {"reason": " "})
    assert resp.status_code == 422 and 'id="reason-error"' in resp.get_data(as_text=True)
    resp = post_form(client, form, {"reason": "dem falschen Vorgang gebucht"}, token_from=form)
    assert resp.status_code == 303
    html = page(client, path)
    assert "storniert" in html and "dem falschen Vorgang gebucht" in html and "<del>" in html
    assert f'href="{form}"' not in html  # nothing left to reverse
    resp = post_form(client, form, {"reason": "noch einmal"}, token_from=form)
    assert resp.status_code == 409 and "bereits storniert" in resp.get_data(as_text=True)
    page(signed_in("rita"), form, 403)  # the auditor sees the payments, not the form
    page(signed_in("anna"), form, 404)
