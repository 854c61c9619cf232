"""The levy's central pages (issue 14) through the test client: the navigation entry for the levy unit, auditors
and admins only; the list with its step filter; a procedure's page with the household form (German messages at
the field, a row added without script), the evidence upload, the computation with every input after "Berechnen",
the notice with its PDF link and the task link; auditors read without forms, other units see nothing."""
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
from tests.conftest import SQLITE_ONLY, Town
from tests.levy_fixtures import (build_flat_procedure, build_levy_town, levy_actor, levy_decide, levy_runtime_at,
                                 levy_view, members, put_household)
from tests.web.conftest import post_form

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

NOW = dt.datetime(2026, 2, 10, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_levy_town(rt)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    set_clock(lambda: NOW)
    try:
        yield
    finally:
        set_clock(None)


@pytest.fixture
def pid(rt: Runtime, town: Town) -> int:
    return build_flat_procedure(rt, levy_actor(rt, "wilhelm"))[1]


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    resp = client.get(path)
    assert resp.status_code == status, resp.status_code
    return resp.get_data(as_text=True)


def household_form(*rows: dict[str, str], temporary: bool = False) -> dict[str, str]:
    data: dict[str, str] = {}
    for i, row in enumerate(rows):
        data.update({f"members-{i}-{k}": v for k, v in row.items()})
    if temporary:
        data["temporary_use"] = "1"
    return data


def test_the_navigation_entry_is_for_the_levy_unit_auditors_and_admins(signed_in: Any, pid: int) -> None:
    for name, shown in (("wilhelm", True), ("rita", True), ("admin", True), ("anna", False)):
        html = page(signed_in(name), "/")
        assert ('href="/abgabe"' in html) is shown, name


def test_the_list_filters_by_step(signed_in: Any, pid: int) -> None:
    wilhelm = signed_in("wilhelm")
    html = page(wilhelm, "/abgabe")
    assert f"/abgabe/vorgaenge/{pid}" in html and "Goethestraße 12" in html and "1 Vorgang" in html
    assert f"/abgabe/vorgaenge/{pid}" not in page(wilhelm, "/abgabe?schritt=berechnung")
    assert f"/abgabe/vorgaenge/{pid}" in page(wilhelm, "/abgabe?schritt=erhebung")
    assert f"/abgabe/vorgaenge/{pid}" not in page(wilhelm, "/abgabe?ueberfaellig=1")  # due 15.02., today 10.02.
    assert f"/abgabe/vorgaenge/{pid}" not in page(signed_in("anna"), "/abgabe")


def test_the_household_form_names_the_field_and_saves(signed_in: Any, pid: int, rt: Runtime) -> None:
    wilhelm = signed_in("wilhelm")
    path = f"/abgabe/vorgaenge/{pid}"
    html = page(wilhelm, path)
    assert 'id="members-0-name"' in html and "Haushalt speichern" in html and "Zur Aufgabe: Erhebung" in html
    task = re.search(r'href="(/tasks/\d+)"', html)
    assert task is not None and "Keine Auskunft" in page(wilhelm, task.group(1))  # the step's decisions
    # Another row, without script: the form comes back with a second person.
    resp = post_form(wilhelm, f"{path}/haushalt", {**household_form({"name": "Jana", "tenant": "1"}),
                                                   "action": "add_member"}, token_from=path)
    assert resp.status_code == 200 and 'id="members-1-name"' in resp.get_data(as_text=True)
    resp = post_form(wilhelm, f"{path}/haushalt", household_form(
        {"name": "Jana Beispiel", "tenant": "1", "annual_income": "-12", "birth_date": "01.05.1980"},
        {"name": "Kind", "child": "1", "benefit": "lotto"}), token_from=path)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert re.search(r'id="members-0-annual_income"[^>]*aria-invalid="true"', html, re.S) or \
        re.search(r'aria-invalid="true"[^>]*id="members-0-annual_income"', html, re.S) or \
        'id="members-0-annual_income-error"' in html
    assert "Jahreseinkommen: der Betrag darf nicht negativ sein" in html and 'href="#members-1-benefit"' in html
    assert 'value="Jana Beispiel"' in html  # what was typed stays
    resp = post_form(wilhelm, f"{path}/haushalt", household_form(
        {"name": "Jana Beispiel", "tenant": "1", "annual_income": "25.000,00".replace(".", ""),
         "birth_date": "01.05.1980"}), token_from=path)
    assert resp.status_code == 303
    html = page(wilhelm, path)
    assert 'value="25000,00"' in html and 'value="1980-05-01"' in html
    assert "Auskunft eingegangen am 10.02.2026" in html


def test_evidence_is_uploaded_on_the_page(signed_in: Any, pid: int) -> None:
    wilhelm = signed_in("wilhelm")
    path = f"/abgabe/vorgaenge/{pid}"
    from tests.web.conftest import csrf_token
    token = csrf_token(wilhelm, path)
    resp = wilhelm.post(f"{path}/nachweise", data={"csrf_token": token, "title": "Rentenbescheid 2025",
                                                    "file": (io.BytesIO(b"Rente 2025: 14.400,00 EUR\n"),
                                                             "rente.txt", "text/plain")},
                        content_type="multipart/form-data")
    assert resp.status_code == 303
    html = page(wilhelm, path)
    assert "Rentenbescheid 2025" in html and "Der Nachweis ist abgelegt." in html


def test_compute_shows_every_input_and_the_notice(signed_in: Any, pid: int, town: Town, client: Any) -> None:
    put_household(client, town.auth("wilhelm"), pid, members("25000"))
    levy_decide(client, town.auth("wilhelm"), pid, "answered")
    levy_decide(client, town.auth("wilhelm"), pid, "complete")
    wilhelm = signed_in("wilhelm")
    path = f"/abgabe/vorgaenge/{pid}"
    html = page(wilhelm, path)
    assert "Berechnen" in html and "Noch nicht berechnet." in html
    resp = post_form(wilhelm, f"{path}/berechnen", token_from=path)
    assert resp.status_code == 303
    html = page(wilhelm, path)
    for expected in ("Berechnung 1", "Haushaltsgröße (Personen)", "25.000,00", "18.166,00", "21.799,20", "37,61",
                     "Höchstbetrag je m² und Monat", "4,70", "84,60", "fbag-default-1",
                     "Standardwerte, von der Gemeinde noch nicht bestätigt", "Sammelheizung", "1985"):
        assert expected in html, expected
    levy_decide(client, town.auth("wilhelm"), pid, "computed")
    levy_decide(client, town.auth("lena"), pid, "confirm")
    html = page(wilhelm, path)
    assert "Festsetzungsbescheid" in html and "Bescheid herunterladen" in html
    link = re.search(r'href="(/documents/\d+/versions/1/download)"', html)
    assert link is not None
    resp = wilhelm.get(link.group(1))
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert "Berechnen</span>" not in html  # no compute button after Berechnung


def test_auditors_read_without_forms_and_other_units_see_nothing(signed_in: Any, pid: int) -> None:
    rita = signed_in("rita")
    path = f"/abgabe/vorgaenge/{pid}"
    html = page(rita, path)
    assert "Goethestraße" in html and 'id="members-0-name"' not in html and "Nachweis ablegen" not in html
    resp = post_form(rita, f"{path}/haushalt", household_form({"name": "X", "tenant": "1"}), token_from=path)
    assert resp.status_code == 403
    anna = signed_in("anna")
    page(anna, path, status=404)
    assert post_form(anna, f"{path}/berechnen", token_from="/abgabe").status_code == 404
    assert post_form(anna, f"{path}/haushalt", household_form({"name": "X", "tenant": "1"}),
                     token_from="/abgabe").status_code == 404


def test_the_task_page_shows_the_four_eyes_refusal_at_the_form(signed_in: Any, pid: int, town: Town,
                                                               client: Any) -> None:
    """The computing clerk confirming their own result on the task page: refused at the decision, not a 409 page."""
    put_household(client, town.auth("wilhelm"), pid, members("25000"))
    for decision in ("answered", "complete"):
        levy_decide(client, town.auth("wilhelm"), pid, decision)
    wilhelm = signed_in("wilhelm")
    assert post_form(wilhelm, f"/abgabe/vorgaenge/{pid}/berechnen", token_from=f"/abgabe/vorgaenge/{pid}"
                     ).status_code == 303
    levy_decide(client, town.auth("wilhelm"), pid, "computed")
    task_id = levy_view(client, town.auth("wilhelm"), pid)["open_task_id"]
    path = f"/tasks/{task_id}"
    resp = post_form(wilhelm, f"{path}/decide", {"decision": "confirm", "comment": "", "confirm": "1"},
                     token_from=path)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "Vier-Augen" in html and 'name="decision"' in html
    assert levy_view(client, town.auth("wilhelm"), pid)["open_task_id"] == task_id  # nothing decided
