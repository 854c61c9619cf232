"""A trade notification (Gewerbeanzeige GewA 1–3) as submitted: validated into a typed `Notification`, every
problem reported at once with a German message naming the field. The names follow XGewerbeanzeige's terms in
English (eingetragenerName → registered_name, gueltigAb → effective_on, istNebenerwerb → part_time …)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from workflows.dates import add_years
from workflows.trade.terms import BUSINESS_TYPES, NOTIFICATIONS

LEGAL_FORMS: tuple[tuple[str, str], ...] = (
    ("einzelunternehmen", "Einzelunternehmen"), ("gbr", "Gesellschaft bürgerlichen Rechts (GbR)"),
    ("e_k", "Eingetragene Kauffrau / eingetragener Kaufmann (e. K.)"), ("ohg", "Offene Handelsgesellschaft (OHG)"),
    ("kg", "Kommanditgesellschaft (KG)"), ("gmbh", "Gesellschaft mit beschränkter Haftung (GmbH)"),
    ("ug", "Unternehmergesellschaft (haftungsbeschränkt)"), ("gmbh_co_kg", "GmbH & Co. KG"),
    ("ag", "Aktiengesellschaft (AG)"), ("eg", "Eingetragene Genossenschaft (eG)"),
    ("partg", "Partnerschaftsgesellschaft"), ("ev", "Eingetragener Verein (e. V.)"),
    ("ltd", "Private Limited Company (Ltd.)"), ("sonstige", "Sonstige Rechtsform"),
)
# Forms entered in a public register (Handels-, Genossenschafts-, Partnerschafts-, Vereinsregister): field 2.
REGISTERED_FORMS = frozenset({"e_k", "ohg", "kg", "gmbh", "ug", "gmbh_co_kg", "ag", "eg", "partg", "ev"})
REASONS: dict[str, tuple[tuple[str, str], ...]] = {
    "anmeldung": (("neuerrichtung", "Neuerrichtung"), ("uebernahme", "Übernahme"),
                  ("zuzug", "Zuzug aus einem anderen Meldebezirk"),
                  ("gruendung_nach_umwandlung", "Gründung nach dem Umwandlungsgesetz")),
    "ummeldung": (("verlegung", "Verlegung innerhalb des Meldebezirks"), ("taetigkeit", "Wechsel der Tätigkeit"),
                  ("erweiterung", "Erweiterung der Tätigkeit"), ("name", "Änderung des Namens"),
                  ("rechtsform", "Änderung der Rechtsform"), ("sonstiges", "Sonstige Änderung")),
    "abmeldung": (("aufgabe", "Vollständige Aufgabe"), ("verlegung_weg", "Verlegung in einen anderen Meldebezirk"),
                  ("uebergabe", "Übergabe an einen Nachfolger"), ("umwandlung", "Änderung der Rechtsform"),
                  ("von_amts_wegen", "Abmeldung von Amts wegen (§ 14 Abs. 4 GewO)")),
}
ROLES = ("owner", "partner", "manager")
ESTABLISHMENTS = ("hauptniederlassung", "zweigniederlassung", "unselbstaendige_zweigstelle")
# Fields of the register entry a notification carries (what an Ummeldung may change).
ENTRY_FIELDS = ("registered_name", "legal_form", "register_court", "register_number", "street", "house_number",
                "postal_code", "city", "phone", "email", "persons", "activity", "activity_key", "business_type",
                "part_time", "employees_full_time", "employees_part_time", "establishment", "permits",
                "handwerkskarte")
PROCEDURE_FIELDS = ("notification", "business_id", "received_on", "effective_on", "reason", "ex_officio")
PERSON_FIELDS = ("role", "family_name", "given_names", "birth_date", "birth_place", "nationality", "street",
                 "house_number", "postal_code", "city", "residence_permit")
REQUIRED_FOR_ANMELDUNG = ("registered_name", "legal_form", "street", "postal_code", "city", "activity",
                          "business_type")

_POSTAL = re.compile(r"\d{5}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WZ = re.compile(r"\d{2}(\.\d{1,2}(\.\d)?)?")
_NATION = re.compile(r"[A-Z]{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # fromisoformat alone would also take week dates (2026-W01-1)
_TEXT_MAX = 300
# Plausible dates of a notification: no business in today's register began (nor was a notification received)
# before 1900, so an earlier year is a typing error (1026 for 2026), and it would date the entry's history before
# any real one; a notification is made at the start or change (GewO §14), so announcing one more than a year ahead
# is no notification yet.
EARLIEST_DATE = dt.date(1900, 1, 1)
MAX_YEARS_AHEAD = 1


@dataclass(frozen=True)
class FieldProblem:
    field: str  # the payload key; persons as "persons[0].birth_date"
    message: str
    message_de: str


class NotificationError(Exception):
    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Person:
    role: str = "owner"
    family_name: str = ""
    given_names: str = ""
    birth_date: dt.date | None = None
    birth_place: str | None = None
    nationality: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    residence_permit: bool | None = None


@dataclass(frozen=True)
class Notification:
    notification: str
    received_on: dt.date
    effective_on: dt.date
    business_id: str | None = None
    reason: str | None = None
    ex_officio: bool = False
    registered_name: str | None = None
    legal_form: str | None = None
    register_court: str | None = None
    register_number: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    phone: str | None = None
    email: str | None = None
    persons: tuple[Person, ...] | None = None
    activity: str | None = None
    activity_key: str | None = None
    business_type: str | None = None
    part_time: bool | None = None
    employees_full_time: int | None = None
    employees_part_time: int | None = None
    establishment: str | None = None
    permits: tuple[str, ...] | None = None
    handwerkskarte: bool | None = None
    given: frozenset[str] = field(default=frozenset(), compare=False)  # the entry fields the payload named

    def to_json(self) -> dict[str, Any]:
        """The notification as stored with its procedure (ISO dates; only the entry fields it gave)."""
        out: dict[str, Any] = {"notification": self.notification, "received_on": self.received_on.isoformat(),
                               "effective_on": self.effective_on.isoformat(), "ex_officio": self.ex_officio}
        for key in ("business_id", "reason"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in ENTRY_FIELDS:
            if key in self.given:
                out[key] = _plain(getattr(self, key))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notification:
        """The stored form back (it was validated when received: nothing is checked again)."""
        values: dict[str, Any] = {k: data[k] for k in (*PROCEDURE_FIELDS, *ENTRY_FIELDS) if k in data}
        values["received_on"] = dt.date.fromisoformat(str(data["received_on"]))
        values["effective_on"] = dt.date.fromisoformat(str(data["effective_on"]))
        if values.get("persons") is not None:
            values["persons"] = tuple(Person(**{**p, "birth_date": dt.date.fromisoformat(p["birth_date"])
                                                if p.get("birth_date") else None}) for p in values["persons"])
        if values.get("permits") is not None:
            values["permits"] = tuple(values["permits"])
        return cls(**values, given=frozenset(k for k in ENTRY_FIELDS if k in data))

    def entry_values(self) -> dict[str, Any]:
        """The entry fields the notification gave, in their stored (JSON) form."""
        return {k: _plain(getattr(self, k)) for k in ENTRY_FIELDS if k in self.given}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Person):
        return {k: _plain(v) for k, v in asdict(value).items()}
    return value


class _Checker:
    """Collects the problems of one payload, so the clerk sees every field to correct at once."""

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.problems: list[FieldProblem] = []

    def fail(self, name: str, message: str, message_de: str) -> None:
        self.problems.append(FieldProblem(name, message, message_de))

    def text(self, name: str, value: Any, *, required: bool = False, max_length: int = _TEXT_MAX) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(name, "required", "Bitte ausfüllen")
            return None
        if not isinstance(value, str):
            self.fail(name, "expected text", "Bitte einen Text angeben")
            return None
        if len(value) > max_length:
            self.fail(name, f"at most {max_length} characters", f"Höchstens {max_length} Zeichen")
            return None
        return value.strip()

    def date(self, name: str, value: Any, *, required: bool = False) -> dt.date | None:
        if value in (None, ""):
            if required:
                self.fail(name, "required", "Bitte ein Datum angeben")
            return None
        try:
            if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(name, "expected a date YYYY-MM-DD", "Bitte ein gültiges Datum angeben (JJJJ-MM-TT)")
            return None

    def choice(self, name: str, value: Any, choices: tuple[str, ...], *, required: bool = False,
               what_de: str = "Wert") -> str | None:
        if value in (None, ""):
            if required:
                self.fail(name, "required", f"Bitte {what_de} auswählen")
            return None
        if value not in choices:
            self.fail(name, f"expected one of {', '.join(choices)}", f"Unbekannter {what_de}: {value}")
            return None
        return str(value)

    def boolean(self, name: str, value: Any) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(name, "expected true or false", "Bitte ja oder nein angeben")
            return None
        return value

    def count(self, name: str, value: Any) -> int | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 1_000_000:
            self.fail(name, "expected a whole number of at least 0", "Bitte eine ganze Zahl ab 0 angeben")
            return None
        return value

    def postal_code(self, name: str, value: Any, *, required: bool = False) -> str | None:
        code = self.text(name, value, required=required, max_length=5)
        if code is not None and not _POSTAL.fullmatch(code):
            self.fail(name, "expected a five-digit postal code", "Bitte eine fünfstellige Postleitzahl angeben")
            return None
        return code


def parse_notification(payload: Mapping[str, Any], *, today: dt.date) -> Notification:
    """The validated notification; raises NotificationError with every problem found."""
    c = _Checker(today)
    unknown = sorted(set(payload) - set(PROCEDURE_FIELDS) - set(ENTRY_FIELDS))
    for key in unknown:
        c.fail(key, "unknown field", "Unbekanntes Feld")
    kind = c.choice("notification", payload.get("notification"), NOTIFICATIONS, required=True,
                    what_de="Art der Anzeige")
    received = c.date("received_on", payload.get("received_on")) or today
    if received > today:
        c.fail("received_on", "the day of receipt lies in the future", "Das Eingangsdatum liegt in der Zukunft")
    elif received < EARLIEST_DATE:
        c.fail("received_on", f"before {EARLIEST_DATE.isoformat()}: check the year",
               f"Das Eingangsdatum liegt vor dem {EARLIEST_DATE:%d.%m.%Y}; bitte die Jahreszahl prüfen")
    effective = c.date("effective_on", payload.get("effective_on"), required=True)
    if effective is not None and effective > add_years(today, MAX_YEARS_AHEAD):
        c.fail("effective_on", "more than a year ahead", "Das Datum liegt mehr als ein Jahr in der Zukunft")
    elif effective is not None and effective < EARLIEST_DATE:
        c.fail("effective_on", f"before {EARLIEST_DATE.isoformat()}: check the year",
               f"Das Datum liegt vor dem {EARLIEST_DATE:%d.%m.%Y}; bitte die Jahreszahl prüfen")
    business_id = c.text("business_id", payload.get("business_id"), max_length=32,
                         required=kind in ("ummeldung", "abmeldung"))
    reasons = tuple(k for k, _ in REASONS.get(kind or "", ()))
    reason = c.choice("reason", payload.get("reason"), reasons, required=kind == "abmeldung",
                      what_de="Grund") if kind else None
    ex_officio = c.boolean("ex_officio", payload.get("ex_officio")) or False
    if ex_officio and kind != "abmeldung":
        c.fail("ex_officio", "only a deregistration can be ex officio",
               "Von Amts wegen ist nur eine Abmeldung möglich")
    anmeldung = kind == "anmeldung"
    values: dict[str, Any] = {
        "registered_name": c.text("registered_name", payload.get("registered_name"), required=anmeldung),
        "legal_form": c.choice("legal_form", payload.get("legal_form"), tuple(k for k, _ in LEGAL_FORMS),
                               required=anmeldung, what_de="Rechtsform"),
        "register_court": c.text("register_court", payload.get("register_court")),
        "register_number": c.text("register_number", payload.get("register_number"), max_length=64),
        "street": c.text("street", payload.get("street"), required=anmeldung),
        "house_number": c.text("house_number", payload.get("house_number"), max_length=16),
        "postal_code": c.postal_code("postal_code", payload.get("postal_code"), required=anmeldung),
        "city": c.text("city", payload.get("city"), required=anmeldung),
        "phone": c.text("phone", payload.get("phone"), max_length=64),
        "email": c.text("email", payload.get("email"), max_length=254),
        "activity": c.text("activity", payload.get("activity"), required=anmeldung, max_length=1000),
        "activity_key": c.text("activity_key", payload.get("activity_key"), max_length=16),
        "business_type": c.choice("business_type", payload.get("business_type"), BUSINESS_TYPES,
                                  required=anmeldung, what_de="Art des Betriebs"),
        "part_time": c.boolean("part_time", payload.get("part_time")),
        "employees_full_time": c.count("employees_full_time", payload.get("employees_full_time")),
        "employees_part_time": c.count("employees_part_time", payload.get("employees_part_time")),
        "establishment": c.choice("establishment", payload.get("establishment"), ESTABLISHMENTS,
                                  what_de="Art der Niederlassung"),
        "handwerkskarte": c.boolean("handwerkskarte", payload.get("handwerkskarte")),
        "permits": _permits(c, payload.get("permits")),
        "persons": _persons(c, payload.get("persons"), required=anmeldung),
    }
    if values["email"] and not _EMAIL.fullmatch(values["email"]):
        c.fail("email", "not an e-mail address", "Bitte eine gültige E-Mail-Adresse angeben")
    if values["activity_key"] and not _WZ.fullmatch(values["activity_key"]):
        c.fail("activity_key", "expected a WZ 2008 key such as 47.11", "Bitte einen WZ-Schlüssel wie 47.11 angeben")
    if values["legal_form"] in REGISTERED_FORMS and not values["register_number"] and \
            (anmeldung or "legal_form" in payload):
        c.fail("register_number", "this legal form is entered in a register: give the register number",
               "Diese Rechtsform ist im Register eingetragen: bitte die Registernummer angeben")
    if anmeldung and values["establishment"] is None:
        values["establishment"] = "hauptniederlassung"
    if c.problems:
        raise NotificationError(c.problems)
    given = frozenset(k for k in ENTRY_FIELDS if k in payload or (anmeldung and values.get(k) is not None))
    if kind == "abmeldung":
        given = frozenset()  # a deregistration ends the entry; it changes none of its fields
    assert kind is not None and effective is not None
    return Notification(notification=kind, received_on=received, effective_on=effective, business_id=business_id,
                        reason=reason, ex_officio=ex_officio, given=given, **values)


def _permits(c: _Checker, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(p, str) and 0 < len(p) <= 8 for p in value):
        c.fail("permits", "expected a list of permit keys such as \"34c\"",
               "Bitte die Erlaubnisse als Liste angeben, z. B. 34c")
        return None
    return tuple(dict.fromkeys(p.strip().lower() for p in value))


def _persons(c: _Checker, value: Any, *, required: bool) -> tuple[Person, ...] | None:
    if value is None or value == []:
        if required:
            c.fail("persons", "name at least one person (the owner or a partner)",
                   "Bitte mindestens eine Person angeben (Inhaber oder Gesellschafter)")
        return None if value is None else ()
    if not isinstance(value, list) or len(value) > 50:
        c.fail("persons", "expected a list of persons", "Bitte die Personen als Liste angeben")
        return None
    out = []
    for i, raw in enumerate(value):
        where = f"persons[{i}]"
        if not isinstance(raw, Mapping):
            c.fail(where, "expected an object", "Bitte die Angaben zur Person vollständig machen")
            continue
        for key in sorted(set(raw) - set(PERSON_FIELDS)):
            c.fail(f"{where}.{key}", "unknown field", "Unbekanntes Feld")
        birth = c.date(f"{where}.birth_date", raw.get("birth_date"))
        if birth is not None and birth >= c.today:
            c.fail(f"{where}.birth_date", "the birth date must lie in the past",
                   "Das Geburtsdatum muss in der Vergangenheit liegen")
        elif birth is not None and birth > add_years(c.today, -14):
            c.fail(f"{where}.birth_date", "a trader must be at least 14 years old",
                   "Die Person muss mindestens 14 Jahre alt sein")
        nationality = c.text(f"{where}.nationality", raw.get("nationality"), max_length=2)
        if nationality is not None and not _NATION.fullmatch(nationality.upper()):
            c.fail(f"{where}.nationality", "expected a two-letter country code such as DE",
                   "Bitte die Staatsangehörigkeit als Länderkürzel angeben, z. B. DE")
        out.append(Person(
            role=c.choice(f"{where}.role", raw.get("role", "owner"), ROLES, required=True, what_de="Rolle")
            or "owner",
            family_name=c.text(f"{where}.family_name", raw.get("family_name"), required=True) or "",
            given_names=c.text(f"{where}.given_names", raw.get("given_names"), required=True) or "",
            birth_date=birth, birth_place=c.text(f"{where}.birth_place", raw.get("birth_place")),
            nationality=nationality.upper() if nationality else None,
            street=c.text(f"{where}.street", raw.get("street")),
            house_number=c.text(f"{where}.house_number", raw.get("house_number"), max_length=16),
            postal_code=c.postal_code(f"{where}.postal_code", raw.get("postal_code")),
            city=c.text(f"{where}.city", raw.get("city")),
            residence_permit=c.boolean(f"{where}.residence_permit", raw.get("residence_permit"))))
    return tuple(out)
