"""The levy's dated tables (FBAG, HWoFG §5, Höchstbetragsverordnung): income limits, the bands of exceedance with
their rates, and the maximum amounts (Höchstbeträge) by Mietenstufe × build-year class × area class. Pure: no
database. A table is configuration the municipality writes as TOML; its JSON form (`LevyTables.to_json`) is what
a stored version keeps and what its sha256 is taken of, so a notice can always name the exact table it used.

TOML format (the built-in default is workflows/levy/default_tables.toml). Numbers are exact decimals: write
them as TOML numbers (read with `parse_tables_toml`, which never turns them into binary floats) or as strings.
A row holds from `valid_from` until the day before the next row's `valid_from`; one row of a series may leave
`valid_from` out (valid since ever, e.g. "until 2016-12-31"). Money has at most two decimals::

    [[income_limits]]                 # §5 HWoFG: the household's income limit
    valid_from = 2023-01-01
    one_person = 18166                # L1: one person
    two_persons = 27561               # L2: two persons
    per_further_person = 6265         # P: each further person (children count as persons)
    per_child = 833                   # K: each child, on top

    [[bands]]                         # exceedance of the limit in percent → rate of the levy in percent
    valid_from = 2016-07-01
    threshold_percent = 20            # below: no levy (the first band must start here)
    rates = [{from_percent = 20, rate_percent = 30}, {from_percent = 40, rate_percent = 55},
             {from_percent = 60, rate_percent = 80}, {from_percent = 80, rate_percent = 100}]

    [[max_amounts]]                   # Höchstbeträge of one Mietenstufe: per m² and month, and the cap per flat
    mietenstufe = "I"
    valid_from = 2016-07-01
    # the columns: to_1948_stove, to_1948_central, 1949_1978, 1979_1990, 1991_2000, 2001_2010, from_2011
    to_50 = {per_m2 = [4.86, 6.06, 5.60, 5.80, 6.69, 8.15, 9.57], cap = [197, 245, 227, 235, 271, 330, 388]}
    50_80 = {per_m2 = [3.93, 4.91, 4.53, 4.70, 5.42, 6.60, 7.75], cap = [302, 377, 348, 361, 416, 507, 596]}
    # over_80 = {...}                 # an area class left out cannot be computed (a clear error)
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping, TypeVar

from workflows.levy.terms import HEATING, MIETENSTUFEN

BUILD_CLASSES = ("to_1948_stove", "to_1948_central", "1949_1978", "1979_1990", "1991_2000", "2001_2010",
                 "from_2011")
AREA_CLASSES = ("to_50", "50_80", "over_80")  # ≤ 50 m²; > 50 to ≤ 80 m²; > 80 m²
BUILD_CLASS_LABELS = {"to_1948_stove": "bis 1948, Ofenheizung", "to_1948_central": "bis 1948, Sammelheizung",
                      "1949_1978": "1949 bis 1978", "1979_1990": "1979 bis 1990", "1991_2000": "1991 bis 2000",
                      "2001_2010": "2001 bis 2010", "from_2011": "ab 2011"}
AREA_CLASS_LABELS = {"to_50": "bis 50 m²", "50_80": "über 50 bis 80 m²", "over_80": "über 80 m²"}
DEFAULT_LABEL = "fbag-default-1"
DEFAULT_FILE = Path(__file__).resolve().parent / "default_tables.toml"
CENT = Decimal("0.01")
_FIFTY, _EIGHTY = Decimal(50), Decimal(80)
_NUMBER = re.compile(r"\d+(\.\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def build_class(build_year: int, heating: str) -> str:
    """The build-year column of the Höchstbeträge; up to 1948 split by the heating (Ofen- or Sammelheizung)."""
    if heating not in HEATING:
        raise ValueError(f"heating must be one of {', '.join(HEATING)}, got {heating!r}")
    if build_year <= 1948:
        return f"to_1948_{heating}"
    for last, key in ((1978, "1949_1978"), (1990, "1979_1990"), (2000, "1991_2000"), (2010, "2001_2010")):
        if build_year <= last:
            return key
    return "from_2011"


def area_class(area_m2: Decimal) -> str:
    """≤ 50 m² → to_50; over 50 up to 80 m² → 50_80; over 80 m² → over_80 (50.00 is still the small class)."""
    if area_m2 <= _FIFTY:
        return "to_50"
    return "50_80" if area_m2 <= _EIGHTY else "over_80"


class TablesError(ValueError):
    """A table that cannot be used; `path` names the place, e.g. "max_amounts[0].to_50.cap[3]"."""

    def __init__(self, path: str, message: str, message_de: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.message_de = message_de


@dataclass(frozen=True)
class IncomeLimits:
    valid_from: dt.date | None
    one_person: Decimal
    two_persons: Decimal
    per_further_person: Decimal
    per_child: Decimal


@dataclass(frozen=True)
class Band:
    from_percent: Decimal  # this band applies from this exceedance on (inclusive) to the next band's start
    rate_percent: Decimal


@dataclass(frozen=True)
class Bands:
    valid_from: dt.date | None
    threshold_percent: Decimal
    rates: tuple[Band, ...]  # ascending; the last is the highest band (also for a household that gave no answer)

    def band_for(self, income: Decimal, limit: Decimal) -> Band | None:
        """The band of an exceedance, compared exactly: (income − limit) × 100 ≥ from × limit (no rounding)."""
        excess = (income - limit) * 100
        chosen = None
        for band in self.rates:
            if excess >= band.from_percent * limit:
                chosen = band
        return chosen


@dataclass(frozen=True)
class MaxAmounts:
    valid_from: dt.date | None
    mietenstufe: str
    # (build class, area class) → (Höchstbetrag per m² and month, cap per flat and month)
    amounts: Mapping[tuple[str, str], tuple[Decimal, Decimal]] = field(default_factory=dict)


_Row = TypeVar("_Row", IncomeLimits, Bands, MaxAmounts)


def _on(rows: tuple[_Row, ...], day: dt.date) -> _Row | None:
    """The row valid on `day`: the latest whose valid_from is not after it (None: since ever)."""
    chosen = None
    for row in rows:  # sorted ascending, the open-start row first
        if row.valid_from is None or row.valid_from <= day:
            chosen = row
    return chosen


@dataclass(frozen=True)
class LevyTables:
    label: str
    income_limits: tuple[IncomeLimits, ...]
    bands: tuple[Bands, ...]
    max_amounts: tuple[MaxAmounts, ...]

    def income_limits_on(self, day: dt.date) -> IncomeLimits | None:
        return _on(self.income_limits, day)

    def bands_on(self, day: dt.date) -> Bands | None:
        return _on(self.bands, day)

    def max_amounts_on(self, mietenstufe: str, day: dt.date) -> MaxAmounts | None:
        return _on(tuple(r for r in self.max_amounts if r.mietenstufe == mietenstufe), day)

    def mietenstufen(self) -> tuple[str, ...]:
        return tuple(m for m in MIETENSTUFEN if any(r.mietenstufe == m for r in self.max_amounts))

    def to_json(self) -> dict[str, Any]:
        """The content (not the label) in the TOML's shape, decimals and dates as strings: parse_tables(it, label)
        gives the same tables back."""
        def day(d: dt.date | None) -> dict[str, str]:
            return {"valid_from": d.isoformat()} if d is not None else {}

        return {
            "income_limits": [{**day(r.valid_from), "one_person": _text(r.one_person),
                               "two_persons": _text(r.two_persons), "per_further_person": _text(r.per_further_person),
                               "per_child": _text(r.per_child)} for r in self.income_limits],
            "bands": [{**day(b.valid_from), "threshold_percent": _text(b.threshold_percent),
                       "rates": [{"from_percent": _text(x.from_percent), "rate_percent": _text(x.rate_percent)}
                                 for x in b.rates]} for b in self.bands],
            "max_amounts": [{**day(m.valid_from), "mietenstufe": m.mietenstufe,
                             **{a: {"per_m2": [_text(m.amounts[(c, a)][0]) for c in BUILD_CLASSES],
                                    "cap": [_text(m.amounts[(c, a)][1]) for c in BUILD_CLASSES]}
                                for a in AREA_CLASSES if (BUILD_CLASSES[0], a) in m.amounts}}
                            for m in self.max_amounts],
        }

    @property
    def sha256(self) -> str:
        """Of the canonical JSON of the content: equal tables have equal hashes, whatever their label."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _text(value: Decimal) -> str:
    return format(value, "f")


# --- reading ------------------------------------------------------------------------------------------------

def _decimal(value: Any, path: str, *, money: bool, positive: bool = True) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float):
        raise TablesError(path, "a binary float is not exact: give the number as a string, or read the TOML with "
                                "parse_tables_toml",
                          "Eine Gleitkommazahl ist nicht exakt: bitte als Zeichenkette angeben")
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        raise TablesError(path, f"expected a decimal number, got {value!r}",
                          f"erwartet wird eine Dezimalzahl, angegeben ist {value!r}")
    try:
        places = -int(number.as_tuple().exponent)
    except (TypeError, ValueError, InvalidOperation):  # NaN, Infinity
        raise TablesError(path, f"expected a decimal number, got {value!r}",
                          f"erwartet wird eine Dezimalzahl, angegeben ist {value!r}") from None
    if number < 0 or (positive and number == 0):
        raise TablesError(path, "must be greater than 0" if positive else "must not be negative",
                          "muss größer als 0 sein" if positive else "darf nicht negativ sein")
    if places > 2 and number != number.quantize(CENT):
        raise TablesError(path, "at most two decimals", "höchstens zwei Nachkommastellen")
    if money:
        return number.quantize(CENT)
    plain = number.normalize()  # 30.0 → 30 (normalize alone would write 3E+1)
    return plain if int(plain.as_tuple().exponent) <= 0 else plain.quantize(Decimal(1))


def _date(value: Any, path: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        raise TablesError(path, "expected a date (YYYY-MM-DD), not a time", "erwartet wird ein Datum (JJJJ-MM-TT)")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise TablesError(path, f"expected a date (YYYY-MM-DD), got {value!r}",
                      f"erwartet wird ein Datum (JJJJ-MM-TT), angegeben ist {value!r}")


def _mapping(value: Any, path: str, keys: tuple[str, ...], required: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TablesError(path, "expected a table", "erwartet wird eine Tabelle")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise TablesError(f"{path}.{unknown[0]}" if path else unknown[0], "unknown key",
                          f"unbekannter Schlüssel (erlaubt: {', '.join(keys)})")
    for key in required:
        if key not in value:
            raise TablesError(f"{path}.{key}" if path else key, "missing", "fehlt")
    return value


def _rows(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise TablesError(path, "expected a non-empty list of rows", "erwartet wird mindestens eine Zeile")
    return value


def _dated(rows: list[Any], path: str, what: str) -> tuple[Any, ...]:
    """Sorted by valid_from (the open start first); two rows may not start on the same day."""
    seen: set[dt.date | None] = set()
    for i, row in enumerate(rows):
        if row.valid_from in seen:
            start = row.valid_from.isoformat() if row.valid_from else "the start"
            raise TablesError(f"{path}[{i}].valid_from", f"two {what} rows start on {start}",
                              f"zwei Zeilen beginnen am selben Tag ({start})")
        seen.add(row.valid_from)
    return tuple(sorted(rows, key=lambda r: (r.valid_from is not None, r.valid_from or dt.date.min)))


def _income_limits(value: Any) -> tuple[IncomeLimits, ...]:
    keys = ("valid_from", "one_person", "two_persons", "per_further_person", "per_child")
    rows = []
    for i, raw in enumerate(_rows(value, "income_limits")):
        path = f"income_limits[{i}]"
        row = _mapping(raw, path, keys, keys[1:])
        rows.append(IncomeLimits(_date(row.get("valid_from"), f"{path}.valid_from"),
                                 *(_decimal(row[k], f"{path}.{k}", money=True, positive=k != "per_child")
                                   for k in keys[1:])))
    return _dated(rows, "income_limits", "income limit")


def _bands(value: Any) -> tuple[Bands, ...]:
    out = []
    for i, raw in enumerate(_rows(value, "bands")):
        path = f"bands[{i}]"
        row = _mapping(raw, path, ("valid_from", "threshold_percent", "rates"), ("threshold_percent", "rates"))
        threshold = _decimal(row["threshold_percent"], f"{path}.threshold_percent", money=False)
        rates: list[Band] = []
        for j, rate_raw in enumerate(_rows(row["rates"], f"{path}.rates")):
            rpath = f"{path}.rates[{j}]"
            rate_row = _mapping(rate_raw, rpath, ("from_percent", "rate_percent"), ("from_percent", "rate_percent"))
            band = Band(_decimal(rate_row["from_percent"], f"{rpath}.from_percent", money=False),
                        _decimal(rate_row["rate_percent"], f"{rpath}.rate_percent", money=False))
            if band.rate_percent > 100:
                raise TablesError(f"{rpath}.rate_percent", "at most 100", "höchstens 100")
            if rates and band.from_percent <= rates[-1].from_percent:
                raise TablesError(f"{rpath}.from_percent", "the bands must rise", "die Stufen müssen aufsteigen")
            if rates and band.rate_percent < rates[-1].rate_percent:
                raise TablesError(f"{rpath}.rate_percent", "a higher band may not have a lower rate",
                                  "eine höhere Stufe darf keinen niedrigeren Satz haben")
            rates.append(band)
        if rates[0].from_percent != threshold:
            raise TablesError(f"{path}.rates[0].from_percent", "the first band must start at threshold_percent",
                              "die erste Stufe muss bei threshold_percent beginnen")
        out.append(Bands(_date(row.get("valid_from"), f"{path}.valid_from"), threshold, tuple(rates)))
    return _dated(out, "bands", "band")


def _max_amounts(value: Any) -> tuple[MaxAmounts, ...]:
    out: list[MaxAmounts] = []
    for i, raw in enumerate(_rows(value, "max_amounts")):
        path = f"max_amounts[{i}]"
        row = _mapping(raw, path, ("valid_from", "mietenstufe", *AREA_CLASSES), ("mietenstufe",))
        stufe = row["mietenstufe"]
        if stufe not in MIETENSTUFEN:
            raise TablesError(f"{path}.mietenstufe", f"expected one of {', '.join(MIETENSTUFEN)}",
                              f"erlaubt: {', '.join(MIETENSTUFEN)}")
        amounts: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        for area in AREA_CLASSES:
            if area not in row:
                continue
            apath = f"{path}.{area}"
            cell = _mapping(row[area], apath, ("per_m2", "cap"), ("per_m2", "cap"))
            columns = {}
            for key in ("per_m2", "cap"):
                values = cell[key]
                if not isinstance(values, list) or len(values) != len(BUILD_CLASSES):
                    raise TablesError(f"{apath}.{key}", f"expected {len(BUILD_CLASSES)} values, one per build-year "
                                                        f"class ({', '.join(BUILD_CLASSES)})",
                                      f"erwartet werden {len(BUILD_CLASSES)} Werte, einer je Baujahresklasse")
                columns[key] = [_decimal(v, f"{apath}.{key}[{j}]", money=True) for j, v in enumerate(values)]
            for j, klass in enumerate(BUILD_CLASSES):
                amounts[(klass, area)] = (columns["per_m2"][j], columns["cap"][j])
        if not amounts:
            raise TablesError(path, f"needs at least one area class ({', '.join(AREA_CLASSES)})",
                              f"mindestens eine Flächenklasse ({', '.join(AREA_CLASSES)}) ist nötig")
        out.append(MaxAmounts(_date(row.get("valid_from"), f"{path}.valid_from"), stufe, amounts))
    by_stufe: list[MaxAmounts] = []
    for stufe in MIETENSTUFEN:
        rows = [r for r in out if r.mietenstufe == stufe]
        if rows:
            by_stufe.extend(_dated(rows, "max_amounts", f"Mietenstufe {stufe}"))
    return tuple(by_stufe)


def parse_tables(data: Mapping[str, Any], label: str) -> LevyTables:
    """The tables of `data` (the TOML's or the JSON's shape); raises TablesError naming the path."""
    label = (label or "").strip()
    if not label or len(label) > 64 or any(ch in label for ch in "\r\n\t"):
        raise TablesError("label", "1 to 64 characters on one line", "1 bis 64 Zeichen in einer Zeile")
    keys = ("income_limits", "bands", "max_amounts")
    row = _mapping(data, "", keys, keys)
    return LevyTables(label, _income_limits(row["income_limits"]), _bands(row["bands"]),
                      _max_amounts(row["max_amounts"]))


def parse_tables_toml(text: str, label: str) -> LevyTables:
    """The tables of a TOML text, its numbers read as exact decimals; a syntax error is a TablesError too."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise TablesError("", f"not valid TOML: {exc}", f"kein gültiges TOML: {exc}") from None
    return parse_tables(data, label)


_DEFAULT: LevyTables | None = None


def default_tables() -> LevyTables:
    """The built-in tables (DOMAIN.md §6; to be confirmed by the municipality), label "fbag-default-1"."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = parse_tables_toml(DEFAULT_FILE.read_text(encoding="utf-8"), DEFAULT_LABEL)
    return _DEFAULT
