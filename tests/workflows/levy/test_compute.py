"""The levy's computation with the built-in tables, against hand-worked examples (the arithmetic is in the
comments, so a reviewer can check it with pen and paper). Limits from 2023-01-01: L1 18,166, L2 27,561,
P +6,265, K +833; bands 20/40/60/80 % → 30/55/80/100 %; Höchstbeträge Mietenstufe I."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from workflows.levy.compute import LevyInput, LevyInputError, compute_levy, parse_compute_request
from workflows.levy.tables import (BUILD_CLASSES, LevyTables, TablesError, area_class, build_class, default_tables,
                                   parse_tables, parse_tables_toml)

TABLES = default_tables()


def levy(income: str | None = None, *, size: int = 1, children: int = 0, area: str = "60", year: int = 1985,
         heating: str = "central", stufe: str = "I", day: str = "2026-01-01", answered: bool = True,
         exempt: str | None = None, tables: LevyTables = TABLES) -> Any:
    return compute_levy(LevyInput(size, children, D(income) if income is not None else None, D(area), year,
                                  heating, stufe, dt.date.fromisoformat(day), answered, exempt), tables)


# The flat of most examples: 60 m², built 1985 (class 1979–1990), over 50 to 80 m², Mietenstufe I:
# Höchstbetrag 4.70 €/m² × 60 m² = 282.00 € (cap 361.00 €, not reached).
# One person from 2023: limit 18,166.00; border of band b at 18,166 × (1 + b/100).
@pytest.mark.parametrize("income, exceedance, rate, monthly, outcome", [
    # 20 %: 18,166 × 1.2 = 21,799.20 → exactly 20.00 % → levied at 30 %: 0.30 × 282.00 = 84.60
    ("21799.20", "20.00", "30", "84.60", "levied"),
    # a cent below: 3,633.19 / 18,166 × 100 = 19.99994… → shown 19.99 (rounded down) → no levy
    ("21799.19", "19.99", "0", "0.00", "below_threshold"),
    # 40 %: 18,166 × 1.4 = 25,432.40 → 55 %: 0.55 × 282.00 = 155.10
    ("25432.40", "40.00", "55", "155.10", "levied"),
    # a cent below: 7,266.39 / 18,166 × 100 = 39.99994… → 39.99 → still 30 %: 84.60
    ("25432.39", "39.99", "30", "84.60", "levied"),
    # 60 %: 18,166 × 1.6 = 29,065.60 → 80 %: 0.80 × 282.00 = 225.60
    ("29065.60", "60.00", "80", "225.60", "levied"),
    ("29065.59", "59.99", "55", "155.10", "levied"),
    # 80 %: 18,166 × 1.8 = 32,698.80 → 100 %: 282.00
    ("32698.80", "80.00", "100", "282.00", "levied"),
    ("32698.79", "79.99", "80", "225.60", "levied"),
    # far above: 90,000 − 18,166 = 71,834 / 18,166 × 100 = 395.43… → 100 %
    ("90000.00", "395.43", "100", "282.00", "levied"),
    # below the limit: (15,000 − 18,166) / 18,166 × 100 = −17.428… → shown −17.43 (rounded down) → no levy
    ("15000.00", "-17.43", "0", "0.00", "below_threshold"),
])
def test_every_band_on_both_sides_of_its_border(income: str, exceedance: str, rate: str, monthly: str,
                                                 outcome: str) -> None:
    r = levy(income)
    assert r.limit == D("18166.00") and r.threshold == D("21799.20")
    assert (str(r.exceedance_percent), str(r.rate_percent), str(r.monthly_levy), r.outcome) == \
        (exceedance, rate, monthly, outcome)
    assert (r.max_amount_per_m2, r.cap_per_flat, r.build_class, r.area_class) == \
        (D("4.70"), D("361.00"), "1979_1990", "50_80")


def test_two_persons_2023_threshold_exactly_is_levied_and_a_cent_below_is_not() -> None:
    # L2 27,561 × 1.2 = 33,073.20 (DOMAIN.md's example)
    at = levy("33073.20", size=2)
    assert (at.limit, at.threshold, at.exceedance_percent, at.rate_percent, at.monthly_levy) == \
        (D("27561.00"), D("33073.20"), D("20.00"), D(30), D("84.60"))
    below = levy("33073.19", size=2)
    assert (below.outcome, below.rate_percent, below.monthly_levy) == ("below_threshold", 0, D("0.00"))


def test_households_with_children_and_more_than_two_persons() -> None:
    # 4 persons, 2 of them children: 27,561 + 2 × 6,265 + 2 × 833 = 27,561 + 12,530 + 1,666 = 41,757.00;
    # threshold 41,757 × 1.2 = 50,108.40; income 60,000: 18,243 / 41,757 × 100 = 43.688… → 43.68 → 55 %
    r = levy("60000", size=4, children=2)
    assert (r.limit, r.threshold, r.exceedance_percent, r.rate_percent, r.monthly_levy) == \
        (D("41757.00"), D("50108.40"), D("43.68"), D(55), D("155.10"))
    # 5 adults: 27,561 + 3 × 6,265 = 46,356.00; income 80,000: 33,644 / 46,356 × 100 = 72.577… → 80 %
    five = levy("80000", size=5)
    assert (five.limit, five.exceedance_percent, five.rate_percent, five.monthly_levy) == \
        (D("46356.00"), D("72.57"), D(80), D("225.60"))
    # a single parent with one child: 2 persons: 27,561 + 833 = 28,394.00
    assert levy("30000", size=2, children=1).limit == D("28394.00")
    # the explanation names the figures
    assert "27.561,00 € + 2 × 6.265,00 € + 2 × 833,00 € je Kind = 41.757,00 €" in r.explanation_de
    assert "Monatliche Abgabe: 55 % × 282,00 € = 155,10 €." in r.explanation_de


def test_the_2016_limits_and_the_change_of_the_rows() -> None:
    # 2016 (until 2016-12-31): 2 persons with 1 child: 23,254 + 650 = 23,904.00; threshold 28,684.80;
    # income 35,000: 11,096 / 23,904 × 100 = 46.419… → 46.41 → 55 %;
    # flat 50 m², built 1960 (1949–1978), up to 50 m²: 5.60 × 50 = 280.00 > cap 227.00 → 0.55 × 227 = 124.85
    r = levy("35000", size=2, children=1, area="50", year=1960, day="2016-07-01")
    assert (r.limit, r.threshold, r.exceedance_percent, r.rate_percent) == \
        (D("23904.00"), D("28684.80"), D("46.41"), D(55))
    assert (r.max_amount_per_m2, r.cap_per_flat, r.monthly_levy) == (D("5.60"), D("227.00"), D("124.85"))
    assert "gekappt auf 227,00 €" in r.explanation_de
    # one person: 15,327 on 2016-12-31, 15,572 from 2017-01-01, 16,351 from 2020, 18,166 from 2023
    assert [levy("1", day=d).limit for d in ("2016-12-31", "2017-01-01", "2019-12-31", "2020-01-01",
                                               "2022-12-31", "2023-01-01")] == \
        [D("15327.00"), D("15572.00"), D("15572.00"), D("16351.00"), D("16351.00"), D("18166.00")]


def test_the_2023_limits_with_a_child() -> None:
    # 3 persons, 1 child on 2023-01-01: 27,561 + 6,265 + 833 = 34,659.00;
    # the day before (2020–2022 row, child amount carried forward): 24,807 + 5,639 + 650 = 31,096.00
    assert levy("1", size=3, children=1, day="2023-01-01").limit == D("34659.00")
    assert levy("1", size=3, children=1, day="2022-12-31").limit == D("31096.00")


@pytest.mark.parametrize("area, klass, per_m2, cap, monthly", [
    # 50 m² is still "up to 50": 5.80 × 50 = 290.00 > cap 235.00 → 100 % × 235.00
    ("50", "to_50", "5.80", "235.00", "235.00"),
    # 50.01 m² is "over 50": 4.70 × 50.01 = 235.047 → 235.05 (half up)
    ("50.01", "50_80", "4.70", "361.00", "235.05"),
    # 80 m² is still "over 50 to 80": 4.70 × 80 = 376.00 > cap 361.00
    ("80", "50_80", "4.70", "361.00", "361.00"),
])
def test_the_area_class_borders(area: str, klass: str, per_m2: str, cap: str, monthly: str) -> None:
    r = levy("40000", area=area)  # 1 person: (40,000 − 18,166) / 18,166 = 120.19 % → 100 %
    assert (r.area_class, r.max_amount_per_m2, r.cap_per_flat, r.monthly_levy) == \
        (klass, D(per_m2), D(cap), D(monthly))


def test_over_80_m2_has_no_default_row_a_clear_error_when_levied() -> None:
    assert area_class(D("80.01")) == "over_80"
    with pytest.raises(LevyInputError) as caught:
        levy("40000", area="80.01")
    assert caught.value.field == "area_m2" and "über 80 m²" in caught.value.message_de
    with pytest.raises(LevyInputError) as caught:
        levy("40000", area="80.01", answered=False)  # no answer is levied too
    assert caught.value.field == "area_m2"
    # nothing levied: no Höchstbetrag needed
    r = levy("18000", area="95")
    assert (r.outcome, r.monthly_levy, r.max_amount_per_m2, r.cap_per_flat) == ("below_threshold", 0, None, None)
    # Mietenstufe II is not in the default table
    with pytest.raises(LevyInputError) as caught:
        levy("40000", stufe="II")
    assert caught.value.field == "mietenstufe" and "Mietenstufe II" in caught.value.message_de


def test_the_cap_per_flat() -> None:
    # 80 m², built 2015 (from 2011): 7.75 × 80 = 620.00 > cap 596.00; 1 person 25,432.40 = 40 % → 55 %:
    # 0.55 × 596.00 = 327.80 (not 0.55 × 620.00 = 341.00)
    r = levy("25432.40", area="80", year=2015)
    assert (r.max_amount_per_m2, r.cap_per_flat, r.monthly_levy) == (D("7.75"), D("596.00"), D("327.80"))


def test_no_answer_is_the_highest_band_and_exempt_is_nothing() -> None:
    # no answer, no income: 100 % × 282.00
    r = levy(None, answered=False)
    assert (r.outcome, r.rate_percent, r.monthly_levy, r.exceedance_percent) == \
        ("no_answer", D(100), D("282.00"), None)
    # no answer even with a low income on file: still the highest band
    assert levy("10000", answered=False).monthly_levy == D("282.00")
    # all occupants on transfer benefits: nothing, whatever the income
    ex = levy("90000", exempt="transfer_benefits")
    assert (ex.outcome, ex.rate_percent, ex.monthly_levy) == ("exempt", 0, D("0.00"))
    assert "Transferleistungen" in ex.explanation_de
    assert levy(None, exempt="temporary_use").monthly_levy == D("0.00")


def test_rounding_half_up_to_cents() -> None:
    # 1 person, 22,000: 3,834 / 18,166 × 100 = 21.105… → 30 %; 50.5 m², 1985: 4.70 × 50.5 = 237.35;
    # 0.30 × 237.35 = 71.205 → 71.21 half up (banker's rounding would give 71.20)
    r = levy("22000", area="50.5")
    assert (r.exceedance_percent, r.monthly_levy) == (D("21.10"), D("71.21"))


def test_build_classes_split_up_to_1948_by_heating() -> None:
    assert [build_class(y, h) for y, h in ((1948, "stove"), (1948, "central"), (1949, "stove"), (1978, "central"),
                                           (1979, "central"), (1990, "stove"), (1991, "central"),
                                           (2000, "central"), (2001, "central"), (2010, "central"),
                                           (2011, "central"))] == \
        ["to_1948_stove", "to_1948_central", "1949_1978", "1949_1978", "1979_1990", "1979_1990", "1991_2000",
         "1991_2000", "2001_2010", "2001_2010", "from_2011"]
    # 40 m² (up to 50), 100 %: stove 4.86 × 40 = 194.40 (cap 197); central 6.06 × 40 = 242.40 (cap 245)
    assert levy("40000", area="40", year=1930, heating="stove").monthly_levy == D("194.40")
    assert levy("40000", area="40", year=1930, heating="central").monthly_levy == D("242.40")


def test_the_request_names_the_bad_field() -> None:
    good = {"household_size": 3, "children": 1, "annual_income": "50000.00", "area_m2": "60", "build_year": 1985,
            "heating": "central", "mietenstufe": "I", "reference_date": "2026-01-01"}
    inp = parse_compute_request(good)
    assert (inp.annual_income, inp.area_m2, inp.reference_date, inp.answered) == \
        (D("50000.00"), D(60), dt.date(2026, 1, 1), True)
    bad = [({"annual_income": 50000.5}, "annual_income"), ({"annual_income": "50.000,00"}, "annual_income"),
           ({"annual_income": "1.234"}, "annual_income"), ({"annual_income": None}, "annual_income"),
           ({"area_m2": "0"}, "area_m2"), ({"area_m2": None}, "area_m2"), ({"household_size": 0}, "household_size"),
           ({"household_size": True}, "household_size"), ({"children": 3}, "children"),
           ({"build_year": "neu"}, "build_year"), ({"heating": "gas"}, "heating"), ({"mietenstufe": "8"},
                                                                                     "mietenstufe"),
           ({"reference_date": "01.01.2026"}, "reference_date"), ({"reference_date": "2026-02-30"}, "reference_date"),
           ({"answered": "no"}, "answered"), ({"exempt": "rich"}, "exempt"), ({"colour": "blue"}, "colour")]
    for change, field in bad:
        with pytest.raises(LevyInputError) as caught:
            parse_compute_request({**good, **change})
        assert caught.value.field == field, change
        assert caught.value.message_de
    # no answer needs no income
    assert parse_compute_request({**good, "annual_income": None, "answered": False}).annual_income is None
    # a reference date before the first row of a table that has a start is refused, naming it
    later = parse_tables({**TABLES.to_json(), "income_limits": [{**TABLES.to_json()["income_limits"][3]}]}, "x")
    with pytest.raises(LevyInputError) as caught:
        levy("1", day="2022-12-31", tables=later)
    assert caught.value.field == "reference_date"


def test_the_tables_round_trip_and_hash_and_refuse_bad_rows_by_path() -> None:
    data = TABLES.to_json()
    assert parse_tables(data, "copy").to_json() == data and parse_tables(data, "copy").sha256 == TABLES.sha256
    assert TABLES.label == "fbag-default-1" and len(TABLES.sha256) == 64
    assert data["max_amounts"][0]["to_50"]["per_m2"][0] == "4.86" and "over_80" not in data["max_amounts"][0]
    assert data["income_limits"][1]["per_child"] == "650.00"
    assert TABLES.mietenstufen() == ("I",)
    changed = {**data, "income_limits": [dict(data["income_limits"][0], per_child="700")]}
    assert parse_tables(changed, "x").sha256 != TABLES.sha256
    cases = [
        ({**data, "income_limits": []}, "income_limits"),
        ({**data, "income_limits": [{**data["income_limits"][0], "one_person": 15327.0}]},
         "income_limits[0].one_person"),
        ({**data, "income_limits": [{**data["income_limits"][0], "one_person": "15327.123"}]},
         "income_limits[0].one_person"),
        ({**data, "income_limits": [data["income_limits"][1], dict(data["income_limits"][2], valid_from="2017-01-01")]},
         "income_limits[1].valid_from"),
        ({**data, "bands": [{**data["bands"][0], "threshold_percent": "25"}]}, "bands[0].rates[0].from_percent"),
        ({**data, "bands": [{**data["bands"][0], "rates": [{"from_percent": "20", "rate_percent": "130"}]}]},
         "bands[0].rates[0].rate_percent"),
        ({**data, "max_amounts": [{**data["max_amounts"][0], "to_50": {"per_m2": ["1"] * 6, "cap": ["1"] * 7}}]},
         "max_amounts[0].to_50.per_m2"),
        ({**data, "max_amounts": [{**data["max_amounts"][0], "mietenstufe": "VIII"}]}, "max_amounts[0].mietenstufe"),
        ({**data, "extra": 1}, "extra"),
    ]
    for bad, path in cases:
        with pytest.raises(TablesError) as caught:
            parse_tables(bad, "x")
        assert caught.value.path == path, (path, caught.value)
    with pytest.raises(TablesError) as caught:
        parse_tables_toml("[[income_limits]\n", "x")
    assert "TOML" in str(caught.value)
    assert len(BUILD_CLASSES) == 7


def test_a_toml_table_of_another_mietenstufe_with_over_80() -> None:
    toml = """
[[income_limits]]
valid_from = 2023-01-01
one_person = 18166
two_persons = 27561
per_further_person = 6265
per_child = 833
[[bands]]
threshold_percent = 20
rates = [{from_percent = 20, rate_percent = 30}, {from_percent = 40, rate_percent = 55.5}]
[[max_amounts]]
mietenstufe = "II"
over_80 = {per_m2 = [1.10, 1.20, 1.30, 1.40, 1.50, 1.60, 1.70], cap = [500, 500, 500, 500, 500, 500, 500]}
"""
    tables = parse_tables_toml(toml, "stufe-ii")
    # 1 person 40,000: 120.19 % → the last band 55.5 %; 90 m², 1985: 1.40 × 90 = 126.00 → 0.555 × 126 = 69.93
    r = levy("40000", area="90", stufe="II", tables=tables)
    assert (r.rate_percent, r.max_amount_per_m2, r.monthly_levy, r.table_version) == \
        (D("55.5"), D("1.40"), D("69.93"), "stufe-ii")
    assert r.table_sha256 == tables.sha256 != TABLES.sha256
    with pytest.raises(LevyInputError):
        levy("40000", area="60", stufe="II", tables=tables)  # no 50_80 row
