"""The levy calculator and table pages (issue 14) through the test client: the calculator renders with German
labels and the "to be confirmed" banner, computes the worked example from German input and shows every input and
figure, puts each refused input at its field; the table page lists the versions, admins load a TOML (text or
file) and confirm; who may NOT: a clerk of another unit sees neither page, a levy clerk loads and confirms
nothing."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from eakte.runtime import Runtime
from tests.conftest import SQLITE_ONLY, Town
from tests.levy_fixtures import build_levy_town, levy_runtime_at
from tests.web.conftest import csrf_token, post_form
from workflows.levy.tables import DEFAULT_FILE

# The levy's pages and API bodies are the same code on either database; the levy services' tests (survey,
# assessment, payments, objections) run on both.
pytestmark = SQLITE_ONLY

CALC, TABLES = "/abgabe/rechner", "/abgabe/tabellen"
BANNER = "Standardwerte – von der Gemeinde zu bestätigen"


@pytest.fixture
def rt(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    with levy_runtime_at(tmp_path, db_url) as runtime:
        yield runtime


@pytest.fixture
def town(rt: Runtime) -> Town:
    return build_levy_town(rt)


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def example(**change: str) -> dict[str, str]:
    """The worked example as a clerk types it (German number and date spelling)."""
    return {"household_size": "3", "children": "1", "annual_income": "50.000,00", "answered": "ja", "exempt": "",
            "area_m2": "60", "build_year": "1985", "heating": "central", "mietenstufe": "I",
            "reference_date": "01.01.2026", **change}


def _error_at(page: str, control: str) -> str:
    error = re.search(rf'<p class="kern-error" id="{control}-error">(.*?)</p>', page, re.S)
    assert error, control
    assert re.search(rf'id="{control}"[^>]*aria-invalid="true"', page, re.S), control
    assert f'href="#{control}"' in page
    return error.group(1)


def test_the_calculator_computes_the_worked_example(signed_in, town: Town) -> None:
    wilhelm = signed_in("wilhelm")
    page = _text(wilhelm.get(CALC))
    for label in ("Personen im Haushalt", "Jahreseinkommen des Haushalts (€)", "Wohnfläche (m²)", "Mietenstufe",
                  "Stichtag", "Sammelheizung", BANNER):
        assert label in page, label
    resp = post_form(wilhelm, CALC, example())
    assert resp.status_code == 200
    page = _text(resp)
    figures = {"limit": "34.659,00", "threshold": "41.590,80", "exceedance": "44,26 %", "rate": "55 %",
               "per-m2": "4,70", "cap": "361,00", "monthly": "155,10"}
    for key, text in figures.items():
        cell = re.search(rf'id="calc-result-{key}">(.*?)</td>', page, re.S)
        assert cell and text in cell.group(1), key
    for shown in ("50.000,00", "60 m² (über 50 bis 80 m²)", "1985 (1979 bis 1990)", "01.01.2026",
                  "fbag-default-1", "nicht bestätigt", "Abgabe wird erhoben"):
        assert shown in page, shown
    assert 'value="50.000,00"' in page  # what was typed stays


def test_refused_input_is_shown_at_its_field(signed_in, town: Town) -> None:
    wilhelm = signed_in("wilhelm")
    for change, control, message in [
        ({"area_m2": "0"}, "calc-area_m2", "über 0"),
        ({"area_m2": "95"}, "calc-area_m2", "über 80 m²"),
        ({"reference_date": "32.13.2026"}, "calc-reference_date", "gültiges Datum"),
        ({"annual_income": ""}, "calc-annual_income", "Jahreseinkommen"),
        ({"children": "3"}, "calc-children", "erwachsen"),
        ({"mietenstufe": "III"}, "calc-mietenstufe", "Mietenstufe III"),
    ]:
        resp = post_form(wilhelm, CALC, example(**change))
        assert resp.status_code == 422, change
        assert message in _error_at(_text(resp), control), change
    # no answer: no income needed, the highest band
    page = _text(post_form(wilhelm, CALC, example(annual_income="", answered="nein")))
    assert re.search(r'id="calc-result-monthly">.*?282,00', page, re.S)


def test_others_see_neither_page_and_auditors_compute(signed_in, town: Town) -> None:
    anna = signed_in("anna")  # a clerk of the Kämmerei
    assert anna.get(CALC).status_code == 403 and anna.get(TABLES).status_code == 403
    rita = signed_in("rita")  # the auditor
    assert post_form(rita, CALC, example()).status_code == 200
    assert 'name="toml"' not in _text(rita.get(TABLES))


def test_tables_page_admin_loads_and_confirms_a_clerk_may_not(signed_in, town: Town) -> None:
    wilhelm = signed_in("wilhelm")
    page = _text(wilhelm.get(TABLES))
    assert "fbag-default-1" in page and BANNER in page and "nicht bestätigt" in page
    assert 'name="toml"' not in page and "Bestätigen" not in page
    token = csrf_token(wilhelm, TABLES)
    assert wilhelm.post(TABLES, data={"csrf_token": token, "label": "x", "toml": "x"}).status_code == 403
    assert wilhelm.post(f"{TABLES}/standard/bestaetigen", data={"csrf_token": token}).status_code == 403

    admin = signed_in("admin")
    assert 'name="toml"' in _text(admin.get(TABLES))
    bad = post_form(admin, TABLES, {"label": "kaputt", "toml": "[[income_limits]\n"})
    assert bad.status_code == 422 and "kein gültiges TOML" in _error_at(_text(bad), "tables-toml")
    missing = post_form(admin, TABLES, {"label": "", "toml": DEFAULT_FILE.read_text(encoding="utf-8")})
    assert missing.status_code == 422 and _error_at(_text(missing), "tables-label")
    table = DEFAULT_FILE.read_text(encoding="utf-8").replace("per_child = 833", "per_child = 900")
    body = {"csrf_token": csrf_token(admin, TABLES), "label": "hessen-2026", "note": "Erlass", "toml": "",
            "file": (io.BytesIO(table.encode()), "tabelle.toml", "text/plain")}
    resp = admin.post(TABLES, data=body, content_type="multipart/form-data")
    assert resp.status_code == 303, _text(resp)[:2000]
    page = _text(admin.get(TABLES))
    assert "hessen-2026" in page and "Erlass" in page and BANNER in page
    resp = post_form(admin, f"{TABLES}/1/bestaetigen", token_from=TABLES)
    assert resp.status_code == 303
    page = _text(admin.get(TABLES))
    assert "Die Tabelle hessen-2026 ist bestätigt." in page and BANNER not in page
    # the calculator uses it: 3 persons with a child: 27,561 + 6,265 + 900 = 34,726.00
    page = _text(post_form(wilhelm, CALC, example()))
    assert re.search(r'id="calc-result-limit">.*?34.726,00', page, re.S) and "hessen-2026" in page
    assert BANNER not in page
