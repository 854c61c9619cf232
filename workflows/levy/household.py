"""The household of a levy procedure (pure): the payload a clerk records (members with birth dates, children, who
holds the tenancy, each member's relevant annual income and transfer benefit; temporary use) validated with a
German message per field, and the computation's input built from it and the flat (`levy_input`).

Paths name the field as the API and the web form know it: ``members[2].annual_income``, ``temporary_use``; the
flat's fields by their own names (``area_m2``)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Mapping

from workflows.levy.terms import BENEFIT_LABELS, BENEFITS, HEATING, MIETENSTUFEN

if TYPE_CHECKING:
    from workflows.levy.compute import LevyInput

MAX_MEMBERS = 20
NAME_MAX = 200
INCOME_MAX = Decimal("10000000")  # ten million a year: beyond it a typing error, not a household
MEMBER_KEYS = ("name", "birth_date", "child", "tenant", "annual_income", "benefit")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    message_de: str


class HouseholdError(ValueError):
    """The household (or the flat's data the computation needs) cannot be used: every problem found, each naming
    its field; `path`, `message`, `message_de` are the first one's."""

    def __init__(self, problems: list[Problem]) -> None:
        assert problems
        super().__init__(problems[0].message)
        self.problems = tuple(problems)
        self.path, self.message, self.message_de = problems[0].path, problems[0].message, problems[0].message_de


@dataclass(frozen=True)
class Member:
    name: str
    birth_date: dt.date | None
    child: bool
    tenant: bool
    annual_income: Decimal | None
    benefit: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "birth_date": self.birth_date.isoformat() if self.birth_date else None,
                "child": self.child, "tenant": self.tenant,
                "annual_income": f"{self.annual_income:.2f}" if self.annual_income is not None else None,
                "benefit": self.benefit}


@dataclass(frozen=True)
class Household:
    members: tuple[Member, ...]
    temporary_use: bool = False

    @property
    def children(self) -> int:
        return sum(1 for m in self.members if m.child)

    @property
    def income_total(self) -> Decimal:
        """The members' incomes added up (a member without one counts nothing)."""
        return sum((m.annual_income or Decimal(0) for m in self.members), Decimal("0.00"))

    @property
    def all_on_benefits(self) -> bool:
        return bool(self.members) and all(m.benefit for m in self.members)

    def to_json(self) -> dict[str, Any]:
        return {"members": [m.to_json() for m in self.members], "temporary_use": self.temporary_use}


# --- validating the payload ---------------------------------------------------------------------------------

def _flag(value: Any, path: str, label_de: str, problems: list[Problem]) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    problems.append(Problem(path, f"{path}: expected true or false", f"{label_de}: bitte ja oder nein angeben"))
    return False


def _date(value: Any, path: str, problems: list[Problem], today: dt.date | None) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None:
        problems.append(Problem(path, f"{path}: expected a date YYYY-MM-DD",
                                "Geburtsdatum: bitte ein gültiges Datum angeben (JJJJ-MM-TT)"))
        return None
    if day.year < 1900 or (today is not None and day > today):
        problems.append(Problem(path, f"{path}: {day.isoformat()} is not a possible birth date",
                                "Geburtsdatum: das Datum liegt in der Zukunft oder vor 1900"))
        return None
    return day


def parse_money(value: Any) -> Decimal | None:
    """A decimal amount as text ("12345.67", also with a decimal comma "12345,67") or a whole number; None for
    nothing; ValueError for anything else (a float is refused: it cannot say cents exactly)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("not an amount")
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else str(value)
    whole, _, cents = (text[1:] if text.startswith("-") else text).partition(".")
    if not (whole.isascii() and whole.isdigit() and (not cents or (cents.isascii() and cents.isdigit()))) \
            or len(whole) > 15:
        raise ValueError("not an amount")
    if len(cents) > 2:
        raise ValueError("more than two decimal places")
    return Decimal(text).quantize(CENT)


def _income(value: Any, path: str, problems: list[Problem]) -> Decimal | None:
    try:
        amount = parse_money(value)
    except ValueError:
        problems.append(Problem(path, f"{path}: expected an amount like 12345.67",
                                "Jahreseinkommen: bitte einen Betrag in Euro angeben, z. B. 24500,00"))
        return None
    if amount is not None and not Decimal(0) <= amount < INCOME_MAX:
        problems.append(Problem(path, f"{path}: must be at least 0 and below {INCOME_MAX}",
                                "Jahreseinkommen: der Betrag darf nicht negativ sein und muss unter "
                                "10.000.000 € liegen"))
        return None
    return amount


def _member(raw: Any, i: int, problems: list[Problem], today: dt.date | None) -> Member | None:
    at = f"members[{i}]"
    if not isinstance(raw, Mapping):
        problems.append(Problem(at, f"{at}: expected an object", f"Person {i + 1}: Angaben fehlen"))
        return None
    for key in sorted(set(raw) - set(MEMBER_KEYS)):
        problems.append(Problem(f"{at}.{key}", f"{at}.{key}: unknown field", f"Unbekanntes Feld „{key}“"))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"{at}.name", f"{at}.name: a name is required",
                                f"Name: bitte den Namen der Person {i + 1} angeben"))
        name = ""
    elif len(name.strip()) > NAME_MAX:
        problems.append(Problem(f"{at}.name", f"{at}.name: at most {NAME_MAX} characters",
                                f"Name: höchstens {NAME_MAX} Zeichen"))
    benefit = raw.get("benefit")
    if benefit in (None, ""):
        benefit = None
    elif benefit not in BENEFITS:
        problems.append(Problem(f"{at}.benefit", f"{at}.benefit: expected one of {', '.join(BENEFITS)}",
                                "Transferleistung: bitte eine der Leistungen wählen ("
                                + ", ".join(BENEFIT_LABELS[b] for b in BENEFITS) + ")"))
        benefit = None
    return Member(name=name.strip(), birth_date=_date(raw.get("birth_date"), f"{at}.birth_date", problems, today),
                  child=_flag(raw.get("child"), f"{at}.child", "Kind", problems),
                  tenant=_flag(raw.get("tenant"), f"{at}.tenant", "Mieter/in", problems),
                  annual_income=_income(raw.get("annual_income"), f"{at}.annual_income", problems), benefit=benefit)


def parse_household(payload: Any, *, today: dt.date | None = None) -> Household:
    """The household from its JSON (`{"members": [...], "temporary_use": bool}`); HouseholdError naming every
    field that is wrong. `today`: birth dates after it are refused."""
    if not isinstance(payload, Mapping):
        raise HouseholdError([Problem("members", "expected an object with members",
                                      "Bitte die Haushaltsmitglieder angeben")])
    problems: list[Problem] = []
    for key in sorted(set(payload) - {"members", "temporary_use"}):
        problems.append(Problem(key, f"{key}: unknown field", f"Unbekanntes Feld „{key}“"))
    raw_members = payload.get("members")
    if not isinstance(raw_members, list) or not raw_members:
        problems.append(Problem("members", "members: at least one member is required",
                                "Bitte mindestens ein Haushaltsmitglied angeben"))
        raw_members = []
    elif len(raw_members) > MAX_MEMBERS:
        problems.append(Problem("members", f"members: at most {MAX_MEMBERS} members",
                                f"Ein Haushalt hat höchstens {MAX_MEMBERS} Mitglieder"))
        raw_members = []
    members = [m for i, raw in enumerate(raw_members) if (m := _member(raw, i, problems, today)) is not None]
    temporary = _flag(payload.get("temporary_use"), "temporary_use", "Vorübergehende Nutzung", problems)
    if members and len(members) == len(raw_members):
        if not any(not m.child for m in members):
            problems.append(Problem("members", "members: at least one adult is required",
                                    "Zum Haushalt muss mindestens eine erwachsene Person gehören"))
        if not any(m.tenant for m in members):
            problems.append(Problem("members", "members: someone must hold the tenancy",
                                    "Mindestens eine Person muss Inhaber/in des Mietverhältnisses sein"))
    if problems:
        raise HouseholdError(problems)
    return Household(tuple(members), temporary)


# --- the computation's input --------------------------------------------------------------------------------

def _flat_value(flat: Mapping[str, Any], key: str, label_de: str, problems: list[Problem]) -> Any:
    value = flat.get(key)
    if value in (None, ""):
        problems.append(Problem(key, f"{key}: the flat's {key} is missing",
                                f"{label_de} der Wohnung fehlt; bitte in den Daten der Wohnung ergänzen"))
    return value


def _flat(flat: Mapping[str, Any], problems: list[Problem]) -> tuple[Decimal, int, str, str] | None:
    before = len(problems)
    area_raw = _flat_value(flat, "area_m2", "Die Wohnfläche", problems)
    year_raw = _flat_value(flat, "build_year", "Das Baujahr", problems)
    heating = _flat_value(flat, "heating", "Die Heizungsart", problems)
    stufe = _flat_value(flat, "mietenstufe", "Die Mietenstufe", problems)
    area = Decimal(0)
    year = 0
    if area_raw not in (None, ""):
        try:
            area = Decimal(str(area_raw).replace(",", "."))
            if not area.is_finite() or area <= 0:
                raise InvalidOperation
        except InvalidOperation:
            problems.append(Problem("area_m2", "area_m2: not a living area", "Die Wohnfläche ist ungültig"))
    if year_raw not in (None, ""):
        try:
            year = int(str(year_raw))
        except ValueError:
            problems.append(Problem("build_year", "build_year: not a year", "Das Baujahr ist ungültig"))
    if heating not in (None, "") and heating not in HEATING:
        problems.append(Problem("heating", f"heating: expected one of {', '.join(HEATING)}",
                                "Die Heizungsart ist ungültig (Ofen- oder Sammelheizung)"))
    if stufe not in (None, "") and stufe not in MIETENSTUFEN:
        problems.append(Problem("mietenstufe", f"mietenstufe: expected one of {', '.join(MIETENSTUFEN)}",
                                "Die Mietenstufe ist ungültig (I bis VII)"))
    return None if len(problems) > before else (area, year, str(heating), str(stufe))


def levy_input(flat_metadata: Mapping[str, Any], household: Household | Mapping[str, Any],
               reference_date: dt.date, answered: bool) -> LevyInput:
    """What the computation needs: household size (children count as persons), children, the members' income
    added up, the flat, the reference date. Exempt when every member receives a transfer benefit
    ("transfer_benefits") or the use is temporary ("temporary_use"). A household that gave no information
    (`answered` False) is assessed at the highest band: no income needed. Otherwise every adult without a
    transfer benefit must have their income recorded (HouseholdError naming the member's field)."""
    from workflows.levy.compute import LevyInput
    if not isinstance(household, Household):
        household = parse_household(household)
    problems: list[Problem] = []
    flat = _flat(flat_metadata, problems)
    exempt: str | None = None
    income: Decimal | None = None
    if answered:
        if household.temporary_use:
            exempt = "temporary_use"
        elif household.all_on_benefits:
            exempt = "transfer_benefits"
        else:
            for i, m in enumerate(household.members):
                if m.annual_income is None and not m.child and not m.benefit:
                    problems.append(Problem(f"members[{i}].annual_income",
                                            f"members[{i}].annual_income: the income of {m.name} is missing",
                                            f"Das Jahreseinkommen von {m.name} fehlt (oder die bezogene "
                                            "Transferleistung)"))
        if exempt is None or any(m.annual_income is not None for m in household.members):
            income = household.income_total
    if problems or flat is None:
        raise HouseholdError(problems)
    area, year, heating, stufe = flat
    return LevyInput(household_size=len(household.members), children=household.children, annual_income=income,
                     area_m2=area, build_year=year, heating=heating, mietenstufe=stufe,
                     reference_date=reference_date, answered=answered, exempt=exempt)


def input_json(inp: LevyInput) -> dict[str, Any]:
    """The computation's input as plain JSON (LevyInput.to_json: money and areas as text, dates ISO): what an
    assessment records and what the four-eyes check compares with the input as it would be built now."""
    return inp.to_json()
