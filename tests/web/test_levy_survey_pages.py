"""The survey pages (issue 14 point 2) through the test client: a levy clerk uploads the landlord's list with the
dates, lands on the run's page with its households, their step and letters, downloads the print batch and sends
the reminders; a field the browser sent wrong is shown at its control, the list's bad lines are listed and
nothing is stored. Who may NOT: a clerk of another unit sees no survey page, an auditor reads but has no form."""
from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import func, select

from eakte.clock import set_clock
from eakte.models import LevySurvey
from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY, Town
from tests.levy_fixtures import build_levy_town, levy_runtime_at
from tests.web.conftest import post_form

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "levy" / "landlord_list.csv"
NEW = "/abgabe/erhebungen/neu"
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url, NOW) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_levy_town(rt)


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _upload(client: Any, content: bytes | None = None, **over: str) -> Any:
    data: dict[str, Any] = {"landlord": "GWH Musterstadt", "reference_date": "01.01.2026",
                            "period_start": "2026-07-01", "period_months": "36", "deadline": "", **over}
    data["file"] = (io.BytesIO(content if content is not None else SAMPLE.read_bytes()), "liste.csv")
    return post_form(client, NEW, data, content_type="multipart/form-data")


def test_a_clerk_runs_a_survey_and_sees_its_households(signed_in: Any, town: Town) -> None:
    wilhelm = signed_in("wilhelm")
    form = _text(wilhelm.get(NEW))
    for label in ("Liste des Vermieters (CSV)", "Vermieter", "Stichtag", "Beginn des Leistungszeitraums",
                  "Antwortfrist", "Erhebung durchführen"):
        assert label in form, label
    response = _upload(wilhelm)
    assert response.status_code == 303, _text(response)[:2000]
    page = _text(wilhelm.get(response.headers["Location"]))
    assert "6 Haushalte angeschrieben" in page and "GWH Musterstadt" in page
    assert page.count("Erhebungsschreiben") >= 6 and "Jana Beispiel, Max Beispiel" in page
    assert "30.03.2026" in page and "01.07.2026 – 30.06.2029" in page
    letter = re.search(r'href="(/documents/\d+/versions/1/download)"', page).group(1)
    assert wilhelm.get(letter).mimetype == "application/pdf"
    batch_link = re.search(r'href="(/abgabe/erhebungen/\d+/druckstapel)"', page).group(1)
    batch = wilhelm.get(batch_link)
    assert batch.status_code == 200 and batch.mimetype == "application/pdf" and batch.data.startswith(b"%PDF")
    listing = _text(wilhelm.get("/abgabe/erhebungen"))
    assert "GWH Musterstadt" in listing and "Neue Erhebung" in listing and "Erinnerungen versenden" in listing


def test_reminders_from_the_page(signed_in: Any, town: Town) -> None:
    lena = signed_in("lena")
    location = _upload(lena).headers["Location"]
    survey_id = location.rsplit("/", 1)[-1]
    sent = post_form(lena, "/abgabe/erhebungen/erinnerungen", {"survey_id": survey_id}, token_from=location)
    assert sent.status_code == 303 and "Keine Erinnerung fällig" in _text(lena.get(sent.headers["Location"]))
    set_clock(lambda: NOW + dt.timedelta(days=29))
    lena = signed_in("lena")  # a month on: the session has expired
    assert "Frist überschritten" in _text(lena.get(location))
    sent = post_form(lena, "/abgabe/erhebungen/erinnerungen", {"survey_id": survey_id}, token_from=location)
    page = _text(lena.get(sent.headers["Location"]))
    assert "6 Erinnerungen versandt" in page and page.count(">Erinnerung<") == 6 and "14.04.2026" in page


def test_field_errors_and_list_errors_are_shown(signed_in: Any, town: Town, rt: Runtime) -> None:
    wilhelm = signed_in("wilhelm")
    page = _text(_upload(wilhelm, period_start="2026-07-15", landlord=""))
    assert 'id="survey-landlord-error"' in page and "Bitte angeben." in page
    page = _text(_upload(wilhelm, period_start="2026-07-15"))
    assert 'id="survey-period_start-error"' in page and "Ersten eines Monats" in page
    page = _text(_upload(wilhelm, reference_date="32.13.2026"))
    assert 'id="survey-reference_date-error"' in page and "TT.MM.JJJJ" in page
    bad = ("Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Wohnfläche;Baujahr;Heizung;Mieter\n"
           "A-1;Weg;1;12345;Ort;50;1980;Gas;Eva Muster\n"
           "A-2;Weg;2;123;Ort;50;1980;Ofen;Udo Muster\n").encode()
    response = _upload(wilhelm, content=bad)
    assert response.status_code == 422
    page = _text(response)
    assert "Die Liste enthält Fehler; es wurde nichts gespeichert." in page
    assert "Zeile 2, Spalte Heizung: unbekannte Heizungsart »Gas«" in page
    assert "Zeile 3, Spalte PLZ: die Postleitzahl hat fünf Ziffern" in page
    assert 'value="GWH Musterstadt"' in page  # what was typed stays
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(LevySurvey)).scalar() == 0


def test_who_sees_what(signed_in: Any, town: Town) -> None:
    location = _upload(signed_in("wilhelm")).headers["Location"]
    anna = signed_in("anna")
    for path in ("/abgabe/erhebungen", location, location + "/druckstapel"):
        assert anna.get(path).status_code == 404, path
    assert anna.get(NEW).status_code == 403
    rita = signed_in("rita")
    page = _text(rita.get(location))
    assert rita.get(location).status_code == 200 and "Erinnerungen versenden" not in page
    assert "Neue Erhebung" not in _text(rita.get("/abgabe/erhebungen"))
    assert rita.get(NEW).status_code == 403
