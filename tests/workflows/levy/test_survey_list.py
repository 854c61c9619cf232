"""Reading a landlord's list of flats (workflows.levy.survey_list): German or English headers, `;` or `,`, UTF-8
with or without BOM, decimal comma, Ofen/Sammelheizung; every bad line reported with its line, column and a German
message, all at once; duplicates, unknown columns, a missing column, an empty file and the size cap refused."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from workflows.levy.survey_list import (FlatListError, german_number, parse_flat_list, tenants_of, text_stream)

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "levy" / "landlord_list.csv"
GERMAN = "Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Lage;Wohnfläche;Baujahr;Heizung;Mietenstufe;Nettokaltmiete;Mieter\n"


def parse(text: str, **kw: object) -> list:  # type: ignore[type-arg]
    return parse_flat_list(io.StringIO(text), **kw)  # type: ignore[arg-type]


def problems(text: str) -> list[tuple[int, str | None, str]]:
    with pytest.raises(FlatListError) as caught:
        parse(text)
    return [(p.line, p.column, p.message_de) for p in caught.value.problems]


def test_the_sample_list_with_bom() -> None:
    raw = SAMPLE.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = parse_flat_list(text_stream(io.BytesIO(raw)))
    assert len(rows) == 6 and rows[0].line == 2
    assert rows[0].flat == {"flat_id": "GWH-0012-01", "street": "Goethestraße", "house_number": "12",
                            "postal_code": "12345", "city": "Musterstadt", "flat_number": "EG links",
                            "area_m2": "48.5", "build_year": 1972, "heating": "central", "mietenstufe": "I",
                            "net_rent": "310.00", "tenant_name": "Erika Mustermann"}
    assert rows[3].flat["heating"] == "stove"
    assert rows[1].tenants == ("Jana Beispiel", "Max Beispiel")
    assert rows[1].flat["tenant_name"] == "Jana Beispiel und Max Beispiel"


def test_english_field_names_commas_and_defaults() -> None:
    text = ("flat_id,street,house_number,postal_code,city,area_m2,build_year,heating,net_rent,tenant_name\n"
            'X-1,Parkweg,3a,12345,Musterstadt,"62,5",2012,central,"1.234,5",Eva Muster\n'
            "\n"
            "X-2,Parkweg,3a,12345,Musterstadt,55.25,1930,stove,,Udo Muster / Ina Muster\n")
    rows = parse(text, default_mietenstufe="III")
    assert [r.flat["area_m2"] for r in rows] == ["62.5", "55.25"]
    assert rows[0].flat["net_rent"] == "1234.50" and "net_rent" not in rows[1].flat
    assert all(r.flat["mietenstufe"] == "III" for r in rows)  # no column: the municipality's
    assert "flat_number" not in rows[0].flat
    assert rows[1].line == 4 and rows[1].tenants == ("Udo Muster", "Ina Muster")


def test_headers_with_units_and_other_spellings() -> None:
    text = ("Wohnungs-Nr.;Strasse;Hausnr.;Postleitzahl;Ort;Wohnfläche (m²);Baujahr;Heizungsart;Kaltmiete (€);"
            "Mieter/in;\n"
            "A;Weg;1;12345;Ort;50;1980;Zentralheizung;400;Eva Muster;\n")
    [row] = parse(text)
    assert row.flat["heating"] == "central" and row.flat["net_rent"] == "400.00"


def test_every_bad_line_is_reported_at_once() -> None:
    text = (GERMAN
            + "A-1;Weg;1;1234;Ort;;fünfzig;1700;Gas;VIII;-5;\n"
            + "A-2;Weg;2;12345;Ort;;60;1980;Ofen;I;400;Eva Muster\n"
            + "A-2;Weg;3;12345;Ort;;0;1980;Ofen;I;400;Udo Muster\n"
            + "A-3;Weg;4;12345;Ort;;60;1980;Ofen;I;400;Ina Muster\n"
            + "A-2;Weg;4;12345;Ort;;60;1980;Ofen;I;400;Ina Muster;zu viel\n")
    found = problems(text)
    assert found == [
        (2, "PLZ", "die Postleitzahl hat fünf Ziffern"),
        (2, "Wohnfläche", "erwartet: Dezimalzahl"),
        (2, "Baujahr", "das Baujahr muss zwischen 1800 und 2100 liegen"),
        (2, "Heizung", "unbekannte Heizungsart »Gas« (erlaubt: Ofen oder Sammelheizung)"),
        (2, "Mietenstufe", "unbekannte Mietenstufe »VIII« (erlaubt: I bis VII)"),
        (2, "Nettokaltmiete", "die Miete darf nicht negativ sein"),
        (2, "Mieter", "fehlt"),
        (4, "Wohnfläche", "die Wohnfläche muss größer als 0 m² sein"),
        (6, None, "13 Werte, die Kopfzeile hat aber 12 Spalten"),
    ]


def test_a_flat_listed_twice() -> None:
    text = GERMAN + "A-1;Weg;1;12345;Ort;;60;1980;Ofen;I;400;Eva\n" + "A-1;Weg;1;12345;Ort;;60;1980;Ofen;I;400;Udo\n"
    assert problems(text) == [(3, "Wohnungsnummer", "die Wohnung A-1 steht doppelt in der Liste (schon in Zeile 2)")]


def test_header_problems() -> None:
    found = problems("Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Flaeche;Baujahr;Mieter;Mieter\nA;B;1;12345;O;1;2;3;4\n")
    assert (1, "Flaeche", "unbekannte Spalte »Flaeche«") in found
    assert (1, "Mieter", "Spalte »Mieter« ist doppelt") in found
    assert (1, None, "die Spalte »Wohnfläche (m²)« fehlt") in found
    assert (1, None, "die Spalte »Heizung« fehlt") in found
    assert all(line == 1 for line, _, _ in found)  # the rows are not read against a broken header


def test_empty_files_and_the_size_cap() -> None:
    assert problems("") == [(1, None, "die Datei ist leer")]
    assert problems(GERMAN) == [(1, None, "die Liste enthält keine Wohnung")]
    rows = "".join(f"A-{i};Weg;1;12345;Ort;;60;1980;Ofen;I;400;Eva\n" for i in range(4))
    with pytest.raises(FlatListError) as caught:
        parse(GERMAN + rows, max_flats=3)
    [problem] = caught.value.problems
    assert problem.line == 5 and "mehr als 3 Wohnungen" in problem.message_de


def test_a_file_that_is_not_utf8() -> None:
    raw = (GERMAN + "A-1;Weg;1;12345;Ort;;60;1980;Ofen;I;400;Eva\n").encode() + "A-2;Straße".encode("latin-1")
    with pytest.raises(FlatListError) as caught:
        parse_flat_list(text_stream(io.BytesIO(raw)))
    assert "kein UTF-8-Text" in caught.value.problems[-1].message_de


def test_a_nul_character_is_refused_with_its_line() -> None:
    # PostgreSQL stores it in JSON metadata, and every `->>` on that row fails after (the levy list's search).
    text = GERMAN + "A-1;Weg;1;12345;Ort;;60;1980;Ofen;I;400;Eva\n" + "A-2;Weg;1;12345;Ort;;60;1980;Ofen;I;400;E\x00va\n"
    assert problems(text) == [(3, None, "die Zeile enthält ein unzulässiges Zeichen (NUL)")]


def test_numbers_and_names() -> None:
    assert [german_number(x) for x in ("62,5", "1.234,56", "62.5", " 48 ")] == ["62.5", "1234.56", "62.5", "48"]
    assert tenants_of("Jana und Max Beispiel") == ("Jana Beispiel", "Max Beispiel")
    assert tenants_of("Beispiel, Jana") == ("Beispiel, Jana",)
    assert tenants_of("Eva Muster & Udo Schulz") == ("Eva Muster", "Udo Schulz")
    assert tenants_of("") == ()
