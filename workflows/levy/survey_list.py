"""A landlord's list of social rental flats (the survey's input), read as CSV: UTF-8 with or without BOM, `;` or
`,` separated, German headers (Wohnungsnummer;Straße;Hausnummer;PLZ;Ort;Lage;Wohnfläche;Baujahr;Heizung;
Mietenstufe;Nettokaltmiete;Mieter) or the case fields' names (flat_id, street, …, tenant_name); decimal comma
accepted, heating "Ofen"/"Sammelheizung" or stove/central.

Pure: the stream is read line by line (never whole), each row becomes the flat's case metadata plus its tenant(s),
and every bad line is reported with its line number, column and a German message — all problems at once, so a
list is corrected in one go (the survey stores nothing while any line is bad)."""
from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, BinaryIO, Iterator, TextIO

from workflows.fields import FieldError
from workflows.levy.case_type import FIELDS
from workflows.levy.terms import MIETENSTUFEN

# A survey run renders every letter in one transaction and keeps their pages for the print batch (~0.4 MB each):
# a list larger than this is split by the landlord's estates.
MAX_FLATS = 1000
MAX_PROBLEMS = 200  # a wholly wrong file would otherwise list every cell
TENANT = "tenant_name"
LANDLORD = "landlord"
# The fields' type checks without their bounds: _range_problem names a list's out-of-range value in the words of
# the list (the bounds themselves guard every other way a value is written).
_BY_NAME = {f.name: replace(f, minimum=None, maximum=None) for f in FIELDS}

# Header (lower case, spaces collapsed, a trailing "(m²)" or "(€)" dropped) → field name.
_HEADERS = {
    "wohnungsnummer": "flat_id", "wohnungs-nr.": "flat_id", "wohnungs-nr": "flat_id", "wohnung-nr": "flat_id",
    "wohnungsnr": "flat_id", "wohnungsnr.": "flat_id",
    "straße": "street", "strasse": "street", "hausnummer": "house_number", "hausnr.": "house_number",
    "hausnr": "house_number", "plz": "postal_code", "postleitzahl": "postal_code", "ort": "city", "stadt": "city",
    "lage": "flat_number", "lage/wohnung": "flat_number", "geschoss": "flat_number",
    "wohnfläche": "area_m2", "wohnflaeche": "area_m2", "fläche": "area_m2", "baujahr": "build_year",
    "heizung": "heating", "heizungsart": "heating", "mietenstufe": "mietenstufe",
    "nettokaltmiete": "net_rent", "kaltmiete": "net_rent", "miete": "net_rent",
    "mieter": TENANT, "mieterin": TENANT, "mieter/in": TENANT, "mieter/innen": TENANT, "mieter*in": TENANT,
    "vermieter": LANDLORD,
}
for _f in FIELDS:
    _HEADERS.setdefault(_f.name, _f.name)
    _HEADERS.setdefault(re.sub(r"\s*\(.*\)$", "", _f.label_de.lower()), _f.name)
_HEADERS["tenants"] = TENANT

_HEATING = {"ofen": "stove", "ofenheizung": "stove", "einzelofen": "stove", "stove": "stove",
            "sammelheizung": "central", "zentralheizung": "central", "zentral": "central", "fernwärme": "central",
            "etagenheizung": "central", "central": "central"}
# Required in every line (Lage, Nettokaltmiete, Mietenstufe may be empty; the municipality's Mietenstufe applies).
REQUIRED = ("flat_id", "street", "house_number", "postal_code", "city", "area_m2", "build_year", "heating", TENANT)
_TENANT_SPLIT = re.compile(r"\s*(?:/|&|\+|\bund\b)\s*")


@dataclass(frozen=True)
class ListProblem:
    line: int
    column: str | None  # the column as the file names it; None: the whole line or file
    message: str
    message_de: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message, "message_de": self.message_de}


class FlatListError(ValueError):
    """Every problem of the list (line by line), at most MAX_PROBLEMS."""

    def __init__(self, problems: list[ListProblem]) -> None:
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class FlatRow:
    line: int
    flat: dict[str, Any]        # the flat's case metadata (without the landlord, which the survey names)
    tenants: tuple[str, ...]    # who holds the tenancy: the household's first members

    @property
    def flat_id(self) -> str:
        return str(self.flat["flat_id"])


def text_stream(binary: BinaryIO) -> TextIO:
    """A binary upload as text: UTF-8, a BOM dropped, newlines left to the csv module."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _header_key(cell: str) -> str:
    key = re.sub(r"\s+", " ", cell.replace("\ufeff", "").strip().lower())
    return re.sub(r"\s*\((m²|m2|qm|€|eur|euro|monatlich)\)$", "", key)


def german_number(text: str) -> str:
    """"1.234,56" → "1234.56", "62,5" → "62.5"; a plain "62.5" stays."""
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in s:
        s = s.replace(".", "").replace(",", ".")
    return s


def tenants_of(text: str) -> tuple[str, ...]:
    """"Jana und Max Beispiel" is one household of two tenants, "Jana Beispiel" and "Max Beispiel": split on
    "und", "&", "/" and "+"; a lone given name takes the family name of the last one."""
    names = [n for n in (x.strip() for x in _TENANT_SPLIT.split(text or "")) if n]
    family = names[-1].split()[-1] if names and len(names[-1].split()) > 1 else None
    return tuple(f"{n} {family}" if family and len(n.split()) == 1 and n != names[-1] else n for n in names)


def _cell(field: str, raw: str, default_mietenstufe: str) -> tuple[Any, tuple[str, str] | None]:
    """The normalised value of one cell, or (None, (message, message_de))."""
    value: Any = raw.strip()
    if field == TENANT:
        names = tenants_of(value)
        if any(len(n) > 300 for n in names):
            return None, ("a name has more than 300 characters", "ein Name hat mehr als 300 Zeichen")
        return names, None
    if field == "heating" and value:
        key = value.lower()
        if key not in _HEATING:
            return None, (f"unknown heating {value!r} (Ofen or Sammelheizung)",
                          f"unbekannte Heizungsart »{value}« (erlaubt: Ofen oder Sammelheizung)")
        value = _HEATING[key]
    if field == "mietenstufe":
        value = (value or default_mietenstufe).upper()
        if value not in MIETENSTUFEN:
            return None, (f"unknown Mietenstufe {raw.strip()!r} (I to VII)",
                          f"unbekannte Mietenstufe »{raw.strip()}« (erlaubt: I bis VII)")
    if field in ("area_m2", "net_rent") and value:
        value = german_number(value)
    try:
        normalised = _BY_NAME[field].normalise(value)
    except FieldError as exc:
        return None, (exc.message, exc.message_de)
    return normalised, _range_problem(field, normalised)


def _range_problem(field: str, value: Any) -> tuple[str, str] | None:
    if value is None:
        return None
    if field == "area_m2" and not Decimal(value) > 0:
        return "the living area must be more than 0 m²", "die Wohnfläche muss größer als 0 m² sein"
    if field == "area_m2" and Decimal(value) > 1000:
        return "a living area over 1000 m² is not plausible", "eine Wohnfläche über 1000 m² ist nicht plausibel"
    if field == "net_rent" and Decimal(value) < 0:
        return "the rent cannot be negative", "die Miete darf nicht negativ sein"
    if field == "build_year" and not 1800 <= int(value) <= 2100:
        return "the build year must be between 1800 and 2100", "das Baujahr muss zwischen 1800 und 2100 liegen"
    if field == "postal_code" and not re.fullmatch(r"\d{5}", str(value)):
        return "the postal code has five digits", "die Postleitzahl hat fünf Ziffern"
    return None


class _Collector:
    def __init__(self) -> None:
        self.problems: list[ListProblem] = []

    def add(self, line: int, column: str | None, message: str, message_de: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ListProblem(line, column, message, message_de))

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS


def _rows(stream: TextIO, problems: _Collector) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of the file, the delimiter taken from its header line; a line that is not UTF-8
    ends the reading with a problem naming it."""
    line_no = 0
    try:
        first = stream.readline()
        while first and not first.strip():
            line_no += 1
            first = stream.readline()
        if not first:
            return
        delimiter = ";" if first.count(";") >= first.count(",") else ","
        reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter)
        for cells in reader:
            line_no = reader.line_num
            if any("\x00" in c for c in cells):  # never meant, and PostgreSQL cannot store it in text or JSON
                problems.add(line_no, None, "the line holds a NUL character",
                             "die Zeile enthält ein unzulässiges Zeichen (NUL)")
                return
            yield line_no, cells
    except UnicodeDecodeError:
        problems.add(line_no + 1, None, "the file is not UTF-8 text",
                     "die Datei ist kein UTF-8-Text (bitte als CSV UTF-8 speichern)")
    except csv.Error as exc:
        problems.add(line_no + 1, None, f"not readable as CSV ({exc})", "die Zeile ist kein gültiges CSV")


def parse_flat_list(stream: TextIO, *, default_mietenstufe: str = "I", max_flats: int = MAX_FLATS) -> list[FlatRow]:
    """The flats of the list, in its order; raises FlatListError with every problem."""
    problems = _Collector()
    rows: list[FlatRow] = []
    columns: list[tuple[str, str | None]] = []  # (header as written, field or None)
    seen: dict[str, int] = {}
    header_line = 0
    for line, cells in _rows(stream, problems):
        if not any(c.strip() for c in cells):
            continue
        if not columns:
            header_line = line
            columns = _columns(line, cells, problems)
            if problems.problems:
                break
            continue
        if len(rows) >= max_flats:
            problems.add(line, None, f"more than {max_flats} flats in one list",
                         f"mehr als {max_flats} Wohnungen in einer Liste; bitte die Liste aufteilen")
            break
        row = _row(line, cells, columns, default_mietenstufe, problems)
        if row is None:
            if problems.full:
                break
            continue
        first = seen.get(row.flat_id)
        if first is not None:
            problems.add(line, _written(columns, "flat_id"), f"flat {row.flat_id} is listed twice (line {first})",
                         f"die Wohnung {row.flat_id} steht doppelt in der Liste (schon in Zeile {first})")
            continue
        seen[row.flat_id] = line
        rows.append(row)
    if not columns and not problems.problems:
        problems.add(1, None, "the file is empty", "die Datei ist leer")
    elif columns and not rows and not problems.problems:
        problems.add(header_line, None, "the list holds no flat", "die Liste enthält keine Wohnung")
    if problems.problems:
        raise FlatListError(problems.problems)
    return rows


def _written(columns: list[tuple[str, str | None]], field: str) -> str:
    return next((written for written, f in columns if f == field), field)


def _columns(line: int, cells: list[str], problems: _Collector) -> list[tuple[str, str | None]]:
    columns: list[tuple[str, str | None]] = []
    taken: set[str] = set()
    for cell in cells:
        written = cell.replace("\ufeff", "").strip()
        field = _HEADERS.get(_header_key(cell))
        if not written:
            columns.append((written, None))  # a trailing empty column (a spreadsheet's last ";")
            continue
        if field is None:
            problems.add(line, written, f"unknown column {written!r}", f"unbekannte Spalte »{written}«")
        elif field in taken:
            problems.add(line, written, f"column {written!r} given twice", f"Spalte »{written}« ist doppelt")
        else:
            taken.add(field)
        columns.append((written, field))
    for field in REQUIRED:
        if field not in taken:
            label = "Mieter" if field == TENANT else _BY_NAME[field].label_de
            problems.add(line, None, f"the column {field} is missing", f"die Spalte »{label}« fehlt")
    return columns


def _row(line: int, cells: list[str], columns: list[tuple[str, str | None]], default_mietenstufe: str,
         problems: _Collector) -> FlatRow | None:
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
        problems.add(line, None, f"{len(cells)} cells, the header has {len(columns)} columns",
                     f"{len(cells)} Werte, die Kopfzeile hat aber {len(columns)} Spalten")
        return None
    values: dict[str, Any] = {}
    bad = False
    for (written, field), raw in itertools.zip_longest(columns, cells[:len(columns)], fillvalue=""):
        if field is None or field == LANDLORD:
            continue
        value, problem = _cell(field, raw or "", default_mietenstufe)
        if problem is None and field in REQUIRED and value in (None, "", ()):
            problem = ("missing", "fehlt")
        if problem is not None:
            problems.add(line, written, problem[0], problem[1])
            bad = True
        elif value not in (None, "", ()):
            values[field] = value
    if "mietenstufe" not in values and not bad:
        values["mietenstufe"] = default_mietenstufe
    if bad:
        return None
    tenants = tuple(values.pop(TENANT))
    flat = {**values, TENANT: " und ".join(tenants)[:300]}
    return FlatRow(line, flat, tenants)
