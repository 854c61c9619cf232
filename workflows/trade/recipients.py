"""The regular recipients of trade notifications (GewO §14(8), GewAnzV §3) as a configurable table: which
notifications and business types each gets, which form fields it may see (GewAnzV §3(1) says which it may not),
when its message is due, and the message itself (JSON or XGewerbeanzeige-like XML).

A recipient's message holds the entry fields of its allowed form field numbers and an envelope (business ID,
kind and day of the notification, the municipality): nothing else, whatever the entry holds."""
from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Mapping
from xml.etree import ElementTree

import holidays

from workflows.trade.notification import REGISTERED_FORMS, Notification
from workflows.trade.terms import BUSINESS_TYPES, NOTIFICATIONS

XML_NAMESPACE = "http://www.xgewerbeanzeige.de/spezifikation/2.x"
SIGNATURE_FIELD = 33  # the signature (dropped in the electronic form): never transmitted
FORMATS = ("json", "xml")
TIMINGS = ("immediate", "next_month")
SEND_HOUR_UTC = 8  # a message due "on the first working day" is due at the start of that office day


@dataclass(frozen=True)
class FormField:
    number: int
    label_de: str
    keys: tuple[str, ...] = ()  # entry keys; "persons.X" is key X of every person
    from_notification: tuple[str, ...] = ()  # keys the notification itself carries (dates, reason)


# The GewA 1 form's field numbers and the entry keys that hold them. Fields without a key here (5 Geschlecht, 10,
# 11, 16, 17, 25, 28–32) are not kept by the register, so nothing is sent for them.
FORM_FIELDS: dict[int, FormField] = {f.number: f for f in (
    FormField(1, "Eingetragener Name und Rechtsform", ("registered_name", "legal_form")),
    FormField(2, "Registergericht und Registernummer", ("register_court", "register_number")),
    FormField(3, "Name", ("persons.family_name", "persons.role")),
    FormField(4, "Vornamen", ("persons.given_names",)),
    FormField(6, "Staatsangehörigkeit", ("persons.nationality",)),
    FormField(7, "Geburtsdatum", ("persons.birth_date",)),
    FormField(8, "Geburtsort", ("persons.birth_place",)),
    FormField(9, "Anschrift der Wohnung", ("persons.street", "persons.house_number", "persons.postal_code",
                                           "persons.city")),
    FormField(13, "Aufenthaltstitel", ("persons.residence_permit",)),
    FormField(14, "Anschrift der Betriebsstätte", ("street", "house_number", "postal_code", "city")),
    FormField(15, "Telefon und E-Mail der Betriebsstätte", ("phone", "email")),
    FormField(18, "Angemeldete Tätigkeit", ("activity", "activity_key")),
    FormField(19, "Nebenerwerb", ("part_time",)),
    FormField(20, "Datum des Beginns, der Änderung oder der Aufgabe", (), ("effective_on",)),
    FormField(21, "Art des Betriebes", ("business_type",)),
    FormField(22, "Zahl der Beschäftigten", ("employees_full_time", "employees_part_time")),
    FormField(23, "Art der Niederlassung", ("establishment",)),
    FormField(24, "Grund der Anzeige", (), ("reason", "ex_officio")),
    FormField(26, "Erlaubnisse", ("permits",)),
    FormField(27, "Handwerkskarte", ("handwerkskarte",)),
)}
ALL_FIELDS = frozenset(range(1, SIGNATURE_FIELD + 1))


@dataclass(frozen=True)
class Recipient:
    key: str
    name: str
    notifications: tuple[str, ...]
    business_types: tuple[str, ...]  # () = every type
    registered_only: bool  # only businesses of a registered legal form (e.g. the Registergericht)
    fields: frozenset[int]  # the form fields it may see (never the signature)
    format: str
    timing: str


@dataclass(frozen=True)
class RenderedMessage:
    filename: str
    content: bytes
    mime_type: str


# A town in Kreis Offenbach (Regierungsbezirk Darmstadt, Hesse): the regular recipients of GewO §14(8) with the
# fields GewAnzV §3(1) lets each see. The municipality confirms or changes this table (config.example.toml).
DEFAULT_RECIPIENTS: list[dict[str, Any]] = [
    {"key": "ihk", "name": "IHK Offenbach am Main", "notifications": list(NOTIFICATIONS),
     "excluded_fields": [13, 27, 29, 30, 31, 33], "format": "json", "timing": "immediate"},
    {"key": "hwk", "name": "Handwerkskammer Frankfurt-Rhein-Main", "notifications": list(NOTIFICATIONS),
     "business_types": ["handwerk"], "excluded_fields": [13, 29, 30, 31, 33], "format": "json",
     "timing": "immediate"},
    {"key": "statistik", "name": "Hessisches Statistisches Landesamt", "notifications": ["anmeldung", "ummeldung"],
     "excluded_fields": [3, 4, 7, 8, 9, 13, 15, 33], "format": "xml", "timing": "next_month"},
    {"key": "finanzamt", "name": "Finanzamt Offenbach am Main-Stadt", "notifications": list(NOTIFICATIONS),
     "excluded_fields": [13, 33], "format": "json", "timing": "immediate"},
    {"key": "rp_darmstadt", "name": "Regierungspräsidium Darmstadt (Immissions- und Arbeitsschutz)",
     "notifications": list(NOTIFICATIONS), "business_types": ["industrie", "handwerk"],
     "fields": [1, 2, 3, 4, 14, 15, 18, 19, 20, 21, 22, 24], "format": "json", "timing": "immediate"},
    {"key": "eichamt", "name": "Hessische Eichdirektion", "notifications": list(NOTIFICATIONS),
     "fields": [1, 3, 4, 5, 11, 14, 15, 18, 20], "format": "json", "timing": "immediate"},
    {"key": "arbeitsagentur", "name": "Bundesagentur für Arbeit", "notifications": list(NOTIFICATIONS),
     "fields": [1, 2, 3, 4, 14, 18, 20, 21, 22, 23, 24], "format": "json", "timing": "immediate"},
    {"key": "dguv", "name": "Deutsche Gesetzliche Unfallversicherung (Berufsgenossenschaft)",
     "notifications": list(NOTIFICATIONS), "fields": [1, 2, 3, 4, 14, 15, 18, 20, 21, 22, 24], "format": "json",
     "timing": "immediate"},
    {"key": "kbs", "name": "Deutsche Rentenversicherung Knappschaft-Bahn-See", "notifications": list(NOTIFICATIONS),
     "fields": [1, 3, 4, 7, 9, 14, 18, 19, 20, 22], "format": "json", "timing": "immediate"},
    {"key": "registergericht", "name": "Amtsgericht Offenbach am Main – Registergericht",
     "notifications": ["abmeldung"], "registered_only": True, "fields": [1, 2, 14, 20, 24], "format": "json",
     "timing": "immediate"},
]


def _ints(where: str, value: Any) -> frozenset[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{where}: expected a list of form field numbers")
    bad = [v for v in value if v not in ALL_FIELDS]
    if bad:
        raise ValueError(f"{where}: no form field {bad[0]} (the fields are numbered 1 to {SIGNATURE_FIELD})")
    return frozenset(value)


def _strings(where: str, value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of {', '.join(allowed)}")
    bad = [v for v in value if v not in allowed]
    if bad:
        raise ValueError(f"{where}: unknown value {bad[0]!r} (one of {', '.join(allowed)})")
    return tuple(dict.fromkeys(value))


def recipient_of(raw: Mapping[str, Any], where: str = "recipient") -> Recipient:
    """One table entry as a Recipient; ValueError naming the entry and the key."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a table")
    known = {"key", "name", "notifications", "business_types", "registered_only", "fields", "excluded_fields",
             "format", "timing"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r}")
    key, name = raw.get("key"), raw.get("name")
    if not isinstance(key, str) or not key.strip() or not key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"{where}.key: expected a short name of letters, digits, - and _")
    where = f"recipient {key!r}"
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}.name: expected the recipient's name")
    if "fields" in raw and "excluded_fields" in raw:
        raise ValueError(f"{where}: give either fields or excluded_fields, not both")
    if "fields" in raw:
        fields = _ints(f"{where}.fields", raw["fields"])
    else:
        fields = ALL_FIELDS - _ints(f"{where}.excluded_fields", raw.get("excluded_fields", []))
    fmt, timing = raw.get("format", "json"), raw.get("timing", "immediate")
    if fmt not in FORMATS:
        raise ValueError(f"{where}.format: expected json or xml")
    if timing not in TIMINGS:
        raise ValueError(f"{where}.timing: expected immediate or next_month")
    registered_only = raw.get("registered_only", False)
    if not isinstance(registered_only, bool):
        raise ValueError(f"{where}.registered_only: expected true or false")
    return Recipient(key, name.strip(), _strings(f"{where}.notifications", raw.get("notifications", []), NOTIFICATIONS),
                     _strings(f"{where}.business_types", raw.get("business_types", []), BUSINESS_TYPES),
                     registered_only, frozenset(fields - {SIGNATURE_FIELD}), fmt, timing)


def checked_recipients(raw: Any) -> list[dict[str, Any]]:
    """The table validated (ValueError naming the entry and the key), as plain dicts for the settings."""
    if not isinstance(raw, list):
        raise ValueError("recipients: expected a list of tables")
    out, seen = [], set()
    for i, entry in enumerate(raw):
        recipient = recipient_of(entry, f"recipients[{i}]")
        if recipient.key in seen:
            raise ValueError(f"recipients: the key {recipient.key!r} is used twice")
        seen.add(recipient.key)
        out.append({"key": recipient.key, "name": recipient.name, "notifications": list(recipient.notifications),
                    "business_types": list(recipient.business_types), "registered_only": recipient.registered_only,
                    "fields": sorted(recipient.fields), "format": recipient.format, "timing": recipient.timing})
    return out


def recipients_for(recipients: list[Mapping[str, Any]], n: Notification,
                   entry: Mapping[str, Any] | None) -> list[Recipient]:
    """The recipients a notification goes to, by its kind, the business type and legal form of the entry."""
    entry = entry or {}
    out = []
    for raw in recipients:
        r = raw if isinstance(raw, Recipient) else recipient_of(raw)
        if n.notification not in r.notifications:
            continue
        if r.business_types and entry.get("business_type") not in r.business_types:
            continue
        if r.registered_only and entry.get("legal_form") not in REGISTERED_FORMS:
            continue
        out.append(r)
    return out


def visible_payload(recipient: Recipient | Mapping[str, Any], n: Notification,
                    entry: Mapping[str, Any] | None) -> dict[str, Any]:
    """Exactly what `recipient` may see of the notification and the entry, plus the envelope."""
    r = recipient if isinstance(recipient, Recipient) else recipient_of(recipient)
    entry = entry or {}
    allowed = [FORM_FIELDS[number] for number in sorted(r.fields) if number in FORM_FIELDS]
    out: dict[str, Any] = {"business_id": n.business_id or entry.get("business_id"),
                           "notification": n.notification, "received_on": n.received_on.isoformat()}
    notified = n.to_json()
    person_keys: list[str] = []
    for f in allowed:
        for key in f.keys:
            if key.startswith("persons."):
                person_keys.append(key[len("persons."):])
            elif entry.get(key) not in (None, "", []):
                out[key] = entry[key]
        for key in f.from_notification:
            if notified.get(key) not in (None, ""):
                out[key] = notified[key]
    if person_keys:
        out["persons"] = [{k: p.get(k) for k in person_keys if p.get(k) not in (None, "")}
                          for p in entry.get("persons") or () if isinstance(p, Mapping)]
    return {k: v for k, v in out.items() if v is not None}


def first_working_day_of_next_month(day: dt.date) -> dt.date:
    """Mon–Fri and no public holiday in Hesse."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    off = holidays.country_holidays("DE", subdiv="HE", years=year)
    candidate = dt.date(year, month, 1)
    while candidate.weekday() >= 5 or candidate in off:
        candidate += dt.timedelta(days=1)
    assert candidate.day <= calendar.monthrange(year, month)[1]
    return candidate


def due_at(recipient: Recipient | Mapping[str, Any], receipt_at: dt.datetime) -> dt.datetime:
    """GewAnzV §3(5): without delay after the receipt; the statistical offices by the first working day of the
    next month (naive UTC, like every stored time)."""
    r = recipient if isinstance(recipient, Recipient) else recipient_of(recipient)
    if r.timing == "immediate":
        return receipt_at
    return dt.datetime.combine(first_working_day_of_next_month(receipt_at.date()), dt.time(SEND_HOUR_UTC))


def render(recipient: Recipient | Mapping[str, Any], payload: Mapping[str, Any], *, municipality: str,
           municipality_key: str, procedure_reference: str, created_at: dt.datetime) -> RenderedMessage:
    """The message as the recipient receives it."""
    r = recipient if isinstance(recipient, Recipient) else recipient_of(recipient)
    stem = f"{procedure_reference.replace('/', '-')}-{r.key}"
    envelope = {"sender": municipality, "municipality_key": municipality_key, "recipient": r.key,
                "procedure_reference": procedure_reference, "created_at": created_at.isoformat(timespec="seconds")}
    if r.format == "json":
        body = json.dumps({"message": envelope, "notification": dict(payload)}, ensure_ascii=False, indent=2,
                          sort_keys=True)
        return RenderedMessage(f"{stem}.json", body.encode("utf-8"), "application/json")
    return RenderedMessage(f"{stem}.xml", _xml(envelope, payload), "application/xml")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.capitalize() for p in rest)


def _xml(envelope: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    ns = f"{{{XML_NAMESPACE}}}"
    ElementTree.register_namespace("xga", XML_NAMESPACE)
    kind = str(payload.get("notification") or "gewerbeanzeige")
    root = ElementTree.Element(f"{ns}{kind}")
    head = ElementTree.SubElement(root, f"{ns}nachrichtenkopf")
    for key, value in envelope.items():
        ElementTree.SubElement(head, f"{ns}{_camel(key)}").text = str(value)
    for key, value in payload.items():
        if key == "notification":
            continue
        if key == "persons":
            for person in value:
                node = ElementTree.SubElement(root, f"{ns}beteiligtePerson")
                for pk, pv in person.items():
                    ElementTree.SubElement(node, f"{ns}{_camel(pk)}").text = _xml_text(pv)
        elif isinstance(value, list):
            node = ElementTree.SubElement(root, f"{ns}{_camel(key)}")
            for item in value:
                ElementTree.SubElement(node, f"{ns}eintrag").text = _xml_text(item)
        else:
            ElementTree.SubElement(root, f"{ns}{_camel(key)}").text = _xml_text(value)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
