"""The household of a levy procedure (workflows.levy.household): validated with a German message per field, and
the computation's input built from it and the flat (size, children, income added up, exemptions, no answer)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from workflows.levy.household import HouseholdError, input_json, levy_input, parse_household, parse_money

FLAT = {"area_m2": "60", "build_year": 1985, "heating": "central", "mietenstufe": "I"}
DAY = dt.date(2026, 1, 1)


def member(name: str = "Jana Beispiel", **over: Any) -> dict[str, Any]:
    m = {"name": name, "birth_date": "1980-05-01", "child": False, "tenant": False, "annual_income": None,
         "benefit": None}
    m.update(over)
    return m


def household(*members: dict[str, Any], temporary_use: bool = False) -> dict[str, Any]:
    return {"members": list(members), "temporary_use": temporary_use}


def problems(payload: Any, **kw: Any) -> dict[str, str]:
    with pytest.raises(HouseholdError) as caught:
        parse_household(payload, **kw)
    return {p.path: p.message_de for p in caught.value.problems}


def test_a_valid_household_is_normalised() -> None:
    h = parse_household(household(member(tenant=True, annual_income="24500,5"),
                                  member("Kind", child=True, birth_date="2016-02-01")))
    assert h.members[0].annual_income == Decimal("24500.50") and h.children == 1
    assert h.to_json()["members"][0]["annual_income"] == "24500.50"
    assert h.to_json()["members"][1]["birth_date"] == "2016-02-01" and h.income_total == Decimal("24500.50")
    assert parse_household(h.to_json()) == h


@pytest.mark.parametrize("value, ok", [("0", True), ("12345.67", True), (30000, True), ("12.345", False),
                                       ("-1", False), ("1e5", False), (12.5, False), (True, False), ("abc", False),
                                       ("1.234,56", False), ("10000000", False)])
def test_incomes_are_decimal_amounts_at_least_zero(value: Any, ok: bool) -> None:
    payload = household(member(tenant=True, annual_income=value))
    if ok:
        assert parse_household(payload).members[0].annual_income is not None
    else:
        found = problems(payload)
        assert list(found) == ["members[0].annual_income"] and "Jahreseinkommen" in found["members[0].annual_income"]


def test_each_field_is_named_with_a_german_message() -> None:
    found = problems(household(member(tenant=True), member("", birth_date="2030-01-01", benefit="lotto",
                                                           child="ja", extra=1)),
                     today=dt.date(2026, 2, 1))
    assert set(found) == {"members[1].name", "members[1].birth_date", "members[1].benefit", "members[1].child",
                          "members[1].extra"}
    assert "Name" in found["members[1].name"] and "Zukunft" in found["members[1].birth_date"]
    assert "Wohngeld" in found["members[1].benefit"]
    assert problems({"members": [], "temporary_use": False}) == {
        "members": "Bitte mindestens ein Haushaltsmitglied angeben"}
    assert "temporary_use" in problems(household(member(tenant=True), temporary_use="no"))
    assert "Haushalt" in problems(None)["members"]


def test_an_adult_a_tenant_and_at_most_twenty_members() -> None:
    assert "erwachsene" in problems(household(member(tenant=True, child=True)))["members"]
    assert "Mietverhältnis" in problems(household(member()))["members"]
    assert "höchstens 20" in problems(household(*[member(tenant=True)] * 21))["members"]
    assert len(parse_household(household(*[member(tenant=True)] * 20)).members) == 20


def test_levy_input_adds_up_the_household() -> None:
    h = household(member(tenant=True, annual_income="30000"), member("Partner", annual_income="12000.50"),
                  member("Kind 1", child=True), member("Kind 2", child=True, annual_income="450"))
    inp = levy_input(FLAT, h, DAY, True)
    assert (inp.household_size, inp.children, inp.annual_income) == (4, 2, Decimal("42450.50"))
    assert (inp.area_m2, inp.build_year, inp.heating, inp.mietenstufe) == (Decimal("60"), 1985, "central", "I")
    assert inp.reference_date == DAY and inp.answered and inp.exempt is None
    assert input_json(inp)["annual_income"] == "42450.50"


def test_a_missing_adult_income_is_an_error_unless_a_benefit_explains_it() -> None:
    with pytest.raises(HouseholdError) as caught:
        levy_input(FLAT, household(member(tenant=True, annual_income="1000"), member("Partner")), DAY, True)
    assert caught.value.path == "members[1].annual_income" and "Partner" in caught.value.message_de
    inp = levy_input(FLAT, household(member(tenant=True, annual_income="1000"), member("Partner", benefit="wohngeld"),
                                     member("Kind", child=True)), DAY, True)
    assert inp.annual_income == Decimal("1000.00") and inp.exempt is None  # not every member on benefits


def test_exemptions_transfer_benefits_and_temporary_use() -> None:
    everyone = household(member(tenant=True, benefit="buergergeld"), member("Kind", child=True,
                                                                           benefit="buergergeld"))
    inp = levy_input(FLAT, everyone, DAY, True)
    assert inp.exempt == "transfer_benefits" and inp.annual_income is None
    inp = levy_input(FLAT, household(member(tenant=True), temporary_use=True), DAY, True)
    assert inp.exempt == "temporary_use"


def test_no_answer_needs_no_income() -> None:
    inp = levy_input(FLAT, household(member(tenant=True)), DAY, False)
    assert not inp.answered and inp.annual_income is None and inp.exempt is None


def test_the_flat_must_give_what_the_computation_needs() -> None:
    with pytest.raises(HouseholdError) as caught:
        levy_input({**FLAT, "area_m2": "", "heating": "gas"}, household(member(tenant=True, annual_income="1")),
                   DAY, True)
    assert {p.path for p in caught.value.problems} == {"area_m2", "heating"}
    assert "Wohnfläche" in caught.value.message_de


def test_parse_money() -> None:
    assert parse_money(None) is None and parse_money(" ") is None
    assert parse_money("1,5") == Decimal("1.50") and parse_money(7) == Decimal("7.00")
    with pytest.raises(ValueError):
        parse_money("1.005")


@pytest.mark.parametrize("name, value", [("area_m2", "1E+999999999"), ("area_m2", "0"), ("area_m2", "1000.01"),
                                         ("build_year", "99999"), ("build_year", "1700")])
def test_the_flats_figures_have_bounds_wherever_they_are_written(name: str, value: str) -> None:
    """The generic case update (PATCH /api/v1/cases/{id}) normalises through these fields: an absurd living area
    would otherwise reach the computation (a huge string, an overflow) and its immutable assessment row."""
    from workflows.fields import FieldError
    from workflows.levy.case_type import FIELDS
    field = next(f for f in FIELDS if f.name == name)
    with pytest.raises(FieldError) as exc:
        field.normalise(value)
    assert exc.value.field == name
    assert field.normalise("80.5" if name == "area_m2" else "1985") in ("80.5", 1985)
