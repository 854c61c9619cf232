"""The levy's computation (FBAG §§3, 5; HWoFG §5): pure functions on a household's inputs and a table version.

    limit      = L1 (1 person) | L2 + (n − 2) × P (n ≥ 2 persons, children count as persons) + children × K
    threshold  = limit × (100 + threshold_percent) / 100            (e.g. 27,561 € × 1.2 = 33,073.20 €)
    exceedance = (income − limit) / limit × 100  — exact for the band; shown with two decimals rounded down, so
                 a shown value never crosses a band's border
    rate       = the band's rate; below the threshold none; no answer → the highest band; exempt → 0
    monthly    = rate × min(Höchstbetrag per m² × area, cap per flat), rounded half up to cents

Every row comes from the table valid on the reference date (Stichtag). A row the table lacks (flats over 80 m²,
a Mietenstufe not loaded) is a LevyInputError naming the field, unless nothing is levied anyway."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from workflows.levy.tables import (AREA_CLASS_LABELS, BUILD_CLASS_LABELS, CENT, LevyTables, area_class,
                                   build_class)
from workflows.levy.terms import HEATING, MIETENSTUFEN

EXEMPTIONS = ("transfer_benefits", "temporary_use")
EXEMPTION_LABELS = {"transfer_benefits": "alle Bewohner beziehen Transferleistungen (z. B. Wohngeld, Bürgergeld)",
                    "temporary_use": "nur vorübergehende Nutzung (unter sechs Monaten)"}
OUTCOMES = ("levied", "below_threshold", "exempt", "no_answer")
REQUEST_FIELDS = ("household_size", "children", "annual_income", "area_m2", "build_year", "heating", "mietenstufe",
                  "reference_date", "answered", "exempt")
MAX_HOUSEHOLD = 30
MAX_AREA = Decimal(1000)
MAX_INCOME = Decimal(100_000_000)
_NUMBER = re.compile(r"\d+(\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ZERO = Decimal(0)


class LevyInputError(ValueError):
    """An input the computation cannot take (or a table row it lacks for it); `field` names the input."""

    def __init__(self, field: str, message: str, message_de: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.message_de = message_de


@dataclass(frozen=True)
class LevyInput:
    household_size: int
    children: int
    annual_income: Decimal | None
    area_m2: Decimal
    build_year: int
    heating: str
    mietenstufe: str
    reference_date: dt.date
    answered: bool = True
    exempt: str | None = None  # "transfer_benefits" | "temporary_use" | None

    def to_json(self) -> dict[str, Any]:
        return {"household_size": self.household_size, "children": self.children,
                "annual_income": _money(self.annual_income) if self.annual_income is not None else None,
                "area_m2": format(self.area_m2, "f"), "build_year": self.build_year, "heating": self.heating,
                "mietenstufe": self.mietenstufe, "reference_date": self.reference_date.isoformat(),
                "answered": self.answered, "exempt": self.exempt}


@dataclass(frozen=True)
class LevyResult:
    inputs: LevyInput
    limit: Decimal
    threshold: Decimal
    exceedance_percent: Decimal | None  # None without an income; two decimals, rounded down
    rate_percent: Decimal
    # None only when nothing is levied and the table has no row for the flat (e.g. over 80 m²)
    max_amount_per_m2: Decimal | None
    cap_per_flat: Decimal | None
    monthly_levy: Decimal
    table_version: str  # the table's label
    table_sha256: str
    build_class: str
    area_class: str
    outcome: str  # levied | below_threshold | exempt | no_answer
    explanation_de: str

    def to_json(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return _money(value) if value is not None else None
        return {"limit": _money(self.limit), "threshold": _money(self.threshold),
                "exceedance_percent": money(self.exceedance_percent), "rate_percent": _percent(self.rate_percent),
                "max_amount_per_m2": money(self.max_amount_per_m2), "cap_per_flat": money(self.cap_per_flat),
                "monthly_levy": _money(self.monthly_levy), "table_version": self.table_version,
                "table_sha256": self.table_sha256, "build_class": self.build_class, "area_class": self.area_class,
                "outcome": self.outcome, "explanation_de": self.explanation_de, "inputs": self.inputs.to_json()}


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")


def _percent(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _eur(value: Decimal) -> str:
    """German money: 33.073,20 €."""
    text = f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") + " €"


def _num(value: Decimal) -> str:
    """A German decimal without trailing zeros beyond what it has: 44,26 · 60 · 50,5."""
    return format(value, "f").replace(".", ",")


def _day(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def compute_levy(inp: LevyInput, tables: LevyTables) -> LevyResult:
    day = inp.reference_date
    limits = tables.income_limits_on(day)
    if limits is None:
        raise LevyInputError("reference_date", f"the table {tables.label} has no income limits for {day.isoformat()}",
                             f"Die Tabelle {tables.label} enthält keine Einkommensgrenzen für den Stichtag "
                             f"{_day(day)}")
    bands = tables.bands_on(day)
    if bands is None:
        raise LevyInputError("reference_date", f"the table {tables.label} has no bands for {day.isoformat()}",
                             f"Die Tabelle {tables.label} enthält keine Abgabestufen für den Stichtag {_day(day)}")
    n, kids = inp.household_size, inp.children
    if n == 1:
        limit = limits.one_person
        limit_de = f"1 Person: {_eur(limits.one_person)}"
    else:
        limit = limits.two_persons + (n - 2) * limits.per_further_person
        limit_de = f"{n} Personen: {_eur(limits.two_persons)}"
        if n > 2:
            limit_de += f" + {n - 2} × {_eur(limits.per_further_person)}"
    if kids:
        limit += kids * limits.per_child
        limit_de += f" + {kids} × {_eur(limits.per_child)} je Kind"
    if n > 1 or kids:
        limit_de += f" = {_eur(limit)}"
    # for display only: the band is chosen exactly (Bands.band_for), never from a rounded figure
    threshold = (limit * (100 + bands.threshold_percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    lines = [f"Einkommensgrenze am {_day(day)} für {limit_de}.",
             f"Abgabe ab {_percent(100 + bands.threshold_percent).replace('.', ',')} % der Grenze: "
             f"{_eur(threshold)}."]

    exceedance = None
    if inp.annual_income is not None:
        exceedance = ((inp.annual_income - limit) * 100 / limit).quantize(CENT, rounding=ROUND_FLOOR)

    b_class, a_class = build_class(inp.build_year, inp.heating), area_class(inp.area_m2)
    rows = tables.max_amounts_on(inp.mietenstufe, day)
    cell = rows.amounts.get((b_class, a_class)) if rows is not None else None

    if inp.exempt is not None:
        outcome, rate = "exempt", _ZERO
        lines.append(f"Keine Abgabe: {EXEMPTION_LABELS[inp.exempt]}.")
    elif not inp.answered:
        outcome, rate = "no_answer", bands.rates[-1].rate_percent
        lines.append(f"Keine Auskunft: Festsetzung nach der höchsten Stufe ({_percent(rate)} %).")
    else:
        assert inp.annual_income is not None and exceedance is not None  # parse_compute_request ensures it
        band = bands.band_for(inp.annual_income, limit)
        side = f"{_num(exceedance)} % über" if exceedance >= 0 else f"{_num(-exceedance)} % unter"
        lines.append(f"Das Einkommen von {_eur(inp.annual_income)} liegt {side} der Grenze.")
        if band is None:
            outcome, rate = "below_threshold", _ZERO
            lines.append(f"Keine Abgabe: weniger als {_percent(bands.threshold_percent)} % über der Grenze.")
        else:
            outcome, rate = "levied", band.rate_percent
            lines.append(f"Stufe ab {_percent(band.from_percent)} %: Abgabesatz {_percent(rate)} %.")

    if cell is None and outcome in ("levied", "no_answer"):
        if rows is None:
            raise LevyInputError("mietenstufe", f"the table {tables.label} has no maximum amounts for Mietenstufe "
                                                f"{inp.mietenstufe} on {day.isoformat()}",
                                 f"Die Tabelle {tables.label} enthält keine Höchstbeträge für die Mietenstufe "
                                 f"{inp.mietenstufe} (Stichtag {_day(day)}); die Gemeinde muss sie laden")
        raise LevyInputError("area_m2", f"the table {tables.label} has no maximum amount for flats "
                                        f"{a_class.replace('_', ' ')} m² (Mietenstufe {inp.mietenstufe})",
                             f"Die Tabelle {tables.label} enthält keinen Höchstbetrag für Wohnungen "
                             f"{AREA_CLASS_LABELS[a_class]} (Mietenstufe {inp.mietenstufe}); die Gemeinde muss "
                             "ihn laden")
    per_m2, cap = cell if cell is not None else (None, None)
    monthly = Decimal("0.00")
    if per_m2 is not None and cap is not None:
        amount = per_m2 * inp.area_m2
        base = min(amount, cap)
        lines.append(f"Höchstbetrag (Mietenstufe {inp.mietenstufe}, Baujahr {BUILD_CLASS_LABELS[b_class]}, "
                     f"{AREA_CLASS_LABELS[a_class]}): {_num(per_m2)} €/m² × {_num(inp.area_m2)} m² = {_eur(amount)}"
                     + (f", gekappt auf {_eur(cap)} je Wohnung." if amount > cap
                        else f" (Kappungsgrenze {_eur(cap)} je Wohnung)."))
        if rate:
            monthly = (rate * base / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            lines.append(f"Monatliche Abgabe: {_percent(rate)} % × {_eur(base)} = {_eur(monthly)}.")
    if not monthly:
        lines.append("Monatliche Abgabe: 0,00 €.")
    return LevyResult(inputs=inp, limit=limit, threshold=threshold, exceedance_percent=exceedance,
                      rate_percent=rate, max_amount_per_m2=per_m2, cap_per_flat=cap, monthly_levy=monthly,
                      table_version=tables.label, table_sha256=tables.sha256, build_class=b_class,
                      area_class=a_class, outcome=outcome, explanation_de=" ".join(lines))


# --- the calculator's request -------------------------------------------------------------------------------

def _int(payload: Mapping[str, Any], name: str, low: int, high: int, what_de: str) -> int:
    value = payload.get(name)
    if value is None:
        raise LevyInputError(name, "required", f"Bitte {what_de} angeben")
    if isinstance(value, str) and re.fullmatch(r"\d{1,9}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise LevyInputError(name, f"expected a whole number, got {value!r}", "Bitte eine ganze Zahl angeben")
    if not low <= value <= high:
        raise LevyInputError(name, f"must be between {low} and {high}",
                             f"Bitte eine Zahl von {low} bis {high} angeben")
    return value


def _dec(payload: Mapping[str, Any], name: str, what_de: str, *, high: Decimal, positive: bool) -> Decimal | None:
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (bool, float)):
        raise LevyInputError(name, "give the amount as a decimal string, e.g. \"45000.00\" (a float is not exact)",
                             f"Bitte {what_de} als Dezimalzahl angeben, z. B. \"45000.00\"")
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        raise LevyInputError(name, f"expected a decimal number like \"45000.00\", got {value!r}",
                             f"Bitte {what_de} als Dezimalzahl angeben, z. B. \"45000.00\"")
    number = Decimal(text)
    # The range first: quantizing a number of more than 28 digits raises instead of answering.
    if (positive and number <= 0) or number > high:
        raise LevyInputError(name, f"must be {'greater than 0' if positive else 'at least 0'} and at most {high}",
                             f"Bitte einen Wert {'über 0' if positive else 'ab 0'} bis höchstens {high} angeben")
    if number != number.quantize(CENT):
        raise LevyInputError(name, "at most two decimals", "Höchstens zwei Nachkommastellen")
    return number


def _choice(payload: Mapping[str, Any], name: str, choices: tuple[str, ...], what_de: str) -> str:
    value = payload.get(name)
    if value is None or value == "":
        raise LevyInputError(name, "required", f"Bitte {what_de} angeben")
    if value not in choices:
        raise LevyInputError(name, f"expected one of {', '.join(choices)}, got {value!r}",
                             f"Erlaubt: {', '.join(choices)}")
    return str(value)


def parse_compute_request(payload: Mapping[str, Any]) -> LevyInput:
    """The calculator's JSON (money and area as decimal strings); LevyInputError names the first bad field."""
    if not isinstance(payload, Mapping):
        raise LevyInputError("body", "expected a JSON object", "Erwartet wird ein JSON-Objekt")
    unknown = sorted(set(payload) - set(REQUEST_FIELDS))
    if unknown:
        raise LevyInputError(unknown[0], "unknown field", f"Unbekanntes Feld (erlaubt: {', '.join(REQUEST_FIELDS)})")
    size = _int(payload, "household_size", 1, MAX_HOUSEHOLD, "die Zahl der Haushaltsmitglieder")
    children = _int(payload, "children", 0, MAX_HOUSEHOLD, "die Zahl der Kinder") \
        if payload.get("children") is not None else 0
    if children >= size:
        raise LevyInputError("children", "children count as persons: at least one member must be an adult",
                             "Kinder zählen zum Haushalt: mindestens ein Mitglied muss erwachsen sein")
    answered = payload.get("answered", True)
    if answered is None:
        answered = True
    if not isinstance(answered, bool):
        raise LevyInputError("answered", "expected true or false", "Erwartet wird ja oder nein (true/false)")
    exempt = payload.get("exempt") or None
    if exempt is not None and exempt not in EXEMPTIONS:
        raise LevyInputError("exempt", f"expected one of {', '.join(EXEMPTIONS)} or null",
                             f"Erlaubt: {', '.join(EXEMPTIONS)} oder keine Angabe")
    income = _dec(payload, "annual_income", "das Jahreseinkommen", high=MAX_INCOME, positive=False)
    if income is None and answered and exempt is None:
        raise LevyInputError("annual_income", "required (unless the household did not answer)",
                             "Bitte das Jahreseinkommen des Haushalts angeben")
    area = _dec(payload, "area_m2", "die Wohnfläche", high=MAX_AREA, positive=True)
    if area is None:
        raise LevyInputError("area_m2", "required", "Bitte die Wohnfläche angeben")
    build_year = _int(payload, "build_year", 1800, 2100, "das Baujahr")
    heating = _choice(payload, "heating", HEATING, "die Heizungsart")
    mietenstufe = _choice(payload, "mietenstufe", MIETENSTUFEN, "die Mietenstufe")
    raw_day = payload.get("reference_date")
    if raw_day is None or raw_day == "":
        raise LevyInputError("reference_date", "required", "Bitte den Stichtag angeben")
    day = None
    if isinstance(raw_day, str) and _ISO_DATE.fullmatch(raw_day.strip()):
        try:
            day = dt.date.fromisoformat(raw_day.strip())
        except ValueError:
            day = None
    if day is None:
        raise LevyInputError("reference_date", f"expected a date YYYY-MM-DD, got {raw_day!r}",
                             "Bitte ein gültiges Datum angeben (JJJJ-MM-TT)")
    return LevyInput(household_size=size, children=children, annual_income=income, area_m2=area,
                     build_year=build_year, heating=heating, mietenstufe=mietenstufe, reference_date=day,
                     answered=answered, exempt=exempt)
