"""The trade notification form (a paper GewA 1–3 typed in by a clerk): its controls, read into the payload the
intake takes (the very dict the API's JSON is), and the intake's field errors put back at their controls.

Nothing here decides what a notification must hold: an empty control is left out (an Ummeldung changes only what
it names), and every rule is the intake's (workflows.trade.notification), whose German message per payload field
("persons[0].birth_date") comes back and is shown at that field's control."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from eakte.errors import EakteError
from eakte.web.dates import form_date
from eakte.web.i18n import select_locale

KINDS = ("anmeldung", "ummeldung", "abmeldung")
PREFIX = "gewa"
PERSON_ROWS = 2  # rows of a fresh form (GewA 1 has room for the owner and one more); "Weitere Person" adds one
MAX_PERSON_ROWS = 20
TEXTS = ("business_id", "registered_name", "register_court", "register_number", "street", "house_number",
         "postal_code", "city", "phone", "email", "activity", "activity_key")
CHOICES = ("legal_form", "business_type", "establishment", "reason")
YES_NO = ("part_time", "handwerkskarte")
COUNTS = ("employees_full_time", "employees_part_time")
DATES = ("received_on", "effective_on")
PERSON_TEXTS = ("family_name", "given_names", "birth_place", "nationality", "street", "house_number",
                "postal_code", "city")
PERSON_FIELDS = ("role", *PERSON_TEXTS[:2], "birth_date", *PERSON_TEXTS[2:], "residence_permit")
ABMELDUNG_KEYS = ("business_id", "received_on", "effective_on", "reason")
NO_PERMITS = "permits_none"  # the GewA 2's box "Keine Erlaubnisse mehr": the payload's `"permits": []`

LABELS: dict[str, Callable[[], str]] = {
    "notification": lambda: _("Art der Anzeige"),
    "business_id": lambda: _("Betriebsnummer"),
    "received_on": lambda: _("Eingangsdatum"),
    "effective_on": lambda: _("Datum"),
    "reason": lambda: _("Grund der Anzeige"),
    "ex_officio": lambda: _("Von Amts wegen"),
    "registered_name": lambda: _("Name des Betriebs"),
    "legal_form": lambda: _("Rechtsform"),
    "register_court": lambda: _("Registergericht"),
    "register_number": lambda: _("Registernummer"),
    "street": lambda: _("Straße"),
    "house_number": lambda: _("Hausnummer"),
    "postal_code": lambda: _("Postleitzahl"),
    "city": lambda: _("Ort"),
    "phone": lambda: _("Telefon"),
    "email": lambda: _("E-Mail"),
    "persons": lambda: _("Personen"),
    "activity": lambda: _("Angemeldete Tätigkeit"),
    "activity_key": lambda: _("Tätigkeitsschlüssel (WZ 2008)"),
    "business_type": lambda: _("Art des Betriebs"),
    "part_time": lambda: _("Nebenerwerb"),
    "employees_full_time": lambda: _("Beschäftigte in Vollzeit"),
    "employees_part_time": lambda: _("Beschäftigte in Teilzeit"),
    "establishment": lambda: _("Art der Niederlassung"),
    "permits": lambda: _("Erlaubnisse"),
    "handwerkskarte": lambda: _("Handwerkskarte liegt vor"),
    "scan": lambda: _("Scan der Papieranzeige"),
}
PERSON_LABELS: dict[str, Callable[[], str]] = {
    "role": lambda: _("Rolle"),
    "family_name": lambda: _("Familienname"),
    "given_names": lambda: _("Vornamen"),
    "birth_date": lambda: _("Geburtsdatum"),
    "birth_place": lambda: _("Geburtsort"),
    "nationality": lambda: _("Staatsangehörigkeit"),
    "street": lambda: _("Straße (Wohnanschrift)"),
    "house_number": lambda: _("Hausnummer (Wohnanschrift)"),
    "postal_code": lambda: _("Postleitzahl (Wohnanschrift)"),
    "city": lambda: _("Ort (Wohnanschrift)"),
    "residence_permit": lambda: _("Aufenthaltstitel liegt vor"),
}
_PERSON_FIELD = re.compile(r"persons\[(\d+)\](?:\.(\w+))?")


def control_id(payload_field: str) -> str:
    """The form control of a payload field: "persons[0].birth_date" → "gewa-persons-0-birth_date"."""
    match = _PERSON_FIELD.fullmatch(payload_field)
    if match:
        return f"{PREFIX}-persons-{match.group(1)}" + (f"-{match.group(2)}" if match.group(2) else "")
    return f"{PREFIX}-{payload_field}"


def field_label(payload_field: str) -> str:
    match = _PERSON_FIELD.fullmatch(payload_field)
    if match:
        person = _("Person %(n)s", n=int(match.group(1)) + 1)
        label = PERSON_LABELS.get(match.group(2) or "")
        return f"{person}: {label()}" if label else person
    label = LABELS.get(payload_field)
    return label() if label else payload_field


@dataclass
class NotificationForm:
    """The form as sent (or a fresh one): every control's value as typed, by its name."""

    kind: str
    values: dict[str, str] = field(default_factory=dict)
    permits: list[str] = field(default_factory=list)
    person_rows: int = PERSON_ROWS
    case_id: int | None = None  # the business of a GewA 2/3, when chosen from its page
    # A GewA 2's "no permits any more": no box ticked alone means "the permits stay as entered".
    no_permits: bool = False

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def person(self, index: int, name: str) -> str:
        return self.values.get(f"persons-{index}-{name}", "")

    @classmethod
    def fresh(cls, kind: str, *, case_id: int | None = None, business_id: str = "",
              today: str = "") -> NotificationForm:
        values = {"business_id": business_id, "received_on": today}
        if kind == "anmeldung":
            values.update(part_time="nein", handwerkskarte="nein", establishment="hauptniederlassung")
            values.update({f"persons-{i}-role": "owner" for i in range(PERSON_ROWS)})
        return cls(kind, values, [], PERSON_ROWS if kind != "abmeldung" else 0, case_id)

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> NotificationForm:
        kind = form.get("notification", "")
        try:
            rows = max(0, min(int(form.get("person_rows", PERSON_ROWS)), MAX_PERSON_ROWS))
        except ValueError:
            rows = PERSON_ROWS
        names = [*TEXTS, *CHOICES, *YES_NO, *COUNTS, *DATES,
                 *(f"persons-{i}-{n}" for i in range(rows) for n in PERSON_FIELDS)]
        values = {n: (form.get(n) or "").strip() for n in names}
        raw_case = (form.get("betrieb") or "").strip()
        return cls(kind if kind in KINDS else "anmeldung", values, [p for p in form.getlist("permits") if p],
                   rows, int(raw_case) if raw_case.isdigit() else None, form.get(NO_PERMITS) == "1")

    def with_another_person(self) -> NotificationForm:
        rows = min(self.person_rows + 1, MAX_PERSON_ROWS)
        values = {**self.values, f"persons-{rows - 1}-role": self.values.get(f"persons-{rows - 1}-role") or "owner"}
        return NotificationForm(self.kind, values, self.permits, rows, self.case_id, self.no_permits)


@dataclass(frozen=True)
class Built:
    payload: dict[str, Any]
    errors: dict[str, str]  # control id → message, for what the form itself could not read (a date)


def build_payload(form: NotificationForm) -> Built:
    """The intake's payload from the form: what was filled in, in the payload's types; a GewA 3 carries only the
    business, the dates and the reason."""
    errors: dict[str, str] = {}
    payload: dict[str, Any] = {"notification": form.kind}

    def date(name: str, value: str) -> str | None:
        if not value:
            return None
        parsed = form_date(value)
        if parsed is None:
            errors[control_id(name)] = _("Bitte geben Sie das Datum als TT.MM.JJJJ an.")
            return value  # the intake names it too; the message above is the one shown
        return parsed.isoformat()

    for name in DATES:
        if (value := date(name, form.get(name))) is not None:
            payload[name] = value
    for name in ("business_id", "reason"):
        if form.get(name):
            payload[name] = form.get(name)
    if form.kind == "abmeldung":
        return Built(payload, errors)
    anmeldung = form.kind == "anmeldung"
    for name in (*TEXTS, *CHOICES):
        if name not in ("business_id", "reason") and form.get(name):
            payload[name] = form.get(name)
    for name in YES_NO:
        if form.get(name) in ("ja", "nein"):
            payload[name] = form.get(name) == "ja"
    for name in COUNTS:
        raw = form.get(name)
        if raw:
            payload[name] = int(raw) if raw.isdigit() else raw  # not a number: the intake says so at the field
    # The intake reads a missing "permits" as "unchanged" and [] as "none": a GewA 2 says "none" by its own box.
    if form.no_permits and not anmeldung:
        if form.permits:
            errors[control_id("permits")] = _("Bitte kreuzen Sie entweder Erlaubnisse an oder „Keine Erlaubnisse "
                                              "mehr“, nicht beides.")
            # Not a list: the intake refuses the field as well (as for a date it cannot read), so nothing is
            # stored and every other problem of the form is named at once; the message above is the one shown.
            payload["permits"] = {"none": True, "ticked": list(dict.fromkeys(form.permits))}
        else:
            payload["permits"] = []
    elif form.permits or anmeldung:
        payload["permits"] = list(dict.fromkeys(form.permits))
    persons = []
    for i in range(form.person_rows):
        person: dict[str, Any] = {}
        for name in PERSON_TEXTS:
            if form.person(i, name):
                person[name] = form.person(i, name).upper() if name == "nationality" else form.person(i, name)
        if (birth := date(f"persons[{i}].birth_date", form.person(i, "birth_date"))) is not None:
            person["birth_date"] = birth
        if form.person(i, "residence_permit") in ("ja", "nein"):
            person["residence_permit"] = form.person(i, "residence_permit") == "ja"
        if person:  # a row left empty is no person (its role alone has a default)
            person["role"] = form.person(i, "role") or "owner"
            persons.append(person)
    if persons or anmeldung:
        payload["persons"] = persons
    return Built(payload, errors)


def field_errors(exc: EakteError, known: set[str]) -> dict[str, str]:
    """The intake's refusal at the controls: each problem of its `errors` list (or its one field) by control id;
    a field without a control on this form (an unknown key) under "gewa-form"."""
    german = select_locale() == "de"
    problems = exc.extra.get("errors") or [{"field": exc.extra.get("field") or "", "messages": [exc.detail],
                                            "messages_de": [exc.detail_de or exc.detail]}]
    out: dict[str, str] = {}
    for problem in problems:
        name = str(problem.get("field") or "")
        messages = problem.get("messages_de" if german else "messages") or problem.get("messages") or [exc.detail]
        message = str(messages[0])
        target = control_id(name) if name else f"{PREFIX}-form"
        if target not in known:
            target, message = f"{PREFIX}-form", f"{field_label(name)}: {message}" if name else message
        out.setdefault(target, message)
    return out


def known_controls(form: NotificationForm) -> set[str]:
    """The ids of the controls the form shows (and fieldsets errors may point at)."""
    names = [*ABMELDUNG_KEYS] if form.kind == "abmeldung" else [*TEXTS, *CHOICES, *YES_NO, *COUNTS, *DATES,
                                                                 "permits", "persons"]
    ids = {control_id(n) for n in names}
    for i in range(form.person_rows if form.kind != "abmeldung" else 0):
        ids.add(control_id(f"persons[{i}]"))
        ids.update(control_id(f"persons[{i}].{n}") for n in PERSON_FIELDS)
    return ids


def summary(errors: Mapping[str, str], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """The error summary's entries: each control's label before its message, in the form's order."""
    return [(cid, f"{labels[cid]}: {message}" if cid in labels else message) for cid, message in errors.items()]


def control_labels(form: NotificationForm) -> dict[str, str]:
    labels = {control_id(n): field_label(n) for n in (*TEXTS, *CHOICES, *YES_NO, *COUNTS, *DATES, "permits",
                                                      "persons")}
    labels[control_id("effective_on")] = effective_label(form.kind)
    for i in range(form.person_rows):
        labels[control_id(f"persons[{i}]")] = field_label(f"persons[{i}]")
        labels.update({control_id(f"persons[{i}].{n}"): field_label(f"persons[{i}].{n}") for n in PERSON_FIELDS})
    return labels


def effective_label(kind: str) -> str:
    return {"anmeldung": _("Beginn der Tätigkeit"), "ummeldung": _("Datum der Änderung"),
            "abmeldung": _("Datum der Aufgabe")}.get(kind, _("Datum"))
